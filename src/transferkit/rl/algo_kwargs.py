"""The stable-baselines3 constructor arguments a config, a flag or a received policy.json may set.

A policy folder is data, never code: its ``algo.kwargs`` reach SB3's constructor, so only known
hyper-parameters with plain values (numbers, flags, a few fixed words) pass. Anything else is refused
with the name of the argument: classes and callables (``replay_buffer_class``, ``policy_kwargs``'
``optimizer_class`` or ``features_extractor_class``), paths (``tensorboard_log``), devices, private
arguments. ``policy_kwargs.activation_fn`` is a name from ``ACTIVATIONS``, turned into the torch class here.

Example:
    >>> check_algo_kwargs("ppo", {"n_steps": 256, "learning_rate": 0.001})
    >>> check_algo_kwargs("ppo", {"tensorboard_log": "/tmp/x"})
    Traceback (most recent call last):
    ...
    ValueError: has 'tensorboard_log', which is not a stable-baselines3 argument transferkit passes to PPO; ...
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

Check = tuple[Callable[[Any], bool], str]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


NUMBER: Check = (_is_number, "a finite number")
INTEGER: Check = (_is_integer, "an integer")
FLAG: Check = (lambda value: isinstance(value, bool), "true or false")
OPTIONAL_NUMBER: Check = (lambda value: value is None or _is_number(value), "a number or null")
AUTO_OR_NUMBER: Check = (
    lambda value: _is_number(value) or (isinstance(value, str) and re.fullmatch(r"auto(_\d+(\.\d+)?)?", value)),
    "a number, 'auto' or 'auto_<start value>'",
)
TRAIN_FREQ: Check = (
    lambda value: (
        _is_integer(value)
        or (
            isinstance(value, list | tuple)
            and len(value) == 2
            and _is_integer(value[0])
            and value[1] in ("step", "episode")
        )
    ),
    "an integer or [integer, 'step' | 'episode']",
)
NET_ARCH: Check = (
    lambda value: (
        (isinstance(value, list) and all(_is_integer(v) for v in value))
        or (
            isinstance(value, dict)
            and all(
                k in ("pi", "vf", "qf") and isinstance(v, list) and all(map(_is_integer, v)) for k, v in value.items()
            )
        )
    ),
    "a list of layer sizes or {pi: [...], vf: [...]} / {pi: [...], qf: [...]}",
)
ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "elu": "ELU", "leaky_relu": "LeakyReLU", "gelu": "GELU", "silu": "SiLU"}
ACTIVATION: Check = (lambda value: value in ACTIVATIONS, f"one of {', '.join(ACTIVATIONS)}")

POLICY_KWARGS: dict[str, Check] = {
    "net_arch": NET_ARCH,
    "activation_fn": ACTIVATION,
    "log_std_init": NUMBER,
    "ortho_init": FLAG,
    "use_expln": FLAG,
    "full_std": FLAG,
    "squash_output": FLAG,
    "share_features_extractor": FLAG,
    "normalize_images": FLAG,
    "n_critics": INTEGER,
}
_COMMON: dict[str, Check] = {
    "learning_rate": NUMBER,
    "batch_size": INTEGER,
    "gamma": NUMBER,
    "stats_window_size": INTEGER,
}
_OFF_POLICY: dict[str, Check] = {
    "buffer_size": INTEGER,
    "learning_starts": INTEGER,
    "tau": NUMBER,
    "train_freq": TRAIN_FREQ,
    "gradient_steps": INTEGER,
    "optimize_memory_usage": FLAG,
    "target_update_interval": INTEGER,
}
ALGO_KWARGS: dict[str, dict[str, Check]] = {
    "ppo": {
        **_COMMON,
        "n_steps": INTEGER,
        "n_epochs": INTEGER,
        "gae_lambda": NUMBER,
        "clip_range": NUMBER,
        "clip_range_vf": OPTIONAL_NUMBER,
        "normalize_advantage": FLAG,
        "ent_coef": NUMBER,
        "vf_coef": NUMBER,
        "max_grad_norm": NUMBER,
        "use_sde": FLAG,
        "sde_sample_freq": INTEGER,
        "target_kl": OPTIONAL_NUMBER,
    },
    "sac": {
        **_COMMON,
        **_OFF_POLICY,
        "ent_coef": AUTO_OR_NUMBER,
        "target_entropy": AUTO_OR_NUMBER,
        "use_sde": FLAG,
        "sde_sample_freq": INTEGER,
        "use_sde_at_warmup": FLAG,
    },
    "dqn": {
        **_COMMON,
        **_OFF_POLICY,
        "exploration_fraction": NUMBER,
        "exploration_initial_eps": NUMBER,
        "exploration_final_eps": NUMBER,
        "max_grad_norm": NUMBER,
    },
}


def _check_values(values: Any, allowed: dict[str, Check], *, where: str, owner: str) -> None:
    if not isinstance(values, dict):
        raise ValueError(f"needs a mapping of argument names to values for '{where.rstrip('.') or 'kwargs'}'")
    for name, value in values.items():
        if name not in allowed:
            raise ValueError(
                f"has '{where}{name}', which is not a stable-baselines3 argument transferkit passes to {owner}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
        if name == "policy_kwargs":
            _check_values(value, POLICY_KWARGS, where="policy_kwargs.", owner=owner)
            continue
        accepts, expected = allowed[name]
        if not accepts(value):
            raise ValueError(f"needs {expected} for '{where}{name}' (got {value!r})")


def check_algo_kwargs(algo: str | None, kwargs: dict[str, Any]) -> None:
    """Raise ValueError naming the first argument that is unknown for `algo` (None: any of the algorithms) or
    has a value of the wrong kind."""
    if algo is None:
        allowed = {name: check for table in ALGO_KWARGS.values() for name, check in table.items()}
        owner = "any algorithm"
    else:
        allowed, owner = ALGO_KWARGS[algo], algo.upper()
    _check_values(kwargs, {**allowed, "policy_kwargs": (lambda value: True, "")}, where="", owner=owner)


def sb3_policy_kwargs(policy_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Checked policy_kwargs for SB3: the activation's name becomes its torch.nn class."""
    if "activation_fn" not in policy_kwargs:
        return dict(policy_kwargs)
    from torch import nn

    return {**policy_kwargs, "activation_fn": getattr(nn, ACTIVATIONS[policy_kwargs["activation_fn"]])}
