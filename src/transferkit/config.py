"""Pydantic models for every section of a run, with YAML in / out and dotted-key overrides.

A run is fully described by a `RunSpec`; the resolved spec is written into the run folder as
config.yaml so `transferkit fit --config runs/NAME/config.yaml` repeats the run exactly.

RunSpec is the single source of options: each field carries its help text (``description``), default and
choices (``Literal``), and the CLI flags and flat keyword names of `transferkit.fit` are generated from it
(`RUN_OPTIONS`). A field's flat name is its own name unless its ``json_schema_extra`` names another
``"flag"`` (``optim.batch_size`` -> ``train_batch_size``); a strategy-specific field lists the strategies
that use it under ``"strategies"``, and setting it for another built-in strategy is a ConfigError.

This module imports nothing else from transferkit but its errors, so every layer can read the schema.
"""

from __future__ import annotations

import difflib
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from transferkit.errors import ConfigError
from transferkit.run_folder import load_yaml_mapping

# Strategy names the schema accepts. The built-in ones are listed here so that validating a config needs no
# import of the strategies (they sit layers above); `transferkit.strategies.register_strategy` adds plugins.
BUILTIN_STRATEGIES = ("auto", "probe", "finetune", "two-stage", "gradual", "bitfit", "lora", "contrastive")
_STRATEGY_NAMES = list(BUILTIN_STRATEGIES)
FINE_TUNING = ("auto", "finetune", "two-stage", "gradual", "bitfit", "lora", "contrastive")  # all but probe


def register_strategy_name(name: str) -> None:
    """Let configs name a strategy registered by a plugin (called by `register_strategy`)."""
    if name not in _STRATEGY_NAMES:
        _STRATEGY_NAMES.append(name)


def strategy_names() -> list[str]:
    """Every strategy name a config may use: the built-in ones, then registered plugins."""
    return list(_STRATEGY_NAMES)


# Task names, the same way: the schema sits below `transferkit.tasks`, whose `register_task` adds plugins.
# "auto" is resolved from the labels before training (`transferkit.tasks.infer_task`).
BUILTIN_TASKS = ("auto", "classification")
_TASK_NAMES = list(BUILTIN_TASKS)


def register_task_name(name: str) -> None:
    """Let configs name a task registered by a plugin (called by `transferkit.tasks.register_task`)."""
    if name not in _TASK_NAMES:
        _TASK_NAMES.append(name)


def task_names() -> list[str]:
    """Every task name a config may use: the built-in ones, then registered plugins."""
    return list(_TASK_NAMES)


def _flag(name: str, **extra: Any) -> dict[str, Any]:
    """Field metadata: the flat name (CLI flag / keyword) when it is not the field's own name."""
    return {"flag": name, **extra}


def _only(*strategies: str) -> dict[str, Any]:
    """Field metadata: the option means something only to these strategies."""
    return {"strategies": list(strategies)}


CLASS_WEIGHT_FORMS = (
    "none, balanced, effective:BETA (0 < BETA < 1, e.g. effective:0.999) or a JSON map such as '{\"bad\": 5}'"
)


def parse_class_weight(value: str | dict[str, float]) -> tuple[str, float | dict[str, float] | None]:
    """("none" | "balanced" | "effective" | "map", parameter); a bad value raises ValueError saying what is valid.

    Example:
        >>> parse_class_weight("effective:0.99")
        ('effective', 0.99)
    """
    if isinstance(value, dict):
        return _class_weight_map(value)
    text = value.strip()
    if text in ("none", "balanced"):
        return text, None
    if text.startswith("effective:"):
        try:
            beta = float(text.removeprefix("effective:"))
        except ValueError:
            beta = -1.0
        if not 0.0 < beta < 1.0:
            raise ValueError(f"must be {CLASS_WEIGHT_FORMS}; BETA must be a number in (0, 1)")
        return "effective", beta
    if not text.startswith("{"):
        raise ValueError(f"must be {CLASS_WEIGHT_FORMS}")
    try:
        mapping = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"must be {CLASS_WEIGHT_FORMS}; the JSON map does not parse ({exc.msg})") from None
    return _class_weight_map(mapping)


