"""The CLI reference page, generated from the click command behind the typer app (docs/hooks.py calls it).

mkdocs-click cannot read this app: typer now ships its own copy of click (``typer._click``), so its options are
not ``click.Option`` instances and mkdocs-click lists none of them. This walks the same command tree the CLI
parses: every command, its usage, its arguments and every option with its default and help.
"""

from __future__ import annotations

from typing import Any

import typer.main

from transferkit.cli import app


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _type_name(param: Any) -> str:
    """click's type name, or (typer >= 0.20, which resolves types lazily) the annotation's."""
    if getattr(param, "type", None) is not None:
        return _cell(param.type.name)
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    name = getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
    return _cell(name)


def _default(param: Any) -> str:
    if getattr(param, "is_flag", False) and not getattr(param, "secondary_opts", None):
        return "off" if not param.default else "on"
    default = param.default
    if default is None or callable(default) or default == () or repr(default).startswith("<"):
        return ""
    return f"`{default}`"


def _command_docs(command: Any, path: str, parent_ctx: Any, level: int) -> list[str]:
    ctx = command.context_class(command, info_name=path.split()[-1], parent=parent_ctx)
    anchor = path.replace(" ", "-")
    lines = [f"{'#' * level} `{path}` {{ #{anchor} }}", ""]
    help_text = (command.help or "").strip()
    if help_text:
        lines += [help_text.split("\n\n")[0].replace("\n", " "), ""]
    usage = " ".join(command.collect_usage_pieces(ctx))
    lines += ["```text", f"{path} {usage}", "```", ""]
    rest = "\n\n".join(help_text.split("\n\n")[1:]).strip()
    if rest:
        lines += ["```text", rest, "```", ""]
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    options = [p for p in command.params if p.param_type_name == "option" and not getattr(p, "hidden", False)]
    if arguments:
        lines += ["| argument | required | help |", "|---|---|---|"]
        for param in arguments:
            lines.append(
                f"| `{param.name.upper()}` | {'yes' if param.required else 'no'} | {_cell(param.help or '')} |"
            )
        lines.append("")
    if options:
        lines += ["| option | type | default | help |", "|---|---|---|---|"]
        for param in options:
            flags = ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
            kind = "flag" if getattr(param, "is_flag", False) else _type_name(param)
            lines.append(f"| {flags} | {kind} | {_default(param)} | {_cell(param.help or '')} |")
        lines.append("")
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not getattr(sub, "hidden", False):
            lines += _command_docs(sub, f"{path} {name}", ctx, min(level + 1, 4))
    return lines


def cli_reference() -> str:
    root = typer.main.get_command(app)
    return "\n".join(_command_docs(root, "transferkit", None, 2))


if __name__ == "__main__":
    print(cli_reference())
