"""`transferkit rl ...`: pretrain a policy and transfer it to a target environment (parsing and printing only).

Imports only typer and rich, so `transferkit --help` works without the `rl` extra; the commands raise
MissingDependencyError naming `pip install 'transferkit[rl]'` when gymnasium / stable-baselines3 are missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml
from rich.table import Table

from transferkit.errors import ConfigError
from transferkit.terminal import stdout_console

app = typer.Typer(
    name="rl",
    help="Transfer between reinforcement-learning environments (needs the rl extra).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
out = stdout_console()


def _pairs(items: list[str] | None, option: str) -> dict[str, str]:
    pairs = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ConfigError(f"The '{option}' option takes NAME=VALUE; got {item!r} (e.g. {option} length=1.0).")
        pairs[key.strip()] = value.strip()
    return pairs


def _float(value: str, option: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"The '{option}' option needs a number; got {value!r}.") from None


def parse_params(items: list[str] | None, option: str = "--param") -> dict[str, float] | None:
    """``["length=1.0"]`` -> ``{"length": 1.0}``; None when no item was given."""
    if not items:
        return None
    return {key: _float(value, option) for key, value in _pairs(items, option).items()}


def parse_ranges(items: list[str] | None) -> dict[str, tuple[float, float]] | None:
    """``["length=0.4:0.8"]`` -> ``{"length": (0.4, 0.8)}``."""
    if not items:
        return None
    ranges = {}
    for key, value in _pairs(items, "--randomize").items():
        low, sep, high = value.partition(":")
        if not sep:
            raise ConfigError(f"The '--randomize' option takes NAME=LOW:HIGH; got {key}={value}.")
        ranges[key] = (_float(low, "--randomize"), _float(high, "--randomize"))
    return ranges


def parse_kwargs(items: list[str] | None) -> dict[str, Any] | None:
    """``["n_steps=256", "gamma=0.98"]`` -> ``{"n_steps": 256, "gamma": 0.98}`` (values read as YAML)."""
    if not items:
        return None
    return {key: yaml.safe_load(value) for key, value in _pairs(items, "--algo-kwarg").items()}


def parse_ints(value: str | None, option: str) -> list[int] | None:
    if value is None:
        return None
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"The '{option}' option takes comma-separated integers; got {value!r}.") from None


def _curriculum(stages: list[str] | None, threshold: float | None, window: int | None) -> dict[str, Any] | None:
    if not stages:
        if threshold is not None:
            raise ConfigError("--curriculum-threshold needs at least one --stage NAME=VALUE[,NAME=VALUE].")
        return None
    if threshold is None:
        raise ConfigError("A curriculum (--stage) needs --curriculum-threshold: the mean return that advances it.")
    parsed = [parse_params(stage.split(","), "--stage") for stage in stages]
    return {"stages": parsed, "threshold": threshold, **({"window": window} if window else {})}


# The flags read here into an option of another name or shape; every other flag has the name of its option.
PARSED_FLAGS = ("param", "algo_kwarg", "stage", "curriculum_threshold", "curriculum_window", "config", "resume")


def _options(command: typer.Context, **parsed: Any) -> dict[str, Any]:
    """The command's flags as `pretrain` / `transfer` options; `parsed` adds those read from text here."""
    given = command.params
    options = {key: value for key, value in given.items() if key not in PARSED_FLAGS}
    options |= {"params": parse_params(given["param"]), "randomize": parse_ranges(given["randomize"])}
    return options | {"algo_kwargs": parse_kwargs(given["algo_kwarg"]), **parsed}


_ENV_HELP = "gymnasium id, e.g. CartPole-v1, HalfCheetah-v5, MiniGrid-DoorKey-5x5-v0, highway-fast-v0."
_PARAM_HELP = "Physics override NAME=VALUE applied at reset (repeatable), e.g. length=1.0, mass_scale.torso=1.5."
_RANDOMIZE_HELP = "Domain randomisation NAME=LOW:HIGH drawn each episode (repeatable)."
# Options both commands share (typer reads these defaults; they are never mutated).
_PARAM = typer.Option(None, help=_PARAM_HELP)
_RANDOMIZE = typer.Option(None, help=_RANDOMIZE_HELP)
_OBS_NOISE = typer.Option(None, help="Std of Gaussian observation noise (sim-to-real gap).")
_ACTION_DELAY = typer.Option(None, help="Actions arrive this many steps late.")
_ACTUATOR = typer.Option(None, help="Scale of continuous actions.")
_MAX_STEPS = typer.Option(None, help="Episode step limit.")
_EVAL_EVERY = typer.Option(None, help="Evaluate every N steps [2000].")
_EVAL_EPISODES = typer.Option(None, help="Episodes per evaluation [5].")
_CHECKPOINT = typer.Option(None, help="Checkpoint every N steps [10000].")
_CONFIG = typer.Option(None, "--config", help="YAML run config; flags override it.")
_NAME = typer.Option(None, help="Run name (folder under --output-dir).")
_OUTPUT_DIR = typer.Option(None, help="Where run folders go [runs].")
_OVERWRITE = typer.Option(None, "--overwrite", help="Replace an existing run folder.")