def _class_weight_map(mapping: Any) -> tuple[str, dict[str, float]]:
    if not isinstance(mapping, dict) or not all(
        isinstance(w, int | float) and not isinstance(w, bool) and w > 0 for w in mapping.values()
    ):
        raise ValueError(f"must be {CLASS_WEIGHT_FORMS}; map each class name to a positive number")
    return "map", {str(k): float(v) for k, v in mapping.items()}


MAX_INT = 2**31 - 1  # no count, size or step of a run comes near it; a bigger number is a typo or hostile


class _Section(BaseModel):
    # allow_inf_nan=False: .inf / .nan (YAML) or 'inf' (a flag) is refused by name, never trained with
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _not_huge(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise ValueError(f"is too large (at most {MAX_INT:,})")
        return value


class DataConfig(_Section):
    """Where the labelled data lives and how it is split."""

    path: str | None = Field(
        None,
        description="Image or audio folder (one sub-folder per class), CSV / JSONL file, or builtin:NAME.",
        json_schema_extra=_flag("data"),
    )
    text_column: str = Field("text", description="Text column of a CSV / JSONL file.")
    label_column: str = Field("label", description="Label column of a CSV / JSONL file.")
    prompt_column: str = Field("prompt", description="Task seq2seq-pairs: the prompt column of a CSV / JSONL file.")
    response_column: str = Field(
        "response", description="Task seq2seq-pairs: the response column of a CSV / JSONL file."
    )
    prompt_template: str | None = Field(
        None,
        description="Task seq2seq-pairs: build each prompt from columns, e.g. 'Review: {review}' "
        "(Python format fields).",
    )
    task: str = Field(
        "auto",
        description="What to predict from the labels: classification (one class per example), multilabel (several, "
        "separated), regression (a number) or a task plugin; auto: inferred from the labels.",
    )
    label_separator: str = Field(
        "|", min_length=1, description="Multi-label: the separator between labels in a label cell (Drama|Comedy)."
    )
    label_columns: list[str] | None = Field(
        None, description="Multi-label: several 0/1 label columns (a,b,c) instead of one --label-column."
    )
    skip_bad_files: bool = Field(False, description="Leave out unreadable files instead of failing.")
    valid_fraction: float = Field(
        0.15, ge=0.0, lt=0.5, description="Fraction of training rows held out for validation."
    )
    test_fraction: float = Field(0.15, ge=0.0, lt=0.5, description="Fraction held out for testing when no test data.")
    split_column: str | None = Field(None, description="Column holding train / valid / test per row.")
    valid_path: str | None = Field(
        None, description="Your own validation data (same format).", json_schema_extra=_flag("valid_data")
    )
    test_path: str | None = Field(
        None, description="Your own test data (same format).", json_schema_extra=_flag("test_data")
    )
    limit: int | None = Field(
        None, ge=4, description="Use only N labelled rows (stratified) for training + validation; test untouched."
    )
    test_limit: int | None = Field(None, ge=2, description="Evaluate on a stratified sample of N test rows.")
    feature_columns: list[str] | None = Field(
        None, description="Tabular data: feature columns (default: every column but the label / split columns)."
    )
    format: Literal["auto", "coco", "voc", "yolo"] = Field(
        "auto",
        description="Detection (--task detection): the annotation format of DATA, COCO JSON, Pascal VOC XML or YOLO"
        " txt; auto: detected from the files.",
    )

    @field_validator("task")
    @classmethod
    def _known_task(cls, value: str) -> str:
        if value not in _TASK_NAMES:
            raise ValueError(f"must be one of {', '.join(_TASK_NAMES)}")
        return value


class BackboneConfig(_Section):
    """Which pretrained model embeds the inputs."""

    spec: str | None = Field(
        None,
        description="Backbone spec, e.g. bundled:minilm (see `transferkit backbones`); default: the bundled model for"
        " the data's modality.",
        json_schema_extra=_flag("backbone"),
    )
    batch_size: int = Field(32, ge=1, description="Backbone batch size for embedding.")
    max_length: int = Field(128, ge=8, description="Token limit for text backbones.")
    cache_dir: str | None = Field(None, description="Embedding cache; default ~/.cache/transferkit/features.")
    column_map: dict[str, str] | None = Field(
        None, description="Tabular transfer: pretrained model's column name -> this table's column name."
    )
    image_size: int | None = Field(
        None, ge=1, le=4096, description="Detection: the side images are resized to for the detector (default 320)."
    )


class StrategyConfig(_Section):
    """What trains: the transfer strategy and the head on top of the backbone.

    Strategy-specific options (LoRA's, two-stage's, the probe's solver, the fine-tuning ones) stay flat keys of
    this section, so `strategy: {lora_rank: 8}` loads; each lists the strategies that use it, and a non-default
    value with another built-in strategy is refused (one config per method, as PEFT has).
    """

    name: str = Field(
        "auto",
        description="auto (cross-validated choice of probe, two-stage, classic and concat within run.budget_minutes),"
        " probe, finetune, two-stage, gradual, bitfit, lora or contrastive; auto becomes two-stage when fine-tuning"
        " options (unfreeze, lr_decay, l2sp) are given.",
        json_schema_extra=_flag("strategy"),
    )
    head: Literal["linear", "mlp"] = Field("linear", description="Head on top of the backbone's embedding.")
    detector: Literal["fasterrcnn", "retinanet", "fcos", "ssdlite"] = Field(
        "fcos",
        description="Detection (--task detection): the torchvision detector on the backbone (fcos: the one measured"
        " in the detection benchmark; fasterrcnn: about 3x its time per step on a CPU).",
    )
    hidden_dim: int = Field(256, ge=1, description="mlp head: width of its hidden layer.")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout on the embedding before the head's linear layers.")
    probe_solver: Literal["lightning", "sklearn"] = Field(
        "lightning",
        description="Head on cached features: L-BFGS trained through Lightning, or scikit-learn LogisticRegressionCV.",
        json_schema_extra=_only("probe", "two-stage", "contrastive", "auto"),
    )
    unfreeze: int | None = Field(
        None,
        ge=1,
        description="Fine-tune only the last N layer groups (default: all; two-stage on images: all but the lowest 3).",
        json_schema_extra=_only(*FINE_TUNING),
    )
    lr_decay: float = Field(
        1.0,
        gt=0.0,
        le=1.0,
        description="Layer-wise lr decay, e.g. 0.7: each group below trains at 0.7x the one above.",
        json_schema_extra=_only(*FINE_TUNING),
    )
    head_lr_scale: float | None = Field(
        None,
        gt=0.0,
        description="Head lr / base lr; default 10 for a new head, 1 for two-stage's trained head.",
        json_schema_extra=_only(*FINE_TUNING),
    )
    l2sp: float = Field(
        0.0,
        ge=0.0,
        description="L2-SP: alpha/2 * ||w - w_pretrained||^2 on fine-tuned weights (pull toward pretrained).",
        json_schema_extra=_only(*FINE_TUNING),
    )
    train_bn: bool = Field(
        False,
        description="BatchNorm layers (all groups) use batch statistics and update their running averages"
        " (default: pretrained statistics kept).",
        json_schema_extra=_only(*FINE_TUNING),
    )
    stage1_epochs: int = Field(
        20,
        ge=1,
        description="Epochs of two-stage's stage-1 probe (L-BFGS on the cache).",
        json_schema_extra=_only("two-stage", "auto"),
    )
    lora_rank: int = Field(8, ge=1, description="LoRA rank r.", json_schema_extra=_only("lora"))
    lora_alpha: float = Field(
        16.0, gt=0.0, description="LoRA alpha (scale alpha / r).", json_schema_extra=_only("lora")
    )
    lora_dropout: float = Field(
        0.0, ge=0.0, lt=1.0, description="Dropout on LoRA's input.", json_schema_extra=_only("lora")
    )
    lora_targets: list[str] | None = Field(
        None, description="Module names LoRA adapts; default per backbone family.", json_schema_extra=_only("lora")
    )
    lora_merge: bool = Field(
        False,
        description="Language models: merge the LoRA adapter into the base weights in the saved model folder.",
        json_schema_extra=_flag("merge", strategies=["lora"]),
    )

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
        if value not in _STRATEGY_NAMES:
            raise ValueError(f"must be one of {', '.join(_STRATEGY_NAMES)}")
        return value

    @model_validator(mode="after")
    def _options_fit_the_strategy(self) -> StrategyConfig:
        """A strategy-specific option set for a built-in strategy that ignores it is a mistake: say which."""
        for key, field in type(self).model_fields.items():
            users = _strategies_using(field)
            if not users or self.name in users or self.name not in BUILTIN_STRATEGIES:
                continue  # plugins' own options are theirs to check
            if getattr(self, key) != field.get_default(call_default_factory=True):
                flag = _flat_name(key, field).replace("_", "-")
                raise PydanticCustomError(
                    "strategy_option",
                    f"The 'strategy.{key}' option is used only by strategy {' / '.join(users)}, not {self.name}: "
                    f"add --strategy {users[0]} or drop --{flag}",
                )
        return self


class OptimConfig(_Section):
    """How the trainable parameters are optimised."""

    optimizer: Literal["auto", "lbfgs", "adamw", "adam", "sgd", "rmsprop"] = Field(
        "auto", description="auto: lbfgs for probe, adamw for fine-tuning."
    )
    lr: float | None = Field(
        None,
        gt=0,
        description="Learning rate; default 1.0 for lbfgs, 1e-3 for probe heads, 1e-4 for fine-tuning (two-stage on"
        " images: 1e-5), 1e-3 for lora.",
    )
    weight_decay: float | Literal["auto"] = Field(
        "auto", description="L2 strength; auto = chosen by cross-validation for the L-BFGS linear probe, else 0.01."
    )
    epochs: int | None = Field(
        None,
        ge=1,
        description="Training epochs; default 20 for probe, 4 for fine-tuning, contrastive by pair coverage (8 at 16"
        " rows).",
    )
    batch_size: int | None = Field(
        None,
        ge=1,
        description="Global training batch (split across devices); default 64, 16 for contrastive.",
        json_schema_extra=_flag("train_batch_size"),
    )
    momentum: float = Field(0.9, ge=0.0, lt=1.0, description="sgd / rmsprop momentum.")
    nesterov: bool = Field(True, description="sgd: Nesterov momentum.")
    schedule: Literal["constant", "step", "exponential", "cosine", "one-cycle", "plateau"] | None = Field(
        None, description="Learning-rate schedule; default constant, cosine for contrastive."
    )
    warmup_epochs: float | None = Field(
        None, ge=0.0, description="Linear warmup in epochs (fractions allowed); default 0, a tenth for contrastive."
    )
    step_size: int = Field(1, ge=1, description="step schedule: epochs between decays.")
    gamma: float = Field(0.5, gt=0.0, le=1.0, description="step / exponential / plateau decay factor.")
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0, description="Label smoothing, e.g. 0.1.")
    mixup: float = Field(0.0, ge=0.0, description="Mixup alpha for images (0 = off).")
    cutmix: float = Field(0.0, ge=0.0, description="CutMix alpha for images (0 = off).")
    grad_clip: float | None = Field(None, gt=0.0, description="Clip the gradient norm to this value.")
    early_stopping: int | None = Field(None, ge=1, description="Stop after N epochs without improvement of monitor.")
    regression_loss: Literal["mse", "huber"] = Field(
        "mse", description="Regression: the loss on the standardised target (huber: less swayed by outliers)."
    )
    monitor: Literal["val_loss", "val_accuracy"] = Field(
        "val_loss", description="What early stopping and the plateau schedule watch."
    )
    precision: Literal["32-true", "bf16-mixed", "16-mixed", "64-true"] = Field(
        "32-true", description="Numeric precision of training (16-mixed: GPU only)."
    )
    gradient_checkpointing: bool = Field(
        False,
        description="Language models: recompute each layer's activations in the backward pass instead of keeping "
        "them (less memory for longer blocks, more time per step).",
    )

    @field_validator("weight_decay", mode="before")
    @classmethod
    def _number_or_auto(cls, value: Any) -> Any:
        """One message for both arms of `float | "auto"` (pydantic would report each arm's failure)."""
        if value == "auto":
            return value
        try:
            number = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or not number >= 0.0:  # not >= 0: also refuses nan
            raise ValueError("must be a number >= 0 or 'auto'")
        return value if isinstance(value, int | float) else number


