"""Policy artifacts: weights in safetensors plus JSON; the stable-baselines3 model is rebuilt from the config.

SB3's own .zip format pickles parts of the model, and transferkit never unpickles a file a user hands it, so
a policy folder holds ``policy.safetensors`` (the policy's state_dict) and ``policy.json`` (algorithm, its
kwargs, network sizes, the spaces and the environment it learned on). Checkpoints add the optimiser state
(``optimizer.pt``, read with ``torch.load(weights_only=True)``) and ``state.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from transferkit.errors import ArtifactError, ConfigError, require
from transferkit.rl.algo_kwargs import check_algo_kwargs, sb3_policy_kwargs
from transferkit.rl.config import AlgoConfig, EnvSpec
from transferkit.rl.spaces import check_spaces, describe_space
from transferkit.run_folder import built_aside, readable_folder, write_json
from transferkit.version import __version__

sb3 = require("stable_baselines3", extra="rl", purpose="Reinforcement-learning transfer")

WEIGHTS_FILE = "policy.safetensors"
INFO_FILE = "policy.json"
OPTIMIZER_FILE = "optimizer.pt"
REPLAY_FILE = "replay.npz"
# The array fields and counters of SB3's ReplayBuffer: enough to continue off-policy training exactly.
REPLAY_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")
FORMAT_VERSION = 1


def build_model(algo: AlgoConfig, *, env: Any, seed: int, kwargs: dict[str, Any] | None = None) -> Any:
    """A fresh stable-baselines3 model (CPU, MlpPolicy) for `env` from an algorithm config."""
    classes = {"ppo": sb3.PPO, "sac": sb3.SAC, "dqn": sb3.DQN}
    options = {**algo.kwargs, **(kwargs or {})}
    try:
        check_algo_kwargs(algo.name, options)  # overrides too: nothing but known hyper-parameters reaches SB3
    except ValueError as exc:
        raise ConfigError(f"The algorithm arguments (algo.kwargs, --algo-kwarg) {exc}.") from None
    policy_kwargs = {"net_arch": list(algo.net_arch), **sb3_policy_kwargs(options.pop("policy_kwargs", {}))}
    try:
        return classes[algo.name](
            "MlpPolicy", env, seed=seed, device="cpu", verbose=0, policy_kwargs=policy_kwargs, **options
        )
    except (TypeError, AssertionError) as exc:
        raise ConfigError(
            f"Cannot build {algo.name.upper()} with kwargs {options}: {exc}. Check algo.kwargs."
        ) from None


def _optimizers(model: Any) -> dict[str, Any]:
    policy = model.policy
    if hasattr(policy, "actor"):  # SAC keeps one optimiser per network
        found = {"actor": policy.actor.optimizer, "critic": policy.critic.optimizer}
        if getattr(model, "ent_coef_optimizer", None) is not None:
            found["ent_coef"] = model.ent_coef_optimizer
        return found
    return {"policy": policy.optimizer}


def save_policy(
    model: Any,
    directory: str | Path,
    *,
    algo: AlgoConfig,
    env: EnvSpec,
    extra: dict[str, Any] | None = None,
    optimizer: bool = False,
) -> Path:
    """Write a policy folder atomically (a temporary sibling swapped into place); return its path.

    The old folder is set aside, not deleted, until the new one is in place: a kill at any moment leaves
    a loadable policy (`resolve_policy_dir` finds one set aside by a swap killed half-way)."""
    with built_aside(directory) as temporary:
        _write_policy_files(model, temporary, algo=algo, env=env, extra=extra, optimizer=optimizer)
    return Path(directory)


def _write_policy_files(
    model: Any, folder: Path, *, algo: AlgoConfig, env: EnvSpec, extra: dict[str, Any] | None, optimizer: bool
) -> None:
    """The weights, policy.json and (for checkpoints) optimiser state and replay buffer, into `folder`."""
    from safetensors.torch import save_model

    save_model(model.policy, str(folder / WEIGHTS_FILE))
    info = {
        "format_version": FORMAT_VERSION,
        "transferkit_version": __version__,
        "algo": algo.model_dump(mode="json"),
        "env": env.model_dump(mode="json"),
        "spaces": {
            "observation": describe_space(model.observation_space),
            "action": describe_space(model.action_space),
        },
        "num_timesteps": int(model.num_timesteps),
        **(extra or {}),
    }
    write_json(folder / INFO_FILE, info)
    if optimizer:
        import torch

        states = {name: opt.state_dict() for name, opt in _optimizers(model).items()}
        if getattr(model, "log_ent_coef", None) is not None:
            states["log_ent_coef"] = model.log_ent_coef.detach().clone()
        torch.save(states, folder / OPTIMIZER_FILE)
        _save_replay(model, folder / REPLAY_FILE)


def _save_replay(model: Any, path: Path) -> None:
    """The filled part of an off-policy replay buffer (SAC / DQN) as plain arrays, so a resumed run samples
    the same past. Written with numpy's npz (no pickle); dict observations (MiniGrid) are not kept, and a
    resume there starts with an empty buffer.
    """
    buffer = getattr(model, "replay_buffer", None)
    if buffer is None or not isinstance(getattr(buffer, "observations", None), np.ndarray):
        return
    filled = buffer.buffer_size if buffer.full else buffer.pos
    arrays = {
        name: getattr(buffer, name)[:filled] for name in REPLAY_ARRAYS if isinstance(getattr(buffer, name), np.ndarray)
    }
    np.savez(path, pos=np.array(buffer.pos), full=np.array(buffer.full), **arrays)


def _load_replay(model: Any, path: Path) -> None:
    buffer = getattr(model, "replay_buffer", None)
    if buffer is None or not path.is_file() or not isinstance(getattr(buffer, "observations", None), np.ndarray):
        return
    with np.load(path, allow_pickle=False) as saved:
        for name in REPLAY_ARRAYS:
            if name not in saved.files:
                continue
            target, rows = getattr(buffer, name), saved[name]
            if rows.shape[1:] != target.shape[1:] or len(rows) > len(target):
                raise ArtifactError(f"{path} holds a replay buffer of another shape; resume with the same options.")
            target[: len(rows)] = rows
        buffer.pos, buffer.full = int(saved["pos"]), bool(saved["full"])


def resolve_policy_dir(path: str | Path) -> Path:
    """Accept a policy folder or a run folder holding one (runs/NAME -> runs/NAME/policy)."""
    path = Path(path)
    for candidate in (readable_folder(path), readable_folder(path / "policy")):
        if (candidate / INFO_FILE).is_file() and (candidate / WEIGHTS_FILE).is_file():
            return candidate
    raise ArtifactError(
        f"{path} is not a policy folder (no {INFO_FILE} + {WEIGHTS_FILE}); pass runs/NAME or runs/NAME/policy "
        "written by `transferkit rl pretrain`."
    )


def _is_space(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("type"), str) and isinstance(value.get("shape"), list)


def _check_info_shape(info: dict[str, Any], path: Path) -> None:
    """The entries transfer reads before building anything (the source env, the spaces) are there and well formed."""
    env, spaces = info.get("env"), info.get("spaces")
    if not (isinstance(env, dict) and isinstance(env.get("id"), str)):
        raise ArtifactError(
            f"{path} has no valid 'env' entry (with the source env's id); the policy folder is corrupt."
        )
    if not (isinstance(spaces, dict) and _is_space(spaces.get("observation")) and _is_space(spaces.get("action"))):
        raise ArtifactError(
            f"{path} has no valid 'spaces' entry (observation and action spaces); the policy folder is corrupt."
        )


def read_policy_info(path: str | Path) -> dict[str, Any]:
    directory = resolve_policy_dir(path)
    try:
        info = json.loads((directory / INFO_FILE).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ArtifactError(
            f"{directory / INFO_FILE} is not valid JSON ({exc}); the policy folder is corrupt."
        ) from None
    except UnicodeDecodeError:
        raise ArtifactError(f"{directory / INFO_FILE} is not UTF-8 JSON; the policy folder is corrupt.") from None
    if not isinstance(info, dict) or info.get("format_version") != FORMAT_VERSION:
        found = info.get("format_version") if isinstance(info, dict) else None
        raise ArtifactError(f"{directory} has policy format {found}; expected {FORMAT_VERSION}.")
    try:  # a received policy.json names what SB3 is built with: only known hyper-parameters may pass
        AlgoConfig.model_validate(info.get("algo"))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(["algo", *(str(part) for part in first["loc"])])
        message = first["msg"].removeprefix("Value error, ")
        raise ArtifactError(
            f"{directory / INFO_FILE} is refused: '{key}' {message}. A policy folder holds data only; "
            "retrain it or remove that setting."
        ) from None
    _check_info_shape(info, directory / INFO_FILE)
    return info


def load_policy(
    path: str | Path,
    *,
    env: Any,
    seed: int,
    target_id: str | None = None,
    kwargs: dict[str, Any] | None = None,
    optimizer: bool = False,
) -> tuple[Any, dict[str, Any]]:
    """Rebuild the SB3 model for `env` (checking its spaces first) and load the saved weights into it."""
    from safetensors.torch import load_model

    directory = resolve_policy_dir(path)
    info = read_policy_info(directory)
    check_spaces(
        policy=info["spaces"],
        observation_space=env.observation_space,
        action_space=env.action_space,
        source_env=info["env"]["id"],
        target_env=target_id or "the target environment",
    )
    model = build_model(AlgoConfig.model_validate(info["algo"]), env=env, seed=seed, kwargs=kwargs)
    try:
        load_model(model.policy, str(directory / WEIGHTS_FILE), strict=True)
    except (RuntimeError, OSError) as exc:
        raise ArtifactError(f"Cannot load {directory / WEIGHTS_FILE} into the rebuilt policy: {exc}") from None
    if optimizer and (directory / OPTIMIZER_FILE).is_file():
        import torch

        states = torch.load(directory / OPTIMIZER_FILE, weights_only=True)
        if "log_ent_coef" in states:
            with torch.no_grad():
                model.log_ent_coef.copy_(states.pop("log_ent_coef"))
        for name, opt in _optimizers(model).items():
            opt.load_state_dict(states[name])
        _load_replay(model, directory / REPLAY_FILE)
    model.num_timesteps = int(info.get("num_timesteps", 0))
    return model, info
