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
from transferkit.models.predictor import Predictor
from transferkit.models.target import TrainingTarget
from transferkit.strategies.options import classification_target


@dataclass
class StrategyResult:
    """What a strategy trained, and the record of how; `fit` reads the typed fields, `extra` only goes to
    metrics.json (under "strategy")."""

    model: Predictor
    backbone_trained: bool
    history: list[dict[str, float]] = field(default_factory=list)
    chosen: str | None = None  # strategy auto: the candidate whose model this is
    selection: dict[str, Any] | None = None  # strategy auto: the cross-validated choice (metrics.json "selection")
    global_rank: int | None = None  # Lightning runs: the process's rank; only rank 0 evaluates and saves
    extra: dict[str, Any] = field(default_factory=dict)  # strategy-specific: optimiser, lr, cache hits, ...

    @property
    def secondary_process(self) -> bool:
        """True in the extra processes of a multi-process run: the primary one evaluates and saves."""
        return bool(self.global_rank)

    def record(self) -> dict[str, Any]:
        """The strategy's entry in metrics.json (after its name)."""
        chosen = {"chosen": self.chosen} if self.chosen is not None else {}
        rank = {"global_rank": self.global_rank} if self.global_rank is not None else {}
        return chosen | self.extra | rank


class Strategy(ABC):
    """Trains a model (a `Predictor`) from a backbone and labelled splits, for the task's `TrainingTarget`."""

    name: ClassVar[str]

    @abstractmethod
    def fit(
        self,
        *,
        backbone: Backbone,
        train: LabeledData,
        valid: LabeledData | None,
        spec: RunSpec,
        run_dir: Path,
        target: TrainingTarget | None = None,
    ) -> StrategyResult:
        """Train and return the model; checkpoints and logs go under `run_dir`. `target` (from the run's task)
        says how labels become targets and what the loss is; without one, single-label classification of
        `train`'s classes with the run's loss options."""

    @staticmethod
    def target_for(target: TrainingTarget | None, spec: RunSpec, train: LabeledData) -> TrainingTarget:
        """The given target, or single-label classification of `train`'s classes."""
        return target if target is not None else classification_target(spec, train)

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
