"""RL transfer strategies: what of a source policy keeps learning on the target, what is frozen or reset.

A stable-baselines3 policy is split into *features* (extractor, hidden layers) and *heads* (the last layer of each
network; target networks follow their online network); what each strategy trains: docs/guide/reinforcement-learning.md.

Example:
    >>> available_rl_strategies()
    ['finetune', 'freeze-features', 'reinit-head', 'zero-shot']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from transferkit.errors import ConfigError


@dataclass(frozen=True)
class RLStrategy:
    """A named transfer strategy: `prepare(model)` changes the model in place; `trains` says if learning follows."""

    name: str
    trains: bool
    freezes: bool
    prepare: Callable[[Any], None]
    description: str


_REGISTRY: dict[str, RLStrategy] = {}


def register_rl_strategy(name: str, *, trains: bool, description: str, freezes: bool = False) -> Callable:
    """Register `prepare(model)` under `name`; `freezes`: prepare only sets requires_grad (reapplied on resume).

    Duplicate names raise.
    """

    def decorator(prepare: Callable[[Any], None]) -> Callable[[Any], None]:
        if name in _REGISTRY:
            raise ConfigError(f"An RL strategy named '{name}' is already registered.")
        _REGISTRY[name] = RLStrategy(name, trains, freezes, prepare, description)
        return prepare

    return decorator


def available_rl_strategies() -> list[str]:
    return sorted(_REGISTRY)


def get_rl_strategy(name: str) -> RLStrategy:
    if name not in _REGISTRY:
        raise ConfigError(f"The 'strategy' option must be one of {', '.join(available_rl_strategies())}. Got {name!r}.")
    return _REGISTRY[name]


def _split_sequential(sequential: nn.Sequential) -> tuple[list[nn.Module], list[nn.Module]]:
    layers = list(sequential)
    return layers[:-1], layers[-1:]


def split_policy(model: Any) -> tuple[list[nn.Module | nn.Parameter], list[nn.Module | nn.Parameter]]:
    """Split a stable-baselines3 model's policy into (features, heads) by algorithm.

    Returns modules or parameters; target networks are not included (they follow their online network).
    """
    policy = model.policy
    kind = type(model).__name__
    if kind in {"PPO", "A2C"}:
        features: list[Any] = [policy.features_extractor, policy.mlp_extractor]
        features += [getattr(policy, name) for name in ("pi_features_extractor", "vf_features_extractor")]
        heads: list[Any] = [policy.action_net, policy.value_net]
        if isinstance(getattr(policy, "log_std", None), nn.Parameter):
            heads.append(policy.log_std)
        return features, heads
    if kind == "DQN":
        hidden, last = _split_sequential(policy.q_net.q_net)
        return [policy.q_net.features_extractor, *hidden], last
    if kind == "SAC":
        features = [policy.actor.features_extractor, policy.actor.latent_pi, policy.critic.features_extractor]
        heads = [policy.actor.mu, policy.actor.log_std]
        for q_network in policy.critic.q_networks:
            hidden, last = _split_sequential(q_network)
            features += hidden
            heads += last
        return features, heads
    raise ConfigError(f"Transfer strategies support PPO, SAC and DQN models; got {kind}.")


def parameters_of(parts: list[Any]) -> list[nn.Parameter]:
    """The distinct parameters of a list of modules / parameters, in order."""
    seen: dict[int, nn.Parameter] = {}
    for part in parts:
        for parameter in [part] if isinstance(part, nn.Parameter) else part.parameters():
            seen.setdefault(id(parameter), parameter)
    return list(seen.values())


def _sync_targets(model: Any) -> None:
    policy = model.policy
    if hasattr(policy, "q_net_target"):
        policy.q_net_target.load_state_dict(policy.q_net.state_dict())
    if hasattr(policy, "critic_target"):
        policy.critic_target.load_state_dict(policy.critic.state_dict())


@register_rl_strategy("zero-shot", trains=False, freezes=True, description="Evaluate the source policy as it is.")
def _zero_shot(model: Any) -> None:
    for parameter in model.policy.parameters():
        parameter.requires_grad_(False)


@register_rl_strategy("finetune", trains=True, description="Continue training every parameter.")
def _finetune(model: Any) -> None:
    for parameter in model.policy.parameters():
        parameter.requires_grad_(True)


@register_rl_strategy("freeze-features", trains=True, freezes=True, description="Freeze features; train the heads.")
def _freeze_features(model: Any) -> None:
    features, _heads = split_policy(model)
    for parameter in parameters_of(features):
        parameter.requires_grad_(False)


@register_rl_strategy("reinit-head", trains=True, description="Re-initialise the heads; train everything.")
def _reinit_head(model: Any) -> None:
    import torch

    _features, heads = split_policy(model)
    with torch.no_grad():
        for head in heads:
            if isinstance(head, nn.Parameter):
                head.zero_()  # PPO's log_std starts at 0 (std 1), as SB3 initialises it
            else:
                head.reset_parameters()
    _sync_targets(model)
