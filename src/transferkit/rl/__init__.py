"""Transfer in reinforcement learning: source / target environments, pretrain and transfer with
stable-baselines3, domain randomisation, curricula and Taylor & Stone transfer metrics.

Needs the `rl` extra (`pip install 'transferkit[rl]'`); the config, metric and curriculum parts import
without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from transferkit.lazy_exports import lazy_exports

# Names load on first use: `transferkit rl --help` stays light, and the parts that need gymnasium /
# stable-baselines3 (train, envs, policy) load only when used.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "AlgoConfig": "transferkit.rl.config",
        "CurriculumConfig": "transferkit.rl.config",
        "EnvSpec": "transferkit.rl.config",
        "EvalConfig": "transferkit.rl.config",
        "PretrainSpec": "transferkit.rl.config",
        "TransferSpec": "transferkit.rl.config",
        "Curriculum": "transferkit.rl.curriculum",
        "area_under_curve": "transferkit.rl.metrics",
        "summarize_seeds": "transferkit.rl.metrics",
        "time_to_threshold": "transferkit.rl.metrics",
        "transfer_metrics": "transferkit.rl.metrics",
        "SpaceMismatchError": "transferkit.rl.spaces",
        "available_rl_strategies": "transferkit.rl.strategies",
        "register_rl_strategy": "transferkit.rl.strategies",
        "pretrain": "transferkit.rl.train",
        "transfer": "transferkit.rl.train",
        "PretrainResult": "transferkit.rl.train",
        "TransferResult": "transferkit.rl.train",
        "make_env": "transferkit.rl.envs",
        "env_parameters": "transferkit.rl.envs",
        "load_policy": "transferkit.rl.policy",
        "save_policy": "transferkit.rl.policy",
    },
    globals(),
)

if TYPE_CHECKING:  # static checkers and IDEs see the real imports
    from transferkit.rl.config import AlgoConfig, CurriculumConfig, EnvSpec, EvalConfig, PretrainSpec, TransferSpec
    from transferkit.rl.curriculum import Curriculum
    from transferkit.rl.envs import env_parameters, make_env
    from transferkit.rl.metrics import area_under_curve, summarize_seeds, time_to_threshold, transfer_metrics
    from transferkit.rl.policy import load_policy, save_policy
    from transferkit.rl.spaces import SpaceMismatchError
    from transferkit.rl.strategies import available_rl_strategies, register_rl_strategy
    from transferkit.rl.train import PretrainResult, TransferResult, pretrain, transfer

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
