"""Pretrain a policy on a source environment and transfer it to a target, with run folders like `fit`.

Pretrain run folder (runs/NAME): config.yaml, metrics.json, curves.json, fit.log, policy/ (safetensors + JSON),
checkpoints/latest/. Transfer run folder: config.yaml, metrics.json (Taylor & Stone metrics with intervals),
curves.json and report.html (source, transfer and scratch learning curves with seed bands), fit.log,
policy/ (the transferred policy of the first seed), seeds/ (finished curves, kept for --resume), checkpoints/.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

from transferkit.errors import ArtifactError, ConfigError, require
from transferkit.progress import progress_bar
from transferkit.rl.config import AlgoConfig, EnvSpec, PretrainSpec, TransferSpec
from transferkit.rl.curriculum import Curriculum
from transferkit.rl.envs import make_env
from transferkit.rl.metrics import summarize_seeds, transfer_metrics
from transferkit.rl.policy import INFO_FILE, build_model, load_policy, read_policy_info, resolve_policy_dir, save_policy
from transferkit.rl.report import write_report
from transferkit.rl.spaces import check_spaces
from transferkit.rl.strategies import get_rl_strategy
from transferkit.run_folder import RunFolder, readable_folder, run_log, unique_run_name, write_atomic, write_json

require("stable_baselines3", extra="rl", purpose="Reinforcement-learning transfer")
from stable_baselines3.common.callbacks import CallbackList  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv  # noqa: E402

from transferkit.rl.callbacks import (  # noqa: E402
    CheckpointCallback,
    CurriculumCallback,
    LearningCurve,
    ProgressCallback,
    evaluate,
)

EVAL_SEED_OFFSET = 10_000  # evaluation episodes use their own seeds, distinct from training
run_logger = logging.getLogger("transferkit")
TORCH_THREADS = 1  # small policy networks: one thread is fastest and holds up on a busy machine

# Flat option names of `pretrain` / `transfer` and the config keys they set.
ENV_OPTIONS = ("params", "randomize", "obs_noise", "action_delay", "actuator_strength", "max_episode_steps")
PRETRAIN_OPTIONS = {
    "env": "env.id",
    **{key: f"env.{key}" for key in ENV_OPTIONS},
    "algo": "algo.name",
    "net_arch": "algo.net_arch",
    "algo_kwargs": "algo.kwargs",
    "steps": "steps",
    "eval_every": "eval.every",
    "eval_episodes": "eval.episodes",
    "curriculum": "curriculum",
    "checkpoint_every": "checkpoint_every",
    "name": "run.name",
    "output_dir": "run.output_dir",
    "seed": "run.seed",
    "overwrite": "run.overwrite",
}
TRANSFER_OPTIONS = {
    **{
        key: name
        for key, name in PRETRAIN_OPTIONS.items()
        if key not in {"algo", "net_arch", "algo_kwargs", "curriculum", "seed"}
    },
    **{key: key for key in ("source", "strategy", "seeds", "threshold", "baseline", "algo_kwargs")},
}


@dataclass
class PretrainResult:
    """What `pretrain` produced: the run folder, the policy folder, metrics and the resolved spec."""

    run_dir: Path
    policy_dir: Path
    metrics: dict[str, Any]
    spec: PretrainSpec


@dataclass
class TransferResult:
    """What `transfer` produced: the run folder, the transferred policy, metrics (with `summary`) and curves."""

    run_dir: Path
    policy_dir: Path
    metrics: dict[str, Any]
    curves: dict[str, Any]
    spec: TransferSpec


def _resolve(spec_cls: type, config: Any, options: dict[str, Any], names: dict[str, str]) -> Any:
    """Config (object or YAML file), then flat options on top; unknown option names raise."""
    if isinstance(config, spec_cls):
        values = config.model_dump()
    elif config is not None:
        values = spec_cls.from_yaml(config).model_dump()
    else:
        values = {}
    for name, value in options.items():
        if value is None:
            continue
        if name not in names:
            raise ConfigError(f"Unknown option '{name}'; valid options: {', '.join(sorted(names))}.")
        *sections, key = names[name].split(".")
        target = values
        for section in sections:
            if not isinstance(target.get(section), dict):
                target[section] = {}
            target = target[section]
        target[key] = value
    return spec_cls.from_dict(values, source="options")


# Options that may differ when a run resumes: the new step target and where the run folder is.
RESUMABLE = ("steps", "name", "output_dir", "overwrite")


def _dotted_value(values: dict[str, Any], dotted: str) -> Any:
    """The value at a dotted config key (``algo.name``) of a dumped spec, None when absent."""
    for part in dotted.split("."):
        values = values.get(part) if isinstance(values, dict) else None
    return values


def _resolve_run(
    spec_cls: type, config: Any, options: dict[str, Any], names: dict[str, str], *, resume: bool
) -> tuple[Any, RunFolder | None]:
    """The run's spec; on resume, the saved config.yaml with the given options on top (only steps may change)."""
    if not resume:
        return _resolve(spec_cls, config, options, names), None
    if not options.get("name"):
        raise ConfigError("--resume needs --name: the run folder to continue.")
    run_dir = Path(options.get("output_dir") or "runs") / options["name"]
    saved = run_dir / "config.yaml"
    if not saved.is_file():
        raise ConfigError(f"Nothing to resume: {saved} does not exist; start the run without --resume.")
    previous = spec_cls.from_yaml(saved)
    other_options = ConfigError(
        f"Run folder {run_dir} was started with other options; resume with the same options (only --steps may "
        "change), or pass just --name and --resume."
    )
    # Compared before validation, so a changed option is named as such even when it would not fit the saved run
    saved_values = previous.model_dump()
    given = {name: value for name, value in options.items() if value is not None and name in names}
    if any(_dotted_value(saved_values, names[name]) != value for name, value in given.items() if name not in RESUMABLE):
        raise other_options
    spec = _resolve(spec_cls, previous, {k: v for k, v in options.items() if k != "overwrite"}, names)
    if spec.model_copy(update={"steps": previous.steps}).model_dump() != previous.model_dump():
        raise other_options
    write_atomic(saved, spec.to_yaml())
    return spec, RunFolder.open(run_dir)


@contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _vec_env(spec: EnvSpec, seed: int) -> Any:
    env = DummyVecEnv([lambda: make_env(spec, seed=seed)])
    env.seed(seed)
    return env


def _eval_spec(spec: EnvSpec, params: dict[str, float] | None = None) -> EnvSpec:
    """Evaluation uses the nominal parameters (no randomisation)."""
    return spec.model_copy(update={"randomize": {}, "params": {**spec.params, **(params or {})}})


def _open_run(spec: Any, *, default_name: str) -> tuple[RunFolder, Any]:
    """Claim a fresh run folder (named, or `default_name`) and write the resolved config into it."""
    name = spec.run.name or default_name
    spec = spec.model_copy(update={"run": spec.run.model_copy(update={"name": name})})
    folder = RunFolder.claim(spec.run.output_dir, name, overwrite=spec.run.overwrite, kind="rl")
    write_atomic(folder.path / "config.yaml", spec.to_yaml())
    return folder, spec


def _learn(
    model: Any,
    spec: PretrainSpec | TransferSpec,
    *,
    algo: AlgoConfig,
    eval_env: Any,
    eval_seed: int,
    checkpoint_dir: Path,
    points: list[dict] | None,
    description: str,
    run_id: str | None,
    curriculum: Curriculum | None = None,
) -> list[dict[str, float]]:
    """Train `model` up to spec.steps total environment steps (continuing from model.num_timesteps)."""
    episodes = spec.eval.episodes
    curve = LearningCurve(eval_env, every=spec.eval.every, episodes=episodes, seed=eval_seed, points=points)

    def state() -> dict[str, Any]:
        return {"curve": curve.points, "curriculum": curriculum.state() if curriculum else None, "run_id": run_id}

    callbacks = [curve]
    if curriculum is not None:
        callbacks.append(CurriculumCallback(curriculum, base_params=spec.env.params))
    every = spec.checkpoint_every
    callbacks.append(CheckpointCallback(checkpoint_dir, every=every, algo=algo, env=spec.env, state=state))
    remaining = spec.steps - int(model.num_timesteps)
    with progress_bar(description, total=max(remaining, 0)) as advance:
        if remaining > 0:
            callbacks.append(ProgressCallback(advance))
            model.learn(
                total_timesteps=remaining,
                callback=CallbackList(callbacks),
                reset_num_timesteps=model.num_timesteps == 0,
            )
        elif not curve.points:
            curve.points.append(evaluate(model, eval_env, episodes=episodes, seed=eval_seed))
    return curve.points


