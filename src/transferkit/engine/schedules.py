"""Learning-rate schedules from torch.optim.lr_scheduler, with an optional linear warmup before any of them.

Curves, as a factor of each group's learning rate (``t``: optimiser steps, ``E``: steps per epoch,
``W``: warmup steps, ``T``: total steps):

- ``constant``: 1.
- ``step``: ``gamma ** floor(t / (step_size * E))`` (times ``gamma`` every `step_size` epochs).
- ``exponential``: ``gamma ** (t / E)`` (times ``gamma`` per epoch, applied smoothly every step).
- ``cosine``: ``0.5 * (1 + cos(pi * (t - W) / (T - W)))`` down to 0 at the last step.
- ``one-cycle``: torch's OneCycleLR (warm up to the rate over `W` steps, or 30%, then anneal; momentum cycles).
- ``plateau``: times ``gamma`` when the monitored validation metric stops improving for `patience` epochs.

Warmup (``W > 0``; one-cycle has its own) rises linearly from 1% of the rate to the rate over ``W`` steps.
"""

from __future__ import annotations

from typing import Any

from torch.optim import Optimizer
from torch.optim import lr_scheduler as sched

from transferkit.errors import ConfigError

SCHEDULES = ("constant", "step", "exponential", "cosine", "one-cycle", "plateau")
WARMUP_START = 0.01


def build_schedulers(
    name: str,
    optimizer: Optimizer,
    *,
    total_steps: int,
    steps_per_epoch: int,
    warmup_steps: int = 0,
    step_size: int = 1,
    gamma: float = 0.5,
    monitor: str = "val_loss",
    patience: int = 2,
) -> list[dict[str, Any]]:
    """Lightning scheduler configs (``{"scheduler": ..., "interval": ...}``) for the named schedule.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
        >>> [c["interval"] for c in build_schedulers("cosine", opt, total_steps=100, steps_per_epoch=10)]
        ['step']
    """
    if name not in SCHEDULES:
        raise ConfigError(f"The 'schedule' option must be one of {', '.join(SCHEDULES)}. Got '{name}'.")
    total_steps = max(1, total_steps)
    steps_per_epoch = max(1, steps_per_epoch)
    warmup_steps = max(0, min(warmup_steps, total_steps - 1))
    if name == "one-cycle":
        pct_start = warmup_steps / total_steps if warmup_steps else 0.3
        one_cycle = sched.OneCycleLR(
            optimizer,
            max_lr=[group["lr"] for group in optimizer.param_groups],
            total_steps=total_steps,
            pct_start=pct_start,
        )
        return [{"scheduler": one_cycle, "interval": "step"}]
    warmup = (
        sched.LinearLR(optimizer, start_factor=WARMUP_START, end_factor=1.0, total_iters=warmup_steps)
        if warmup_steps
        else None
    )
    if name == "plateau":
        mode = "max" if "accuracy" in monitor else "min"
        plateau = sched.ReduceLROnPlateau(optimizer, mode=mode, factor=gamma, patience=patience)
        configs = [{"scheduler": plateau, "interval": "epoch", "monitor": monitor, "strict": True}]
        return ([{"scheduler": warmup, "interval": "step"}] if warmup else []) + configs
    if name == "constant":
        main: sched.LRScheduler = sched.ConstantLR(optimizer, factor=1.0, total_iters=0)
    elif name == "step":
        main = sched.StepLR(optimizer, step_size=step_size * steps_per_epoch, gamma=gamma)
    elif name == "exponential":
        main = sched.ExponentialLR(optimizer, gamma=gamma ** (1.0 / steps_per_epoch))
    else:
        main = sched.CosineAnnealingLR(optimizer, T_max=max(1, total_steps - warmup_steps), eta_min=0.0)
    if warmup is not None:
        main = sched.SequentialLR(optimizer, schedulers=[warmup, main], milestones=[warmup_steps])
    return [{"scheduler": main, "interval": "step"}]
