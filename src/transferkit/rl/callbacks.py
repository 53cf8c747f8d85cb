"""stable-baselines3 callbacks: learning-curve evaluation, curriculum, progress bar and resumable checkpoints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from transferkit.errors import require
from transferkit.rl.config import AlgoConfig, EnvSpec
from transferkit.rl.curriculum import Curriculum
from transferkit.rl.policy import save_policy

require("stable_baselines3", extra="rl", purpose="Reinforcement-learning transfer")
from stable_baselines3.common.callbacks import BaseCallback  # noqa: E402
from stable_baselines3.common.evaluation import evaluate_policy  # noqa: E402


def evaluate(model: Any, eval_env: Any, *, episodes: int, seed: int) -> dict[str, float]:
    """Mean and std of deterministic returns over `episodes` episodes that start from the same seeded states."""
    eval_env.seed(seed)
    mean, std = evaluate_policy(model, eval_env, n_eval_episodes=episodes, deterministic=True, warn=False)
    return {"step": int(model.num_timesteps), "mean": float(mean), "std": float(std)}


class LearningCurve(BaseCallback):
    """Evaluate at step 0, every `every` steps and at the end; `points` holds {step, mean, std} dicts."""

    def __init__(self, eval_env: Any, *, every: int, episodes: int, seed: int, points: list[dict] | None = None):
        super().__init__()
        self.eval_env, self.every, self.episodes, self.seed = eval_env, every, episodes, seed
        self.points: list[dict[str, float]] = list(points or [])

    def _evaluate(self) -> None:
        if not self.points or self.points[-1]["step"] != self.num_timesteps:
            self.points.append(evaluate(self.model, self.eval_env, episodes=self.episodes, seed=self.seed))

    def _on_training_start(self) -> None:
        if not self.points:
            self._evaluate()

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every == 0:
            self._evaluate()
        return True

    def _on_training_end(self) -> None:
        self._evaluate()


class CurriculumCallback(BaseCallback):
    """Feed finished training episodes to a Curriculum; on advancing, set the next stage's parameters."""

    def __init__(self, curriculum: Curriculum, *, base_params: dict[str, float]) -> None:
        super().__init__()
        self.curriculum, self.base_params = curriculum, dict(base_params)

    def _on_training_start(self) -> None:
        self.training_env.env_method("set_params", {**self.base_params, **self.curriculum.params})

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            if "episode" in info and self.curriculum.record(info["episode"]["r"], step=self.num_timesteps):
                self.training_env.env_method("set_params", {**self.base_params, **self.curriculum.params})
        return True


class ProgressCallback(BaseCallback):
    """Advance a progress bar (see transferkit.progress) by the environment steps taken."""

    def __init__(self, advance: Callable[[int], None]) -> None:
        super().__init__()
        self.advance = advance

    def _on_step(self) -> bool:
        self.advance(self.training_env.num_envs)
        return True


class CheckpointCallback(BaseCallback):
    """Every `every` steps write a resumable checkpoint: weights, optimiser state and training state."""

    def __init__(
        self, directory: Path, *, every: int, algo: AlgoConfig, env: EnvSpec, state: Callable[[], dict[str, Any]]
    ) -> None:
        super().__init__()
        self.directory, self.every, self.algo, self.env, self.state = directory, every, algo, env, state

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every == 0:
            save_policy(
                self.model, self.directory, algo=self.algo, env=self.env, extra={"state": self.state()}, optimizer=True
            )
        return True
