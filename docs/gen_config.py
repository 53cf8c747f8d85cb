"""The config schema page, generated from `transferkit.config.RunSpec`'s pydantic fields (docs/hooks.py calls it).

Every row is one config key: its YAML key (section.field), the CLI flag and Python keyword that set it, the
default, the allowed values and the field's own description, so the page cannot drift from the code.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel

from transferkit.config import RunSpec


def _flag(section: str, key: str, field: Any) -> str:
    try:  # the flat name rule lives in config.py; fall back to the field name if it moves
        from transferkit.config import RUN_OPTIONS

        for option in RUN_OPTIONS.values():
            if option.dotted == f"{section}.{key}":
                return option.flat
    except ImportError:
        pass
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    return extra.get("flag", key)


def _fit_arguments() -> set[str]:
    """Names `transferkit fit` takes as positional arguments (DATA) rather than as --flags."""
    try:
        import typer.main

        from transferkit.cli import app

        fit = typer.main.get_command(app).commands["fit"]
        return {param.name for param in fit.params if param.param_type_name == "argument"}
    except (ImportError, KeyError, AttributeError):
        return set()


def _type(annotation: Any) -> str:
    text = repr(annotation).replace("typing.", "")
    return text.removeprefix("<class '").removesuffix("'>")


def _choices(annotation: Any) -> str:
    arms = typing.get_args(annotation) if typing.get_origin(annotation) is not typing.Literal else (annotation,)
    literals = [a for a in (arms or (annotation,)) if typing.get_origin(a) is typing.Literal]
    return ", ".join(f"`{value}`" for lit in literals for value in typing.get_args(lit))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def config_tables() -> str:
    """One table per RunSpec section: key, flag / keyword, default, choices, description."""
    out = []
    arguments = _fit_arguments()
    for section, section_field in RunSpec.model_fields.items():
        model = section_field.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        out.append(f"## `{section}`\n")
        if model.__doc__:
            out.append(_cell(model.__doc__.strip().splitlines()[0]) + "\n")
        out.append("| key | flag / keyword | default | allowed | description |")
        out.append("|---|---|---|---|---|")
        for key, field in model.model_fields.items():
            flat = _flag(section, key, field)
            default = field.get_default(call_default_factory=True)
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            only = extra.get("strategies")
            description = (field.description or "") + (f" (strategies: {', '.join(only)})" if only else "")
            flag = f"`{flat.upper()}` (argument)" if flat in arguments else f"`--{flat.replace('_', '-')}`"
            out.append(
                f"| `{section}.{key}` | {flag} / `{flat}=` | `{default!r}` | "
                f"{_cell(_choices(field.annotation))} | {_cell(description)} |"
            )
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(config_tables())
