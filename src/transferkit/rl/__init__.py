"""Transfer in reinforcement learning: source / target environments, pretrain and transfer with
stable-baselines3, domain randomisation, curricula and Taylor & Stone transfer metrics.

Needs the `rl` extra (`pip install 'transferkit[rl]'`); the config, metric and curriculum parts import
without it.
"""

from __future__ import annotations

from typing import Any

from transferkit.rl.config import AlgoConfig, CurriculumConfig, EnvSpec, EvalConfig, PretrainSpec, TransferSpec
from transferkit.rl.curriculum import Curriculum
from transferkit.rl.metrics import area_under_curve, summarize_seeds, time_to_threshold, transfer_metrics
from transferkit.rl.spaces import SpaceMismatchError
from transferkit.rl.strategies import available_rl_strategies, register_rl_strategy

_LAZY = {
    "pretrain": "transferkit.rl.train",
    "transfer": "transferkit.rl.train",
    "PretrainResult": "transferkit.rl.train",
    "TransferResult": "transferkit.rl.train",
    "make_env": "transferkit.rl.envs",
    "env_parameters": "transferkit.rl.envs",
    "load_policy": "transferkit.rl.policy",
    "save_policy": "transferkit.rl.policy",
}


def __getattr__(name: str) -> Any:
    """Load the parts that need gymnasium / stable-baselines3 on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'transferkit.rl' has no attribute {name!r}")


__all__ = [
    "AlgoConfig",
    "Curriculum",
    "CurriculumConfig",
    "EnvSpec",
    "EvalConfig",
    "PretrainResult",
    "PretrainSpec",
    "SpaceMismatchError",
    "TransferResult",
    "TransferSpec",
    "area_under_curve",
    "available_rl_strategies",
    "env_parameters",
    "load_policy",
    "make_env",
    "pretrain",
    "register_rl_strategy",
    "save_policy",
    "summarize_seeds",
    "time_to_threshold",
    "transfer",
    "transfer_metrics",
]
