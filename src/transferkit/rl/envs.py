"""Environments for transfer: any gymnasium id, physics overrides applied at reset, domain randomisation and
sim-to-real gap wrappers (observation noise, action delay, actuator strength).

The parameter names by family are in docs/guide/reinforcement-learning.md; `env_parameters(env)` lists what one
environment accepts. MuJoCo scales are relative to the model's own values (never compounding across resets);
MiniGrid's 7x7x3 partial view is flattened to 147 values, the same shape for every grid size.
"""

from __future__ import annotations

import collections
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from transferkit.errors import ConfigError, require
from transferkit.rl.config import EnvSpec

gym = require("gymnasium", extra="rl", purpose="Reinforcement-learning transfer")


@dataclass(frozen=True)
class ParamFamily:
    """How one family of environments exposes its physics: which names it accepts and how to set them."""

    name: str
    matches: Callable[[Any], bool]
    names: Callable[[Any], list[str]]
    apply: Callable[[Any, dict[str, float], dict[str, Any]], None]


_FAMILIES: list[ParamFamily] = []


def register_param_family(family: ParamFamily) -> ParamFamily:
    """Add a family of environments; the first whose `matches(unwrapped_env)` is true handles an env."""
    if any(existing.name == family.name for existing in _FAMILIES):
        raise ConfigError(f"A parameter family named '{family.name}' is already registered.")
    _FAMILIES.insert(0, family)
    return family


def _family(unwrapped: Any) -> ParamFamily:
    return next(family for family in _FAMILIES if family.matches(unwrapped))


def env_parameters(env: Any) -> list[str]:
    """The parameter names `EnvSpec.params` / `randomize` accept for this environment."""
    unwrapped = env.unwrapped
    return _family(unwrapped).names(unwrapped)


# --- attribute family: classic control and most pure-Python environments -------------------------------------


def _attribute_names(unwrapped: Any) -> list[str]:
    return sorted(
        key
        for key, value in vars(unwrapped).items()
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and not key.startswith("_")
    ) + sorted(
        key
        for key in dir(type(unwrapped))
        if key.isupper() and isinstance(getattr(type(unwrapped), key), numbers.Real)  # Acrobot's LINK_* constants
    )


def _apply_attributes(unwrapped: Any, params: dict[str, float], defaults: dict[str, Any]) -> None:
    for key, value in params.items():
        setattr(unwrapped, key, type(getattr(unwrapped, key))(value))
    if hasattr(unwrapped, "polemass_length"):  # CartPole keeps two derived quantities
        unwrapped.total_mass = unwrapped.masspole + unwrapped.masscart
        unwrapped.polemass_length = unwrapped.masspole * unwrapped.length


register_param_family(ParamFamily("attributes", lambda _env: True, _attribute_names, _apply_attributes))


# --- MuJoCo ---------------------------------------------------------------------------------------------------


def _is_mujoco(unwrapped: Any) -> bool:
    return type(getattr(unwrapped, "model", None)).__name__ == "MjModel"


def _mujoco_names(unwrapped: Any) -> list[str]:
    model = unwrapped.model
    bodies = [model.body(i).name for i in range(1, model.nbody)]
    return ["mass_scale", *(f"mass_scale.{body}" for body in bodies), "friction_scale", "gravity"]


def _apply_mujoco(unwrapped: Any, params: dict[str, float], defaults: dict[str, Any]) -> None:
    model = unwrapped.model
    if not defaults:
        defaults.update(
            mass=model.body_mass.copy(),
            inertia=model.body_inertia.copy(),
            friction=model.geom_friction.copy(),
            gravity=model.opt.gravity.copy(),
        )
    scale = np.full(model.nbody, params.get("mass_scale", 1.0))
    for key, value in params.items():
        if key.startswith("mass_scale."):
            scale[model.body(key.removeprefix("mass_scale.")).id] *= value
    model.body_mass[:] = defaults["mass"] * scale
    model.body_inertia[:] = defaults["inertia"] * scale[:, None]
    model.geom_friction[:] = defaults["friction"] * params.get("friction_scale", 1.0)
    model.opt.gravity[:] = defaults["gravity"]
    if "gravity" in params:
        model.opt.gravity[2] = params["gravity"]


register_param_family(ParamFamily("mujoco", _is_mujoco, _mujoco_names, _apply_mujoco))


# --- highway-env ----------------------------------------------------------------------------------------------


def _is_highway(unwrapped: Any) -> bool:
    return type(unwrapped).__module__.startswith("highway_env")


def _highway_names(unwrapped: Any) -> list[str]:
    return sorted(
        key
        for key, value in unwrapped.config.items()
        if isinstance(value, numbers.Real) and not isinstance(value, bool)
    )


def _apply_highway(unwrapped: Any, params: dict[str, float], defaults: dict[str, Any]) -> None:
    for key, value in params.items():
        default = defaults.setdefault(key, unwrapped.config[key])
        # An int default may take a fractional value: highway-fast's vehicles_density is 1, and a randomised
        # density of 0.93 truncated to int was 0 (a division by zero in highway-env). Whole values stay ints.
        whole = isinstance(default, int) and float(value).is_integer()
        unwrapped.config[key] = int(value) if whole else float(value)


