"""From a RunSpec to the engine's TrainOptions / TrainerOptions, with each strategy's defaults filled in."""

from __future__ import annotations

from transferkit.config import RunSpec
from transferkit.engine import TrainerOptions, TrainOptions
from transferkit.errors import ConfigError


def train_options(
    spec: RunSpec, *, optimizer: str, weight_decay: float, has_valid: bool, default_lr: float | None = None
) -> TrainOptions:
    """TrainOptions from the spec's optim section; `monitor` falls back to train_loss without validation data."""
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
        schedule=optim.schedule,
        warmup_epochs=optim.warmup_epochs,
        step_size=optim.step_size,
        gamma=optim.gamma,
        monitor=optim.monitor if has_valid else "train_loss",
        label_smoothing=optim.label_smoothing,
        mixup=optim.mixup,
        cutmix=optim.cutmix,
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
    )
