"""Pydantic models for reinforcement-learning runs: environments, algorithms, curricula, pretrain and transfer.

A run is fully described by a `PretrainSpec` or a `TransferSpec`; the resolved spec is written into the run
folder as config.yaml, so `transferkit rl pretrain --config runs/NAME/config.yaml` repeats it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from transferkit.config import RunConfig
from transferkit.errors import ConfigError
from transferkit.rl.algo_kwargs import check_algo_kwargs
from transferkit.run_folder import load_yaml_mapping


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EnvSpec(_Section):
    """A gymnasium environment, its physics overrides and the sim-to-real gap put in front of it.

    Example:
        >>> EnvSpec(id="CartPole-v1", params={"length": 1.0}).params["length"]
        1.0
    """

    id: str = Field(..., description="Any registered gymnasium id, e.g. CartPole-v1, HalfCheetah-v5, merge-v0.")
    params: dict[str, float] = Field(
        default_factory=dict, description="Physics overrides applied at every reset (see `transferkit.rl.envs`)."
    )
    randomize: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="Domain randomisation: each reset draws the parameter from [low, high]."
    )
    obs_noise: float = Field(0.0, ge=0.0, description="Std of Gaussian noise added to Box observations.")
    action_delay: int = Field(0, ge=0, description="Actions reach the environment this many steps late.")
    actuator_strength: float = Field(1.0, gt=0.0, description="Scale applied to continuous actions.")
    max_episode_steps: int | None = Field(None, ge=1, description="Episode step limit; default: the env's own.")

    @field_validator("randomize")
    @classmethod
    def _ordered_ranges(cls, value: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for name, (low, high) in value.items():
            if low > high:
                raise ValueError(f"needs low <= high for '{name}' (got {low} > {high})")
        return value


class AlgoConfig(_Section):
    """The stable-baselines3 algorithm and its hyperparameters (passed to its constructor as they are)."""

    name: Literal["ppo", "sac", "dqn"] = "ppo"
    net_arch: list[int] = Field(default_factory=lambda: [64, 64], description="Hidden layer sizes.")
    kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra constructor arguments, e.g. {n_steps: 256, learning_rate: 0.001}; only known "
        "hyper-parameters with plain values (transferkit.rl.algo_kwargs), never classes, callables or paths.",
    )

    @field_validator("kwargs")
    @classmethod
    def _allowed_kwargs(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        check_algo_kwargs(info.data.get("name"), value)  # no name: it failed its own check, reported first
        return value


class EvalConfig(_Section):
    """How learning curves are measured: deterministic episodes every `every` environment steps."""

    every: int = Field(2_000, ge=1)
    episodes: int = Field(5, ge=1)


class CurriculumConfig(_Section):
    """Environment parameters from easy to hard; the next stage starts when the mean return reaches a threshold.

    Example:
        >>> CurriculumConfig(stages=[{"length": 0.5}, {"length": 1.0}], threshold=150).window
        10
    """

    stages: list[dict[str, float]] = Field(..., min_length=1)
    threshold: float
    window: int = Field(10, ge=1, description="Training episodes averaged for the threshold test.")


class _RunSpec(_Section):
    """A whole run: built from a dict or YAML file (errors name the key), written back as YAML."""

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str = "config") -> Any:
        return _validate(cls, values, source)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Any:
        return _validate(cls, load_yaml_mapping(path), str(path))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


class PretrainSpec(_RunSpec):
    """A complete pretraining run on a source environment."""

    env: EnvSpec
    algo: AlgoConfig = Field(default_factory=AlgoConfig)
    steps: int = Field(20_000, ge=1)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    curriculum: CurriculumConfig | None = None
    checkpoint_every: int = Field(10_000, ge=1, description="Save a resumable checkpoint every N steps.")
    run: RunConfig = Field(default_factory=RunConfig)


class TransferSpec(_RunSpec):
    """A transfer run: a source policy continues on a target environment, against learning from scratch."""

    source: str = Field(..., description="Policy folder (runs/NAME/policy) or a pretrain run folder.")
    env: EnvSpec
    strategy: str = "finetune"
    steps: int = Field(20_000, ge=0)
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    threshold: float | None = Field(None, description="Return for time-to-threshold; default: the env's own.")
    baseline: bool = Field(True, description="Also learn from scratch with the same budget and seeds.")
    algo_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the source's kwargs (checked as algo.kwargs are)."
    )
    checkpoint_every: int = Field(10_000, ge=1)
    run: RunConfig = Field(default_factory=RunConfig)

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        from transferkit.rl.strategies import available_rl_strategies

        names = available_rl_strategies()
        if value not in names:
            raise ValueError(f"must be one of {', '.join(names)}")
        return value

    @field_validator("algo_kwargs")
    @classmethod
    def _allowed_kwargs(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_algo_kwargs(None, value)  # the source's algorithm is known later; build_model checks against it
        return value

    @model_validator(mode="after")
    def _distinct_seeds(self) -> TransferSpec:
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds must be distinct")
        return self


def _validate(cls: type[BaseModel], values: dict[str, Any], source: str) -> Any:
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        if first["type"] == "extra_forbidden":
            raise ConfigError(f"Unknown key '{key}' in {source}; check the spelling (see `--help`).") from None
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"The '{key}' option {message}. Got {first.get('input')!r} (in {source}).") from None
