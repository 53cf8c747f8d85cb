"""The Strategy interface and registry: a strategy decides what trains and how."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from transferkit.backbones.base import Backbone
from transferkit.config import RunSpec, register_strategy_name
from transferkit.data.dataset import LabeledData
from transferkit.errors import ConfigError
from transferkit.models.transfer_model import TransferModel


@dataclass
class StrategyResult:
    model: TransferModel
    backbone_trained: bool
    history: list[dict[str, float]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


class Strategy(ABC):
    """Trains a TransferModel from a backbone and labelled splits."""

    name: ClassVar[str]

    @abstractmethod
    def fit(
        self, *, backbone: Backbone, train: LabeledData, valid: LabeledData | None, spec: RunSpec, run_dir: Path
    ) -> StrategyResult:
        """Train and return the model; checkpoints and logs go under `run_dir`."""

    def predict_proba(self, result: StrategyResult, data: LabeledData, spec: RunSpec) -> np.ndarray:
        """Class probabilities for a labelled split (used for evaluation)."""
        return result.model.predict_proba(data.inputs, batch_size=spec.backbone.batch_size)


_STRATEGIES: dict[str, type[Strategy]] = {}


def register_strategy(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator adding a strategy under `cls.name`; a duplicate name raises."""
    if cls.name in _STRATEGIES:
        raise ConfigError(f"A strategy named '{cls.name}' is already registered; choose another name.")
    _STRATEGIES[cls.name] = cls
    register_strategy_name(cls.name)  # the schema accepts it in configs from now on
    return cls


def get_strategy(name: str) -> Strategy:
    if name not in _STRATEGIES:
        raise ConfigError(f"The 'strategy' option must be one of {', '.join(_STRATEGIES)}. Got '{name}'.")
    return _STRATEGIES[name]()


def available_strategies() -> list[str]:
    return list(_STRATEGIES)
