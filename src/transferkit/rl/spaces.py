"""Describe observation / action spaces as JSON and check that a policy fits a target environment."""

from __future__ import annotations

from typing import Any

from transferkit.errors import ConfigError


class SpaceMismatchError(ConfigError):
    """A policy's observation or action space does not match the target environment's."""


def describe_space(space: Any) -> dict[str, Any]:
    """A JSON description of a gymnasium space: its type, shape, dtype and (for discrete spaces) size.

    Example:
        >>> import gymnasium as gym
        >>> describe_space(gym.spaces.Discrete(2))
        {'type': 'Discrete', 'shape': [], 'dtype': 'int64', 'n': 2}
    """
    described: dict[str, Any] = {
        "type": type(space).__name__,
        "shape": list(space.shape or ()),
        "dtype": str(space.dtype) if space.dtype is not None else None,
    }
    if hasattr(space, "n"):
        described["n"] = int(space.n)
    if hasattr(space, "nvec"):
        described["nvec"] = [int(n) for n in space.nvec]
    return described


def _text(described: dict[str, Any]) -> str:
    if "n" in described:
        return f"{described['type']}({described['n']})"
    return f"{described['type']}(shape={tuple(described['shape'])})"


def check_spaces(
    *, policy: dict[str, dict[str, Any]], observation_space: Any, action_space: Any, source_env: str, target_env: str
) -> None:
    """Raise SpaceMismatchError naming both environments when the spaces differ (type, shape or size).

    Args:
        policy: the policy's spaces, ``{"observation": describe_space(...), "action": describe_space(...)}``.
        observation_space: the target environment's observation space.
        action_space: the target environment's action space.
        source_env: the id the policy was trained on (for the message).
        target_env: the target id (for the message).
    """
    for role, space in (("observation", observation_space), ("action", action_space)):
        expected, got = policy[role], describe_space(space)
        keys = ("type", "shape", "n", "nvec")
        if any(expected.get(key) != got.get(key) for key in keys):
            raise SpaceMismatchError(
                f"The policy from {source_env} expects the {role} space {_text(expected)}, but {target_env} has "
                f"{_text(got)}. Transfer needs the same spaces: choose a target with the same {role}s, or a mapped "
                "family (MiniGrid partial views are 7x7 for every grid size)."
            )
