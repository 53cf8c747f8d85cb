"""Pydantic models for every section of a run, with YAML in / out and dotted-key overrides.

A run is fully described by a `RunSpec`; the resolved spec is written into the run folder as
config.yaml so `transferkit fit --config runs/NAME/config.yaml` repeats the run exactly.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

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
    test_limit: int | None = Field(None, ge=2, description="Evaluate on a stratified sample of N test rows.")
    feature_columns: list[str] | None = Field(
        None, description="Tabular data: feature columns (default: every column but the label / split columns)."
    )


class BackboneConfig(_Section):
    """Which pretrained model embeds the inputs."""

    spec: str | None = Field(None, description="Backbone spec; default: bundled model for the data's modality.")
    batch_size: int = Field(32, ge=1)
    max_length: int = Field(128, ge=8, description="Token limit for text backbones.")
    cache_dir: str | None = Field(None, description="Embedding cache; default ~/.cache/transferkit/features.")
    column_map: dict[str, str] | None = Field(
        None, description="Tabular transfer: pretrained column name -> this table's column name."
    )


class StrategyConfig(_Section):
    """What trains: the transfer strategy and the head on top of the backbone."""

    name: str = Field(
        "auto",
        description="auto: cross-validated choice among probe, two-stage, classic and concat within run.budget_minutes;"
        " two-stage when fine-tuning options (unfreeze, lr_decay, l2sp) are given.",
    )
    head: Literal["linear", "mlp"] = "linear"
    hidden_dim: int = Field(256, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    probe_solver: Literal["lightning", "sklearn"] = Field(
        "lightning", description="probe: L-BFGS head trained through Lightning, or scikit-learn LogisticRegressionCV."
    )
    unfreeze: int | None = Field(
        None, ge=1, description="Fine-tune only the last N layer groups (default: all; two-stage on images: all but 3)."
    )
    lr_decay: float = Field(1.0, gt=0.0, le=1.0, description="Layer-wise lr decay: each group below trains at x this.")
    head_lr_scale: float | None = Field(
        None, gt=0.0, description="Head lr / base lr; default 10 for a new head, 1 for two-stage's trained head."
    )
    l2sp: float = Field(0.0, ge=0.0, description="L2-SP: alpha/2 * ||w - w_pretrained||^2 on fine-tuned weights.")
    train_bn: bool = Field(
        False, description="BatchNorm layers (all groups) use batch statistics and update their running averages."
    )
    stage1_epochs: int = Field(20, ge=1, description="two-stage: epochs of the stage-1 probe (L-BFGS on the cache).")
    lora_rank: int = Field(8, ge=1)
    lora_alpha: float = Field(16.0, gt=0.0)
    lora_dropout: float = Field(0.0, ge=0.0, lt=1.0)
    lora_targets: list[str] | None = Field(None, description="Module names to adapt; default per backbone family.")

    @model_validator(mode="before")
    @classmethod
    def _resolve_auto(cls, values: Any) -> Any:
        """Fine-tuning options without a strategy mean fine-tuning, and two-stage (LP-FT) is its default;
        without them, auto stays auto (strategies/auto.py chooses by cross-validation)."""
        if isinstance(values, dict) and values.get("name", "auto") == "auto":
            finetuning = any(values.get(key) not in (None, 0.0, 1.0) for key in ("unfreeze", "l2sp", "lr_decay"))
            values = {**values, "name": "two-stage" if finetuning or values.get("unfreeze") else "auto"}
        return values

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

    optimizer: Literal["auto", "lbfgs", "adamw", "adam", "sgd", "rmsprop"] = Field(
        "auto", description="auto: lbfgs for probe, adamw for fine-tuning."
    )
    lr: float | None = Field(
        None,
        gt=0,
        description="Default: 1.0 for lbfgs, 1e-3 for probe heads, 1e-4 for fine-tuning (two-stage on images: 1e-5),"
        " 1e-3 for lora.",
    )
    weight_decay: float | Literal["auto"] = Field(
        "auto", description="L2 strength; auto = chosen by cross-validation for the L-BFGS linear probe, else 0.01."
    )
    epochs: int | None = Field(
        None, ge=1, description="Default: 20 for probe, 4 for fine-tuning, contrastive by pair coverage (8 at 16 rows)."
    )
    batch_size: int | None = Field(
        None, ge=1, description="Global training batch (split across devices); default 64, 16 for contrastive."
    )
    momentum: float = Field(0.9, ge=0.0, lt=1.0, description="sgd / rmsprop momentum.")
    nesterov: bool = True
    schedule: Literal["constant", "step", "exponential", "cosine", "one-cycle", "plateau"] | None = Field(
        None, description="Learning-rate schedule; default constant, cosine for contrastive."
    )
    warmup_epochs: float | None = Field(
        None, ge=0.0, description="Linear warmup in epochs (fractions allowed); default 0, a tenth for contrastive."
    )
    step_size: int = Field(1, ge=1, description="step schedule: epochs between decays.")
    gamma: float = Field(0.5, gt=0.0, le=1.0, description="step / exponential / plateau decay factor.")
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)
    mixup: float = Field(0.0, ge=0.0, description="Mixup alpha for images (0 = off).")
    cutmix: float = Field(0.0, ge=0.0, description="CutMix alpha for images (0 = off).")
    grad_clip: float | None = Field(None, gt=0.0, description="Clip the gradient norm to this value.")
    early_stopping: int | None = Field(None, ge=1, description="Stop after N epochs without improvement of monitor.")
    monitor: Literal["val_loss", "val_accuracy"] = "val_loss"
    precision: Literal["32-true", "bf16-mixed", "16-mixed", "64-true"] = "32-true"


class RunConfig(_Section):
    """Where results go and what makes them repeatable."""

    name: str | None = None
    output_dir: str = "runs"
    seed: int = 0
    overwrite: bool = False
    baseline: Literal["none", "scratch", "classic", "both"] = Field(
        "none", description="Also train baselines (classic, from scratch, or both) and report the transfer gain."
    )
    select: bool = Field(False, description="Cross-validate probe vs classic vs concatenated features.")
    logger: Literal["csv", "tensorboard", "mlflow"] = Field(
        "csv", description="Lightning logger for training curves, under the run folder (tensorboard / mlflow: extras)."
    )
    budget_minutes: float = Field(
        2.0, gt=0.0, description="strategy auto: time for the cross-validated choice (two-stage only if it fits)."
    )
    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps"] = "auto"
    devices: int = Field(1, ge=1, description="Devices (processes) per node for fine-tuning.")
    num_nodes: int = Field(1, ge=1)
    distributed: Literal["auto", "ddp", "ddp_spawn", "fsdp"] = Field(
        "auto", description="Lightning strategy across devices (the transfer strategy is strategy.name)."
    )


class AugmentConfig(_Section):
    """Augmentation of the training split (never validation or test); see transferkit/augmentation/pipeline.py."""

    policy: Literal["none", "light", "strong"] = Field(
        "none", description="light / strong: images (torchvision v2), text (EDA strength), audio (gain, noise, shift)."
    )
    text: Literal["eda", "eda-nosyn", "contextual", "paraphrase"] = Field(
        "eda", description="Text method: EDA, EDA without synonyms, masked-LM substitution (mlm), SmolLM2 paraphrase."
    )
    synonyms: Literal["embedding", "wordnet"] = Field(
        "embedding", description="EDA synonyms: bundled MiniLM embedding neighbours, or NLTK WordNet (corpus needed)."
    )
    mlm: str | None = Field(None, description="text contextual: hf:PATH to a local *ForMaskedLM model.")
    below: int | None = Field(None, ge=1, description="Augment only classes with fewer training rows than this.")
    copies: int = Field(1, ge=1, le=64, description="Augmented views per augmented training row.")

    @field_validator("mlm")
    @classmethod
    def _mlm_only_for_contextual(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and info.data.get("text") != "contextual":
            raise ValueError("is used only with augment.text contextual; add --augment-text contextual or drop --mlm")
        return value


class ImbalanceConfig(_Section):
    """Class imbalance: loss weighting, focal loss, resampling of the training split, decision threshold."""

    class_weight: str | dict[str, float] = Field(
        "none", description="none, balanced, effective:BETA (Cui et al. 2019), or a JSON map class -> weight."
    )
    loss: Literal["cross-entropy", "focal"] = Field("cross-entropy", description="focal: Lin et al. 2017.")
    focal_gamma: float = Field(2.0, ge=0.0, description="Focal loss focusing parameter (0 = cross-entropy).")
    resample: Literal[
        "none", "oversample", "undersample", "balanced-batches", "smote", "adasyn", "borderline-smote"
    ] = Field("none", description="Training split only; SMOTE family on cached embeddings / tabular features.")
    threshold: Literal["argmax", "auto"] = Field(
        "argmax",
        description="auto (binary): threshold on the minority probability maximising validation balanced accuracy.",
    )

    @field_validator("class_weight")
    @classmethod
    def _known_weighting(cls, value: str | dict[str, float]) -> str | dict[str, float]:
        from transferkit.imbalance.weights import parse_class_weight

        parse_class_weight(value)
        return value


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
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    imbalance: ImbalanceConfig = Field(default_factory=ImbalanceConfig)

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
            raise ConfigError(
                f"Config file {path} is not valid YAML ({exc.__class__.__name__}): fix the syntax."
            ) from exc
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


# Names users bring from other tools, mapped to ours.
ALIASES = {
    "learning_rate": "lr",
    "wd": "weight_decay",
    "max_epochs": "epochs",
    "model": "spec",
    "bs": "batch_size",
    "seed_value": "seed",
    "label": "label_column",
    "text": "text_column",
    "optimiser": "optimizer",
}


def _friendly_error(exc: ValidationError, source: str) -> ConfigError:
    """Turn pydantic's report into one line that names the key and the fix."""
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"]]
    key = ".".join(loc)
    if first["type"] == "extra_forbidden":
        valid = _valid_keys(loc[:-1])
        close = [ALIASES[loc[-1]]] if ALIASES.get(loc[-1]) in valid else []
        close = close or difflib.get_close_matches(loc[-1], valid, n=1, cutoff=0.5)
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
    "test_limit": "data.test_limit",
    "backbone": "backbone.spec",
    "batch_size": "backbone.batch_size",
    "max_length": "backbone.max_length",
    "cache_dir": "backbone.cache_dir",
    "strategy": "strategy.name",
    "head": "strategy.head",
    "hidden_dim": "strategy.hidden_dim",
    "dropout": "strategy.dropout",
    "probe_solver": "strategy.probe_solver",
    "unfreeze": "strategy.unfreeze",
    "lr_decay": "strategy.lr_decay",
    "head_lr_scale": "strategy.head_lr_scale",
    "l2sp": "strategy.l2sp",
    "train_bn": "strategy.train_bn",
    "stage1_epochs": "strategy.stage1_epochs",
    "lora_rank": "strategy.lora_rank",
    "lora_alpha": "strategy.lora_alpha",
    "lora_dropout": "strategy.lora_dropout",
    "lora_targets": "strategy.lora_targets",
    "momentum": "optim.momentum",
    "nesterov": "optim.nesterov",
    "schedule": "optim.schedule",
    "warmup_epochs": "optim.warmup_epochs",
    "step_size": "optim.step_size",
    "gamma": "optim.gamma",
    "label_smoothing": "optim.label_smoothing",
    "mixup": "optim.mixup",
    "cutmix": "optim.cutmix",
    "grad_clip": "optim.grad_clip",
    "early_stopping": "optim.early_stopping",
    "monitor": "optim.monitor",
    "precision": "optim.precision",
    "accelerator": "run.accelerator",
    "devices": "run.devices",
    "num_nodes": "run.num_nodes",
    "distributed": "run.distributed",
    "optimizer": "optim.optimizer",
    "lr": "optim.lr",
    "weight_decay": "optim.weight_decay",
    "epochs": "optim.epochs",
    "train_batch_size": "optim.batch_size",
    "name": "run.name",
    "output_dir": "run.output_dir",
    "seed": "run.seed",
    "overwrite": "run.overwrite",
    "baseline": "run.baseline",
    "select": "run.select",
    "logger": "run.logger",
    "budget_minutes": "run.budget_minutes",
    "feature_columns": "data.feature_columns",
    "column_map": "backbone.column_map",
    "class_weight": "imbalance.class_weight",
    "loss": "imbalance.loss",
    "focal_gamma": "imbalance.focal_gamma",
    "resample": "imbalance.resample",
    "threshold": "imbalance.threshold",
    "augment": "augment.policy",
    "augment_text": "augment.text",
    "augment_synonyms": "augment.synonyms",
    "mlm": "augment.mlm",
    "augment_below": "augment.below",
    "augment_copies": "augment.copies",
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