class RunConfig(_Section):
    """Where results go and what makes them repeatable."""

    name: str | None = Field(None, description="Run name (folder under output_dir); default from data and backbone.")
    output_dir: str = Field("runs", description="Where run folders go.")
    seed: int = Field(0, ge=0, description="Random seed.")
    overwrite: bool = Field(False, description="Replace an existing run folder of the same name.")
    report: bool = Field(
        True, description="Write report.html / report.md into the run folder (--no-report: model and metrics only)."
    )
    baseline: Literal["none", "scratch", "classic", "both"] = Field(
        "none", description="Also train baselines (classic, from scratch, or both) and report the transfer gain."
    )
    select: bool = Field(
        False,
        description="With an explicit strategy: also cross-validate probe vs classic vs concatenated features and"
        " report the winner (strategy auto does this and saves the winner).",
    )
    logger: Literal["csv", "tensorboard", "mlflow"] = Field(
        "csv", description="Lightning logger for training curves, under the run folder (tensorboard / mlflow: extras)."
    )
    budget_minutes: float = Field(
        2.0, gt=0.0, description="strategy auto: time for the cross-validated choice (two-stage only if it fits)."
    )
    calibrate: bool = Field(
        True,
        description="Single-label classification: temperature-scale the saved model's probabilities on the validation "
        "split (decisions unchanged); metrics.json reports the calibration error before and after.",
    )
    max_minutes: float | None = Field(
        None,
        gt=0.0,
        description="Stop each fine-tuning stage after N minutes (Lightning's max_time; the weights reached are "
        "kept). strategy auto sets it to what is left of its budget for the final fine-tune.",
    )
    search: int = Field(
        0,
        ge=0,
        description="strategy auto: after the choice, up to N Optuna trials (seeded TPE) over the chosen candidate's "
        "options on the same folds, within --budget-minutes; the best is kept only if it beats the defaults by more "
        "than 2 paired standard errors (0: no search).",
    )
    preset: Literal["fast", "balanced", "best"] = Field(
        "balanced",
        description="strategy auto: fast (only the candidates that train in seconds on cached embeddings), "
        "balanced (fine-tuned candidates too, within --budget-minutes) or best (four times the budget).",
    )
    zero_shot: str | None = Field(
        None,
        description="Also score a zero-shot classifier (no labels) from class descriptions on the test split, beside "
        'the trained model: "great: a review praising the product, other: a complaint" (text data).',
    )
    zero_shot_seed: Literal["auto", "on", "off"] = Field(
        "auto",
        description="With --zero-shot: add templated sentences from the class descriptions to the training rows "
        "(SetFit's synthetic examples); auto: when the smallest class has at most 16 labelled rows.",
    )
    drop_suspect: bool = Field(
        False,
        description="Audit the training labels (cleanlab on cached embeddings), train with and without the flagged"
        " rows, and report both on the same test split.",
    )
    add_labels: str | None = Field(
        None,
        description="Take a labelled file back (suggest's to_label.csv, filled in): a new run on DATA (or on a run "
        "folder's data and options) with those rows added to the training split; empty labels are skipped.",
    )
    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps"] = Field("auto", description="Lightning accelerator.")
    devices: int = Field(
        1, ge=1, description="Devices (processes) per node for fine-tuning and for embedding the rows not cached yet."
    )
    num_nodes: int = Field(1, ge=1, description="Nodes for multi-node runs (torchrun / SLURM).")
    distributed: Literal["auto", "ddp", "ddp_spawn", "fsdp"] = Field(
        "auto", description="Lightning strategy across devices (the transfer strategy is strategy.name)."
    )