register_param_family(ParamFamily("highway-env", _is_highway, _highway_names, _apply_highway))


# --- wrappers -------------------------------------------------------------------------------------------------


class EnvParams(gym.Wrapper):
    """Apply physics parameters at every reset; `randomize` ranges are drawn anew each episode.

    `set_params` changes the fixed parameters from the next reset on (curricula use it).
    """

    def __init__(self, env: Any, *, params: dict[str, float], randomize: dict[str, tuple[float, float]]) -> None:
        super().__init__(env)
        self._family = _family(env.unwrapped)
        self._defaults: dict[str, Any] = {}
        self._randomize = dict(randomize)
        self._check(list(randomize))
        self.set_params(params)
        self.current_params: dict[str, float] = {}

    def _check(self, names: list[str]) -> None:
        valid = self._family.names(self.env.unwrapped)
        unknown = [name for name in names if name not in valid]
        if unknown:
            env_id = self.env.spec.id if self.env.spec else type(self.env.unwrapped).__name__
            raise ConfigError(
                f"Unknown parameter {unknown[0]!r} for environment {env_id}; it accepts: {', '.join(valid) or 'none'}."
            )

    def set_params(self, params: dict[str, float]) -> None:
        self._check(list(params))
        self._params = dict(params)

    def reset(self, **kwargs: Any) -> Any:
        params = dict(self._params)
        for name, (low, high) in self._randomize.items():
            params[name] = float(self.np_random.uniform(low, high))
        self._family.apply(self.env.unwrapped, params, self._defaults)
        self.current_params = params
        return self.env.reset(**kwargs)


class ObservationNoise(gym.ObservationWrapper):
    """Gaussian observation noise with standard deviation `std` (sensor noise between sim and real)."""

    def __init__(self, env: Any, *, std: float) -> None:
        if not isinstance(env.observation_space, gym.spaces.Box):
            raise ConfigError(f"obs_noise needs a Box observation space; this environment has {env.observation_space}.")
        super().__init__(env)
        self.std = std

    def observation(self, observation: Any) -> Any:
        noisy = observation + self.np_random.normal(0.0, self.std, size=np.shape(observation))
        return noisy.astype(self.observation_space.dtype)


class ActionDelay(gym.Wrapper):
    """Each action reaches the environment `steps` steps late; the first action of an episode fills the gap."""

    def __init__(self, env: Any, *, steps: int) -> None:
        super().__init__(env)
        self.steps = steps
        self._queue: collections.deque[Any] = collections.deque()

    def reset(self, **kwargs: Any) -> Any:
        self._queue.clear()
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> Any:
        if not self._queue:
            self._queue.extend([action] * self.steps)
        self._queue.append(action)
        return self.env.step(self._queue.popleft())


class ActuatorStrength(gym.ActionWrapper):
    """Scale continuous actions (weaker or stronger motors); for discrete forces use a physics parameter."""

    def __init__(self, env: Any, *, scale: float) -> None:
        if not isinstance(env.action_space, gym.spaces.Box):
            raise ConfigError(
                f"actuator_strength needs a continuous (Box) action space; this environment has {env.action_space}. "
                "For discrete actions change the force instead, e.g. params: {force_mag: 5.0} for CartPole."
            )
        super().__init__(env)
        self.scale = scale

    def action(self, action: Any) -> Any:
        return np.asarray(action) * self.scale


def _import_family_package(env_id: str) -> None:
    """Environments registered by optional packages register themselves on import."""
    if env_id.startswith("MiniGrid-"):
        require("minigrid", extra="rl", purpose=f"The MiniGrid environment {env_id}")
    elif env_id.split("-")[0] in {"highway", "merge", "roundabout", "intersection", "parking", "racetrack", "exit"}:
        highway_env = require("highway_env", extra="rl", purpose=f"The highway-env environment {env_id}")
        gym.register_envs(highway_env)


def make_env(spec: EnvSpec, *, seed: int | None = None, monitor: bool = True) -> Any:
    """Build the environment a spec describes: base env, view mapping, physics, sim-to-real gap, Monitor."""
    _import_family_package(spec.id)
    kwargs = {} if spec.max_episode_steps is None else {"max_episode_steps": spec.max_episode_steps}
    try:
        env = gym.make(spec.id, **kwargs)
    except gym.error.Error as exc:
        raise ConfigError(f"Cannot create environment {spec.id!r}: {exc}. Check the --env id.") from None
    if spec.id.startswith("MiniGrid-"):
        from minigrid.wrappers import ImgObsWrapper

        env = gym.wrappers.FlattenObservation(ImgObsWrapper(env))  # 7x7x3 partial view -> 147 values, any size
    env = EnvParams(env, params=spec.params, randomize=spec.randomize)
    if spec.actuator_strength != 1.0:
        env = ActuatorStrength(env, scale=spec.actuator_strength)
    if spec.action_delay:
        env = ActionDelay(env, steps=spec.action_delay)
    if spec.obs_noise:
        env = ObservationNoise(env, std=spec.obs_noise)
    if monitor:
        from stable_baselines3.common.monitor import Monitor

        env = Monitor(env)
    if seed is not None:
        env.action_space.seed(seed)
    return env
