"""Options that only single-label classification honours, refused by the other tasks with the fix named."""

from __future__ import annotations

from transferkit.config import RunSpec
from transferkit.errors import ConfigError


def classification_only_options(spec: RunSpec) -> list[str]:
    """The flags set in `spec` that shape a single-label classifier (one class per example)."""
    optim, imbalance = spec.optim, spec.imbalance
    given = {
        "--mixup / --cutmix": bool(optim.mixup or optim.cutmix),
        "--label-smoothing": bool(optim.label_smoothing),
        "--loss focal": imbalance.loss != "cross-entropy",
        "--class-weight": imbalance.class_weight != "none",
        "--resample": imbalance.resample != "none",
        "--threshold": imbalance.threshold != "argmax",
        "--baseline": spec.run.baseline != "none",
        "--augment": spec.augment.policy != "none",
    }
    return [flag for flag, is_set in given.items() if is_set]


def refuse_classification_options(spec: RunSpec, *, task: str, also: dict[str, bool] | None = None) -> None:
    """ConfigError naming every classification-only option set in a run of `task` (and the task's own `also`)."""
    flags = classification_only_options(spec) + [flag for flag, is_set in (also or {}).items() if is_set]
    if flags:
        raise ConfigError(
            f"{', '.join(flags)} {'applies' if len(flags) == 1 else 'apply'} to single-label classification, "
            f"not to --task {task}; leave {'it' if len(flags) == 1 else 'them'} out."
        )