class AugmentConfig(_Section):
    """Augmentation of the training split (never validation or test); see transferkit/augmentation/pipeline.py."""

    policy: Literal["none", "light", "strong"] = Field(
        "none",
        description="Augment the training split (never valid / test): images (torchvision v2), text (EDA strength),"
        " audio (gain, noise, shift).",
        json_schema_extra=_flag("augment"),
    )
    text: Literal["eda", "eda-nosyn", "contextual", "paraphrase"] = Field(
        "eda",
        description="Text method: EDA, EDA without synonyms, masked-LM substitution (needs mlm), SmolLM2 paraphrase"
        " (slow).",
        json_schema_extra=_flag("augment_text"),
    )
    synonyms: Literal["embedding", "wordnet"] = Field(
        "embedding",
        description="EDA synonyms: bundled MiniLM embedding neighbours, or NLTK WordNet (corpus needed).",
        json_schema_extra=_flag("augment_synonyms"),
    )
    mlm: str | None = Field(None, description="augment_text contextual: hf:PATH to a local *ForMaskedLM model.")
    below: int | None = Field(
        None,
        ge=1,
        description="Augment only classes with fewer training rows than this.",
        json_schema_extra=_flag("augment_below"),
    )
    copies: int = Field(
        1,
        ge=1,
        le=64,
        description="Augmented views per augmented training row.",
        json_schema_extra=_flag("augment_copies"),
    )

    @field_validator("mlm")
    @classmethod
    def _mlm_only_for_contextual(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and info.data.get("text") != "contextual":
            raise ValueError("is used only with augment.text contextual; add --augment-text contextual or drop --mlm")
        return value


class ImbalanceConfig(_Section):
    """Class imbalance: loss weighting, focal loss, resampling of the training split, decision threshold."""

    class_weight: str | dict[str, float] = Field(
        "none",
        description="Loss weights per class: none, balanced, effective:BETA (Cui et al. 2019; e.g. 0.999)"
        " or a JSON map class -> weight.",
    )
    loss: Literal["cross-entropy", "focal"] = Field("cross-entropy", description="focal: Lin et al. 2017.")
    focal_gamma: float = Field(2.0, ge=0.0, description="Focal loss focusing parameter (0 = cross-entropy).")
    resample: Literal[
        "none", "oversample", "undersample", "balanced-batches", "smote", "adasyn", "borderline-smote"
    ] = Field("none", description="Training split only; SMOTE family on cached embeddings / tabular features.")
    threshold: Literal["argmax", "auto"] = Field(
        "argmax",
        description="auto (binary): threshold on the minority probability maximising validation balanced accuracy,"
        " used by predict.",
    )

    @field_validator("class_weight")
    @classmethod
    def _known_weighting(cls, value: str | dict[str, float]) -> str | dict[str, float]:
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

    @model_validator(mode="after")
    def _search_needs_auto(self) -> RunSpec:
        """--search tunes the candidate strategy auto chose (it has the folds and the defaults' scores to beat)."""
        if self.run.search and self.strategy.name != "auto":
            raise PydanticCustomError(
                "strategy_option",  # one line that names the option and the fix, as for strategy options
                f"The 'run.search' option tunes the candidate strategy auto chooses, not strategy "
                f"{self.strategy.name}: drop --strategy (or its fine-tuning options) or drop --search",
            )
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str = "config") -> RunSpec:
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise _friendly_error(exc, source) from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> RunSpec:
        return cls.from_dict(load_yaml_mapping(path), source=str(path))

    def with_overrides(self, overrides: dict[str, Any]) -> RunSpec:
        """Return a copy with dotted keys (``"optim.lr"``) replaced; None values are ignored."""
        values = self.model_dump()
        for dotted, value in overrides.items():
            if value is None:
                continue
            section, _, key = dotted.partition(".")
            values.setdefault(section, {})[key] = value
        return RunSpec.from_dict(values, source="command-line options")

    def with_strategy(self, name: str, *, source: str = "config") -> RunSpec:
        """A copy that trains with strategy `name`; options only other strategies use go back to their defaults.

        Example:
            >>> lora = RunSpec.from_dict({"strategy": {"name": "lora", "lora_rank": 4}})
            >>> lora.with_strategy("probe").strategy.lora_rank
            8
        """
        values = self.model_dump()
        for key, field in StrategyConfig.model_fields.items():
            users = _strategies_using(field)
            if users and name not in users:
                values["strategy"][key] = field.get_default(call_default_factory=True)
        values["strategy"]["name"] = name
        return RunSpec.from_dict(values, source=source)

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
    if len(loc) > 2 and loc[2].split("[")[0] in ("float", "int", "str", "bool", "literal", "function-after"):
        loc = loc[:2]  # the arm of a union field (weight_decay's float | 'auto'): the key is the field
    key = ".".join(loc)
    if first["type"] == "extra_forbidden":
        valid = _valid_keys(loc[:-1])
        close = [ALIASES[loc[-1]]] if ALIASES.get(loc[-1]) in valid else []
        close = close or difflib.get_close_matches(loc[-1], valid, n=1, cutoff=0.5)
        hint = f"did you mean '{'.'.join([*loc[:-1], close[0]])}'?" if close else f"valid keys: {', '.join(valid)}."
        return ConfigError(f"Unknown key '{key}' in {source}; {hint}")
    if first["type"] == "strategy_option":  # the message already names the option and the fix
        return ConfigError(f"{first['msg']} (in {source}).")
    message = first["msg"].removeprefix("Value error, ")
    choices = _literal_choices(loc) if first["type"] == "literal_error" else ()
    if choices:
        message = f"must be one of {', '.join(map(str, choices))}"
    else:
        message = message.replace("Input should be", "must be", 1)
    return ConfigError(f"The '{key}' option {message}. Got {_short_repr(first.get('input'))} (in {source}).")


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _literal_choices(loc: list[str]) -> tuple[Any, ...]:
    """The values a Literal field at `loc` (section, key) allows, from the schema; () where `loc` is not one."""
    if len(loc) != 2 or loc[0] not in RunSpec.model_fields:
        return ()
    section = RunSpec.model_fields[loc[0]].annotation
    field = section.model_fields.get(loc[1]) if isinstance(section, type) and issubclass(section, BaseModel) else None
    if field is None:
        return ()
    annotation = field.annotation
    arms = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    return tuple(value for arm in arms if typing.get_origin(arm) is Literal for value in typing.get_args(arm))