@app.command(epilog="Example: transferkit rl pretrain --env CartPole-v1 --algo ppo --steps 20000 --name cartpole")
def pretrain(
    command: typer.Context,
    env: str = typer.Option(None, help=_ENV_HELP),
    algo: str = typer.Option(None, help="ppo, sac or dqn [ppo]."),
    steps: int = typer.Option(None, help="Environment steps [20000]."),
    param: list[str] = _PARAM,
    randomize: list[str] = _RANDOMIZE,
    obs_noise: float = _OBS_NOISE,
    action_delay: int = _ACTION_DELAY,
    actuator_strength: float = _ACTUATOR,
    max_episode_steps: int = _MAX_STEPS,
    stage: list[str] = typer.Option(None, help="Curriculum stage NAME=VALUE[,NAME=VALUE], easy to hard (repeatable)."),
    curriculum_threshold: float = typer.Option(None, help="Mean training return that advances the curriculum."),
    curriculum_window: int = typer.Option(None, help="Episodes averaged for the curriculum threshold [10]."),
    net_arch: str = typer.Option(None, help="Hidden layer sizes, e.g. 64,64."),
    algo_kwarg: list[str] = typer.Option(None, help="SB3 constructor argument NAME=VALUE (repeatable)."),
    eval_every: int = _EVAL_EVERY,
    eval_episodes: int = _EVAL_EPISODES,
    checkpoint_every: int = _CHECKPOINT,
    config: Path = _CONFIG,
    name: str = _NAME,
    output_dir: str = _OUTPUT_DIR,
    seed: int = typer.Option(None, help="Random seed."),
    overwrite: bool = _OVERWRITE,
    resume: bool = typer.Option(False, "--resume", help="Continue runs/NAME from its last checkpoint."),
) -> None:
    """Train a policy on a source environment; writes runs/NAME with policy/ (safetensors + JSON)."""
    from transferkit.rl.train import pretrain as run_pretrain

    curriculum = _curriculum(stage, curriculum_threshold, curriculum_window)
    options = _options(command, net_arch=parse_ints(net_arch, "--net-arch"), curriculum=curriculum)
    result = run_pretrain(config=config, resume=resume, **options)
    if resume:
        step = result.metrics.get("resumed_from_step") or 0
        out.print(f"Resumed from the checkpoint at step {step}." if step else "No checkpoint found: trained from 0.")
    final = result.metrics["final_return"]
    out.print(
        f"{result.spec.algo.name.upper()} on {result.spec.env.id}: return {final['mean']:.1f} ± {final['std']:.1f} "
        f"after {result.metrics['steps']} steps ({result.metrics['seconds']:.0f} s)."
    )
    if result.metrics["curriculum"]:
        curriculum = result.metrics["curriculum"]
        out.print(f"Curriculum: stage {curriculum['stage'] + 1} of {len(result.spec.curriculum.stages)} reached.")
    out.print(f"Policy: {result.policy_dir}")


def _summary_table(metrics: dict[str, Any]) -> Table:
    from transferkit.rl.report import METRIC_ROWS

    table = Table(title=f"{metrics['source_env']} -> {metrics['target_env']} ({metrics['strategy']}) vs scratch")
    for column in ("metric", "mean", "95% interval"):
        table.add_column(column)
    summary = metrics["summary"]
    for key in METRIC_ROWS:
        if key in summary and summary[key]["mean"] is not None:
            cell = summary[key]
            interval = f"[{cell['low']:.3g}, {cell['high']:.3g}]" if cell["low"] is not None else "-"
            table.add_row(key, f"{cell['mean']:.3g}", interval)
    return table


@app.command(
    epilog="Example: transferkit rl transfer --from runs/cartpole --env CartPole-v1 --param length=1.0 "
    "--strategy finetune --steps 10000"
)
def transfer(
    command: typer.Context,
    source: str = typer.Option(None, "--from", help="Policy folder or pretrain run folder."),
    env: str = typer.Option(None, help="Target " + _ENV_HELP),
    strategy: str = typer.Option(None, help="zero-shot, finetune, freeze-features or reinit-head [finetune]."),
    steps: int = typer.Option(None, help="Target environment steps per seed [20000]."),
    seeds: str = typer.Option(None, help="Comma-separated seeds [0,1,2]."),
    param: list[str] = _PARAM,
    randomize: list[str] = _RANDOMIZE,
    obs_noise: float = _OBS_NOISE,
    action_delay: int = _ACTION_DELAY,
    actuator_strength: float = _ACTUATOR,
    max_episode_steps: int = _MAX_STEPS,
    threshold: float = typer.Option(None, help="Return for time-to-threshold [the env's reward threshold]."),
    baseline: bool = typer.Option(None, "--baseline/--no-baseline", help="Also learn from scratch [on]."),
    algo_kwarg: list[str] = typer.Option(None, help="Override an SB3 argument NAME=VALUE (repeatable)."),
    eval_every: int = _EVAL_EVERY,
    eval_episodes: int = _EVAL_EPISODES,
    checkpoint_every: int = _CHECKPOINT,
    config: Path = _CONFIG,
    name: str = _NAME,
    output_dir: str = _OUTPUT_DIR,
    overwrite: bool = _OVERWRITE,
    resume: bool = typer.Option(False, "--resume", help="Reuse finished seeds of runs/NAME; continue the rest."),
) -> None:
    """Continue a source policy on a target environment and measure transfer against learning from scratch."""
    from transferkit.rl.train import transfer as run_transfer

    options = _options(command, seeds=parse_ints(seeds, "--seeds"))
    result = run_transfer(config=config, resume=resume, **options)
    if result.metrics["summary"]:
        out.print(_summary_table(result.metrics))
        if result.metrics["summary"]["negative_transfer"]:
            out.print("NEGATIVE TRANSFER: the transferred policy gathered less reward than learning from scratch.")
    else:
        first = next(iter(result.curves["transfer"]["seeds"].values()))
        out.print(f"Transferred policy: return {first[-1]['mean']:.1f} on {result.spec.env.id} (no baseline).")
    out.print(f"Run folder: {result.run_dir} (report.html, metrics.json, curves.json)")