def _checkpoint_state(directory: Path, *, run_id: str | None) -> dict[str, Any] | None:
    """The training state saved with the checkpoint in `directory` (None when there is none); a checkpoint
    stamped by another run is refused."""
    if not (readable_folder(directory) / INFO_FILE).is_file():
        return None
    state = read_policy_info(directory).get("state") or {}
    if run_id and state.get("run_id") and state["run_id"] != run_id:
        raise ArtifactError(
            f"The checkpoint {directory} belongs to another run (id {state['run_id']}, this run is {run_id}); "
            "remove it or start a new run."
        )
    return state


def _resume_note(log: Any, directory: Path, model: Any | None) -> int:
    """Say where a resumed run continues from; returns that step (0 when no checkpoint was found)."""
    if model is None:
        log.warning("--resume: no checkpoint in %s; training starts from step 0", directory)
        return 0
    log.info("resumed from %s at step %d", directory, model.num_timesteps)
    return int(model.num_timesteps)


def pretrain(
    *, config: PretrainSpec | str | Path | None = None, resume: bool = False, **options: Any
) -> PretrainResult:
    """Train a policy on a source environment and write runs/NAME with a policy artifact.

    Args:
        config: a PretrainSpec or YAML file; options override it.
        resume: continue runs/NAME from its last checkpoint (with the SAC / DQN replay buffer).
        **options: env, algo (ppo|sac|dqn), steps, params, randomize, obs_noise, action_delay,
            actuator_strength, max_episode_steps, net_arch, algo_kwargs, eval_every, eval_episodes,
            curriculum (dict with stages, threshold, window), checkpoint_every, name, output_dir, seed, overwrite.

    Example::

        result = pretrain(env="CartPole-v1", algo="ppo", steps=20_000, name="cartpole")
    """
    spec, folder = _resolve_run(PretrainSpec, config, options, PRETRAIN_OPTIONS, resume=resume)
    if folder is None:
        folder, spec = _open_run(spec, default_name=unique_run_name(spec.env.id, spec.algo.name))
    run_dir = folder.path
    started = time.perf_counter()
    seed = spec.run.seed
    curriculum = Curriculum(spec.curriculum) if spec.curriculum else None
    final_params = spec.curriculum.stages[-1] if spec.curriculum else None
    checkpoint_dir = run_dir / "checkpoints" / "latest"
    resumed_from = None
    with folder.in_progress(), run_log(run_dir) as log, _torch_threads(TORCH_THREADS):
        env = _vec_env(spec.env, seed)
        eval_env = _vec_env(_eval_spec(spec.env, final_params), seed + EVAL_SEED_OFFSET)
        state = _checkpoint_state(checkpoint_dir, run_id=folder.run_id) if resume else None
        if state is not None:
            model, _info = load_policy(checkpoint_dir, env=env, seed=seed, target_id=spec.env.id, optimizer=True)
            if curriculum is not None and state.get("curriculum"):
                curriculum.load_state(state["curriculum"])
        else:
            model = build_model(spec.algo, env=env, seed=seed)
        if resume:
            resumed_from = _resume_note(log, checkpoint_dir, model if state is not None else None)
        points = _learn(
            model,
            spec,
            algo=spec.algo,
            eval_env=eval_env,
            eval_seed=seed + EVAL_SEED_OFFSET,
            checkpoint_dir=checkpoint_dir,
            curriculum=curriculum,
            points=state["curve"] if state else None,
            description=f"pretrain {spec.algo.name} on {spec.env.id}",
            run_id=folder.run_id,
        )
        extra = {"curve": points, "curriculum": curriculum.state() if curriculum else None}
        policy_dir = save_policy(model, run_dir / "policy", algo=spec.algo, env=spec.env, extra=extra)
        metrics = {
            "env": spec.env.id,
            "algo": spec.algo.name,
            "steps": int(model.num_timesteps),
            "final_return": points[-1],
            "best_return": max(point["mean"] for point in points),
            "curriculum": curriculum.state() | {"final_stage_reached": curriculum.finished} if curriculum else None,
            "seconds": time.perf_counter() - started,
            "resumed_from_step": resumed_from,
        }
        write_json(run_dir / "metrics.json", metrics)
        write_json(run_dir / "curves.json", {"source": {"seeds": {str(seed): points}}})
        log.info(
            "pretrained %s on %s for %d steps: return %.1f",
            spec.algo.name,
            spec.env.id,
            model.num_timesteps,
            points[-1]["mean"],
        )
    return PretrainResult(run_dir=run_dir, policy_dir=policy_dir, metrics=metrics, spec=spec)


