"""From a RunSpec to the engine's TrainOptions / TrainerOptions, with each strategy's defaults filled in."""

from __future__ import annotations

from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.engine import TrainerOptions, TrainOptions
from transferkit.engine.targets import SingleLabelTarget
from transferkit.errors import ConfigError
from transferkit.imbalance.weights import class_weights


def train_options(
    spec: RunSpec,
    *,
    optimizer: str,
    weight_decay: float,
    has_valid: bool,
    default_lr: float | None = None,
    class_counts: dict[str, int] | None = None,
    default_schedule: str = "constant",
    default_warmup_epochs: float = 0.0,
) -> TrainOptions:
    """TrainOptions from the spec's optim and imbalance sections; `monitor` falls back to train_loss without
    validation data. `class_counts` (the training split's) turn --class-weight into per-class loss weights.
    The strategy's defaults fill in the lr, schedule and warmup the spec leaves unset."""
    optim = spec.optim
    if not has_valid and (optim.early_stopping or optim.schedule == "plateau"):
        raise ConfigError(
            "Early stopping and the plateau schedule watch validation metrics, but this run has no validation data; "
            "set --valid-fraction above 0 or pass --valid-data."
        )
    return TrainOptions(
        optimizer=optimizer,
        lr=optim.lr if optim.lr is not None else default_lr,
        weight_decay=weight_decay,
        momentum=optim.momentum,
        nesterov=optim.nesterov,
        schedule=optim.schedule or default_schedule,
        warmup_epochs=default_warmup_epochs if optim.warmup_epochs is None else optim.warmup_epochs,
        step_size=optim.step_size,
        gamma=optim.gamma,
        monitor=optim.monitor if has_valid else "train_loss",
        label_smoothing=optim.label_smoothing,
        loss=spec.imbalance.loss,
        focal_gamma=spec.imbalance.focal_gamma,
        class_weights=loss_weights(spec, class_counts),
        mixup=optim.mixup,
        cutmix=optim.cutmix,
    )


def loss_weights(spec: RunSpec, class_counts: dict[str, int] | None) -> list[float] | None:
    """Per-class loss weights (class-index order) from --class-weight and the training split's counts."""
    if class_counts is None or spec.imbalance.class_weight == "none":
        return None
    weights = class_weights(class_counts, spec.imbalance.class_weight)
    return None if weights is None else [float(w) for w in weights]


def classification_target(spec: RunSpec, train: LabeledData) -> SingleLabelTarget:
    """Single-label classification of `train`'s classes with the run's loss options (--loss, --focal-gamma,
    --class-weight from the training split's counts, --label-smoothing)."""
    return SingleLabelTarget(
        output_names=train.class_names,
        loss_name=spec.imbalance.loss,
        focal_gamma=spec.imbalance.focal_gamma,
        class_weights=loss_weights(spec, train.class_counts),
        label_smoothing=spec.optim.label_smoothing,
    )


def trainer_options_for(
    spec: RunSpec, *, epochs: int, has_valid: bool, checkpoint: bool, single_device: bool = False
) -> TrainerOptions:
    """Devices and callbacks; heads on cached features always train on one device (they take seconds)."""
    run, optim = spec.run, spec.optim
    return TrainerOptions(
        max_epochs=epochs,
        seed=run.seed,
        accelerator="cpu" if single_device and run.accelerator == "auto" else run.accelerator,
        devices=1 if single_device else run.devices,
        distributed="auto" if single_device else run.distributed,
        precision="32-true" if single_device else optim.precision,
        grad_clip=optim.grad_clip,
        early_stopping=optim.early_stopping if has_valid else None,
        monitor=optim.monitor if has_valid else "train_loss",
        checkpoint=checkpoint,
        logger=run.logger,
        max_seconds=None if run.max_minutes is None else run.max_minutes * 60,
    )
