"""Training engine on Lightning: the module, optimisers and schedules from parameter groups, the Trainer factory."""

from transferkit.engine.module import ClassifierModule, TrainOptions
from transferkit.engine.optim import LayerGroup, build_optimizer, param_groups
from transferkit.engine.schedules import SCHEDULES, build_schedulers
from transferkit.engine.trainer import (
    HistoryCallback,
    TrainerOptions,
    build_trainer,
    fit_with_resume,
    last_checkpoint,
)

__all__ = [
    "SCHEDULES",
    "ClassifierModule",
    "HistoryCallback",
    "LayerGroup",
    "TrainOptions",
    "TrainerOptions",
    "build_optimizer",
    "build_schedulers",
    "build_trainer",
    "fit_with_resume",
    "last_checkpoint",
    "param_groups",
]