def _valid_keys(parent: list[str]) -> list[str]:
    model: type[BaseModel] = RunSpec
    for part in parent:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _extra(field: FieldInfo) -> dict[str, Any]:
    return field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}


def _flat_name(key: str, field: FieldInfo) -> str:
    """The rule for flat names: the field's own name unless its metadata names a flag."""
    return _extra(field).get("flag", key)


def _strategies_using(field: FieldInfo) -> tuple[str, ...]:
    """The strategies an option means something to; empty for an option every strategy reads."""
    return tuple(_extra(field).get("strategies", ()))


@dataclass(frozen=True)
class RunOption:
    """One RunSpec field as the CLI and the Python API see it: flat name, config key, help, default, choices."""

    flat: str  # the keyword of `transferkit.fit` and, with dashes, the CLI flag
    dotted: str  # the config key, section.field
    field: FieldInfo

    @property
    def annotation(self) -> Any:
        return self.field.annotation

    @property
    def description(self) -> str:
        return self.field.description or ""

    @property
    def default(self) -> Any:
        return self.field.get_default(call_default_factory=True)

    @property
    def choices(self) -> tuple[str, ...] | None:
        """The allowed values of a Literal field (None or another type alongside allowed), else None."""
        arms = typing.get_args(self.annotation) if _is_union(self.annotation) else (self.annotation,)
        literals = [arm for arm in arms if typing.get_origin(arm) is Literal]
        others = [arm for arm in arms if arm is not type(None) and typing.get_origin(arm) is not Literal]
        return tuple(typing.get_args(literals[0])) if len(literals) == 1 and not others else None

    @property
    def strategies(self) -> tuple[str, ...]:
        """The strategies that use this option; empty when every strategy does."""
        return _strategies_using(self.field)


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _run_options() -> dict[str, RunOption]:
    """Every RunSpec field by flat name, in section order; two fields with one flat name is a schema bug."""
    options: dict[str, RunOption] = {}
    for section, section_field in RunSpec.model_fields.items():
        for key, field in section_field.annotation.model_fields.items():
            option = RunOption(flat=_flat_name(key, field), dotted=f"{section}.{key}", field=field)
            if option.flat in options:
                raise TypeError(f"{option.dotted} and {options[option.flat].dotted} share the flat name {option.flat}")
            options[option.flat] = option
    return options


RUN_OPTIONS: dict[str, RunOption] = _run_options()


def flat_to_dotted(options: dict[str, Any]) -> dict[str, Any]:
    """Map flat option names (``epochs=5``) to config keys (``optim.epochs``); unknown names raise."""
    dotted = {}
    for name, value in options.items():
        if "." in name:
            dotted[name] = value
            continue
        if name not in RUN_OPTIONS:
            close = difflib.get_close_matches(name, list(RUN_OPTIONS), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"valid options: {', '.join(RUN_OPTIONS)}."
            raise ConfigError(f"Unknown option '{name}'; {hint}")
        dotted[RUN_OPTIONS[name].dotted] = value
    return dotted