def _arm(
    spec: TransferSpec,
    *,
    arm: str,
    seed: int,
    folder: RunFolder,
    source: Path,
    resume: bool,
    zero_shot_grid: list[int],
) -> tuple[list[dict[str, float]], Any]:
    """Train one arm (transfer or scratch) for one seed; finished arms are read back on resume."""
    run_dir = folder.path
    done = run_dir / "seeds" / f"{arm}-seed{seed}.json"
    if resume and done.is_file():
        return json.loads(done.read_text(encoding="utf-8"))["curve"], None
    checkpoint_dir = run_dir / "checkpoints" / f"{arm}-seed{seed}"
    state = _checkpoint_state(checkpoint_dir, run_id=folder.run_id) if resume else None
    env = _vec_env(spec.env, seed)
    eval_seed = seed + EVAL_SEED_OFFSET
    eval_env = _vec_env(_eval_spec(spec.env), eval_seed)
    info = read_policy_info(source)
    algo = AlgoConfig.model_validate(info["algo"])
    strategy = get_rl_strategy(spec.strategy)
    if state is not None:
        model, _ = load_policy(
            checkpoint_dir, env=env, seed=seed, target_id=spec.env.id, kwargs=spec.algo_kwargs, optimizer=True
        )
        if arm == "transfer" and strategy.freezes:  # requires_grad is not part of the saved weights
            strategy.prepare(model)
    elif arm == "transfer":
        model, _ = load_policy(source, env=env, seed=seed, target_id=spec.env.id, kwargs=spec.algo_kwargs)
        model.num_timesteps = 0
        strategy.prepare(model)
    else:
        model = build_model(algo, env=env, seed=seed, kwargs=spec.algo_kwargs)
    if resume:
        _resume_note(run_logger, checkpoint_dir, model if state is not None else None)
    if arm == "transfer" and not strategy.trains:
        first = evaluate(model, eval_env, episodes=spec.eval.episodes, seed=eval_seed)
        curve = [{**first, "step": step} for step in zero_shot_grid]
    else:
        curve = _learn(
            model,
            spec,
            algo=algo,
            eval_env=eval_env,
            eval_seed=eval_seed,
            checkpoint_dir=checkpoint_dir,
            points=state["curve"] if state else None,
            description=f"{arm} seed {seed} on {spec.env.id}",
            run_id=folder.run_id,
        )
    done.parent.mkdir(exist_ok=True)
    write_json(done, {"arm": arm, "seed": seed, "curve": curve})
    if checkpoint_dir.exists():
        shutil.rmtree(checkpoint_dir)
    return curve, model


