"""Pydantic models for every section of a run, with YAML in / out and dotted-key overrides.

A run is fully described by a `RunSpec`; the resolved spec is written into the run folder as
config.yaml so `transferkit fit --config runs/NAME/config.yaml` repeats the run exactly.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from transferkit.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    """Where the labelled data lives and how it is split."""

    path: str | None = Field(None, description="Image folder, CSV / JSONL file, or builtin:NAME.")
    text_column: str = "text"
    label_column: str = "label"
    skip_bad_files: bool = False
    valid_fraction: float = Field(0.15, ge=0.0, lt=0.5)
    test_fraction: float = Field(0.15, ge=0.0, lt=0.5)
    split_column: str | None = Field(None, description="Column holding train / valid / test per row.")
    valid_path: str | None = None
    test_path: str | None = None
    limit: int | None = Field(
        None, ge=4, description="Use only N labelled rows (stratified) for training + validation; test untouched."
    )


class BackboneConfig(_Section):
    """Which pretrained model embeds the inputs."""

    spec: str | None = Field(None, description="Backbone spec; default: bundled model for the data's modality.")
    batch_size: int = Field(32, ge=1)
    max_length: int = Field(128, ge=8, description="Token limit for text backbones.")
    cache_dir: str | None = Field(None, description="Embedding cache; default ~/.cache/transferkit/features.")


class StrategyConfig(_Section):
    """What trains: the transfer strategy and the head on top of the backbone."""

    name: str = "probe"
    head: Literal["linear", "mlp"] = "linear"
    hidden_dim: int = Field(256, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)

    @field_validator("name")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        from transferkit.strategies import available_strategies

        names = available_strategies()
        if value not in names:
            raise ValueError(f"must be one of {', '.join(names)}")
        return value


class OptimConfig(_Section):
    """How the trainable parameters are optimised."""

    optimizer: Literal["lbfgs", "adamw", "adam", "sgd"] = "lbfgs"
    lr: float | None = Field(None, gt=0, description="Default: 1.0 for lbfgs, 1e-3 otherwise.")
    weight_decay: float | Literal["auto"] = Field(
        "auto", description="L2 strength; auto = chosen by cross-validation for the L-BFGS linear probe, else 0.01."
    )
    epochs: int = Field(20, ge=1)
    batch_size: int = Field(64, ge=1)


class RunConfig(_Section):
    """Where results go and what makes them repeatable."""

    name: str | None = None
    output_dir: str = "runs"
    seed: int = 0
    overwrite: bool = False


class RunSpec(_Section):
    """A complete, repeatable run: the file a user writes and the one written into the run folder.

    Example:
        >>> spec = RunSpec.from_dict({"data": {"path": "reviews.csv"}, "optim": {"epochs": 5}})
        >>> spec.optim.epochs
        5
    """

    data: DataConfig = Field(default_factory=DataConfig)
    backbone: BackboneConfig = Field(default_factory=BackboneConfig)
    strategy: StrategyConfig = Field(default_factory=StrategyConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    run: RunConfig = Field(default_factory=RunConfig)

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str = "config") -> RunSpec:
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise _friendly_error(exc, source) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> RunSpec:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"Config file {path} does not exist; check the --config path.")
        try:
            values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"Config file {path} is not valid YAML ({exc.__class__.__name__}): fix the syntax.")
        if not isinstance(values, dict):
            raise ConfigError(f"Config file {path} must hold a mapping of sections (data, backbone, ...).")
        return cls.from_dict(values, source=str(path))

    def with_overrides(self, overrides: dict[str, Any]) -> RunSpec:
        """Return a copy with dotted keys (``"optim.lr"``) replaced; None values are ignored."""
        values = self.model_dump()
        for dotted, value in overrides.items():
            if value is None:
                continue
            section, _, key = dotted.partition(".")
            values.setdefault(section, {})[key] = value
        return RunSpec.from_dict(values, source="command-line options")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def _friendly_error(exc: ValidationError, source: str) -> ConfigError:
    """Turn pydantic's report into one line that names the key and the fix."""
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"]]
    key = ".".join(loc)
    if first["type"] == "extra_forbidden":
        valid = _valid_keys(loc[:-1])
        close = difflib.get_close_matches(loc[-1], valid, n=1, cutoff=0.5)
        hint = f"did you mean '{'.'.join([*loc[:-1], close[0]])}'?" if close else f"valid keys: {', '.join(valid)}."
        return ConfigError(f"Unknown key '{key}' in {source}; {hint}")
    message = first["msg"].removeprefix("Value error, ")
    return ConfigError(f"The '{key}' option {message}. Got {first.get('input')!r} (in {source}).")


def _valid_keys(parent: list[str]) -> list[str]:
    model: type[BaseModel] = RunSpec
    for part in parent:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


# Flat option names used by the CLI flags and the Python API, mapped to their config keys.
FLAT_OPTIONS = {
    "data": "data.path",
    "text_column": "data.text_column",
    "label_column": "data.label_column",
    "skip_bad_files": "data.skip_bad_files",
    "valid_fraction": "data.valid_fraction",
    "test_fraction": "data.test_fraction",
    "split_column": "data.split_column",
    "valid_data": "data.valid_path",
    "test_data": "data.test_path",
    "limit": "data.limit",
    "backbone": "backbone.spec",
    "batch_size": "backbone.batch_size",
    "max_length": "backbone.max_length",
    "cache_dir": "backbone.cache_dir",
    "strategy": "strategy.name",
    "head": "strategy.head",
    "hidden_dim": "strategy.hidden_dim",
    "dropout": "strategy.dropout",
    "optimizer": "optim.optimizer",
    "lr": "optim.lr",
    "weight_decay": "optim.weight_decay",
    "epochs": "optim.epochs",
    "train_batch_size": "optim.batch_size",
    "name": "run.name",
    "output_dir": "run.output_dir",
    "seed": "run.seed",
    "overwrite": "run.overwrite",
}


def flat_to_dotted(options: dict[str, Any]) -> dict[str, Any]:
    """Map flat option names (``epochs=5``) to config keys (``optim.epochs``); unknown names raise."""
    dotted = {}
    for name, value in options.items():
        if "." in name:
            dotted[name] = value
            continue
        if name not in FLAT_OPTIONS:
            close = difflib.get_close_matches(name, list(FLAT_OPTIONS), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"valid options: {', '.join(FLAT_OPTIONS)}."
            raise ConfigError(f"Unknown option '{name}'; {hint}")
        dotted[FLAT_OPTIONS[name]] = value
    return dotted
