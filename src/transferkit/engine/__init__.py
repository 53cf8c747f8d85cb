"""Training engine on Lightning: the module, optimisers from parameter groups, the Trainer factory."""

from transferkit.engine.module import ClassifierModule
from transferkit.engine.optim import LayerGroup, build_optimizer, param_groups
from transferkit.engine.trainer import HistoryCallback, build_trainer

__all__ = ["ClassifierModule", "HistoryCallback", "LayerGroup", "build_optimizer", "build_trainer", "param_groups"]
