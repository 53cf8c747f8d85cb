"""Curricula: a schedule of environment parameters from easy to hard that advances on a reward threshold."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from transferkit.rl.config import CurriculumConfig


class Curriculum:
    """Track training returns and move to the next stage when the recent mean reaches the threshold.

    Example:
        >>> c = Curriculum(CurriculumConfig(stages=[{"length": 0.5}, {"length": 1.0}], threshold=100, window=2))
        >>> c.record(120.0), c.record(130.0), c.stage
        (False, True, 1)
    """

    def __init__(self, config: CurriculumConfig) -> None:
        self.config = config
        self.stage = 0
        self.history: list[dict[str, Any]] = []
        self._recent: deque[float] = deque(maxlen=config.window)

    @property
    def params(self) -> dict[str, float]:
        """The parameters of the current stage."""
        return dict(self.config.stages[self.stage])

    @property
    def finished(self) -> bool:
        return self.stage == len(self.config.stages) - 1

    def record(self, episode_return: float, *, step: int = 0) -> bool:
        """Add one training episode's return; return True when this moved the curriculum to the next stage."""
        self._recent.append(float(episode_return))
        full = len(self._recent) == self.config.window
        if self.finished or not full or float(np.mean(self._recent)) < self.config.threshold:
            return False
        self.history.append({"step": int(step), "from_stage": self.stage, "mean_return": float(np.mean(self._recent))})
        self.stage += 1
        self._recent.clear()
        return True

    def state(self) -> dict[str, Any]:
        """JSON state for checkpoints."""
        return {"stage": self.stage, "history": self.history, "recent": list(self._recent)}

    def load_state(self, state: dict[str, Any]) -> None:
        self.stage = int(state["stage"])
        self.history = list(state["history"])
        self._recent = deque(state["recent"], maxlen=self.config.window)