def transfer(
    source: str | Path | None = None,
    *,
    config: TransferSpec | str | Path | None = None,
    resume: bool = False,
    **options: Any,
) -> TransferResult:
    """Continue a source policy on a target environment and compare it with learning from scratch.

    Args:
        source: a policy folder or pretrain run folder.
        config: a TransferSpec or YAML file; options override it.
        resume: reuse finished seeds of runs/NAME and continue the unfinished one from its checkpoint.
        **options: env, strategy (zero-shot|finetune|freeze-features|reinit-head), steps, seeds, params,
            randomize, obs_noise, action_delay, actuator_strength, max_episode_steps, threshold, baseline,
            algo_kwargs, eval_every, eval_episodes, checkpoint_every, name, output_dir, overwrite.

    Example::

        result = transfer("runs/cartpole", env="CartPole-v1", params={"length": 1.0}, steps=5_000)
    """
    if source is not None:
        options["source"] = str(source)
    spec, folder = _resolve_run(TransferSpec, config, options, TRANSFER_OPTIONS, resume=resume)
    policy_source = resolve_policy_dir(spec.source)
    info = read_policy_info(policy_source)
    threshold = _check_target_env(spec, info)  # before any folder is made or step is taken
    if folder is None:
        default_name = unique_run_name(info["env"]["id"], "to", spec.env.id, spec.strategy)
        folder, spec = _open_run(spec, default_name=default_name)
    run_dir, started = folder.path, time.perf_counter()
    arms = ["scratch", "transfer"] if spec.baseline else ["transfer"]
    curves: dict[str, Any] = {"source": {"seeds": {"0": info.get("curve", [])}}, "transfer": {"seeds": {}}}
    curves |= {"scratch": {"seeds": {}}} if spec.baseline else {}
    per_seed = []
    with folder.in_progress(), run_log(run_dir) as log, _torch_threads(TORCH_THREADS):
        for index, seed in enumerate(spec.seeds):
            grid = [0]  # zero-shot evaluates once and repeats the value on the scratch curve's steps
            for arm in arms:
                curve, model = _arm(
                    spec, arm=arm, seed=seed, folder=folder, source=policy_source, resume=resume, zero_shot_grid=grid
                )
                curves[arm]["seeds"][str(seed)] = curve
                grid = [point["step"] for point in curve]
            if index == 0 and model is not None:
                save_policy(
                    model,
                    run_dir / "policy",
                    algo=AlgoConfig.model_validate(info["algo"]),
                    env=spec.env,
                    extra={"curve": curve, "transferred_from": str(policy_source), "strategy": spec.strategy},
                )
            if spec.baseline:
                per_seed.append(_seed_metrics(curve, curves["scratch"]["seeds"][str(seed)], threshold) | {"seed": seed})
                log.info(
                    "seed %d: jumpstart %.1f, asymptotic %.1f",
                    seed,
                    *itemgetter("jumpstart", "asymptotic")(per_seed[-1]),
                )
        metrics: dict[str, Any] = {
            "source_env": info["env"]["id"],
            "target_env": spec.env.id,
            "strategy": spec.strategy,
            "steps": spec.steps,
            "threshold": threshold,
            "per_seed": per_seed,
            "summary": summarize_seeds(per_seed) if per_seed else None,
            "seconds": time.perf_counter() - started,
        }
        write_json(run_dir / "metrics.json", metrics)
        write_report(run_dir, metrics=metrics, curves=curves)  # adds the seed bands to `curves`
        write_json(run_dir / "curves.json", curves)
        if metrics["summary"] and metrics["summary"]["negative_transfer"]:
            log.warning("NEGATIVE TRANSFER: %s -> %s with %s", info["env"]["id"], spec.env.id, spec.strategy)
    policy_dir = run_dir / "policy"
    if not policy_dir.is_dir():
        raise ArtifactError(
            f"{policy_dir} is missing: the first seed finished in an earlier run; rerun without --resume."
        )
    return TransferResult(run_dir=run_dir, policy_dir=policy_dir, metrics=metrics, curves=curves, spec=spec)


def _check_target_env(spec: TransferSpec, info: dict[str, Any]) -> float | None:
    """Refuse a target whose spaces the policy cannot act in; return the success threshold for the metrics."""
    probe = make_env(spec.env, monitor=False)
    try:
        check_spaces(
            policy=info["spaces"],
            observation_space=probe.observation_space,
            action_space=probe.action_space,
            source_env=info["env"]["id"],
            target_env=spec.env.id,
        )
        return spec.threshold if spec.threshold is not None else getattr(probe.spec, "reward_threshold", None)
    finally:
        probe.close()


def _seed_metrics(transfer_curve: list[dict], scratch_curve: list[dict], threshold: float | None) -> dict[str, Any]:
    """Metrics on the evaluation steps both curves share."""
    scratch_by_step = {point["step"]: point["mean"] for point in scratch_curve}
    shared = [point for point in transfer_curve if point["step"] in scratch_by_step]
    return transfer_metrics(
        steps=[point["step"] for point in shared],
        transfer=[point["mean"] for point in shared],
        scratch=[scratch_by_step[point["step"]] for point in shared],
        threshold=threshold,
    )
