"""Transfer vs learning from scratch on four environment pairs, 5 seeds each (Taylor & Stone metrics).

Pairs: CartPole pole 0.5 -> 1.0 m; HalfCheetah torso mass x1.5; MiniGrid DoorKey 5x5 -> 8x8 (7x7 partial
views); highway-fast -> merge (kinematics observations). Each task pretrains PPO once on the source, then
fine-tunes on the target and learns from scratch with the same budget and seeds. Budgets are small so the
script finishes in about half an hour on 2 busy CPU cores; raise them with --scale.

Run:  OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/rl_transfer.py [--tasks cartpole,halfcheetah] [--scale 2]
Writes benchmarks/results/rl_transfer.json (inputs, machine, figures), updated after every task.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

RESULTS = Path(__file__).resolve().parent / "results" / "rl_transfer.json"
SEEDS = [0, 1, 2, 3, 4]
PPO_SMALL = {"n_steps": 512, "batch_size": 64, "n_epochs": 4}

# Each task: source / target env specs, PPO settings, budgets (environment steps) and the time-to-threshold return.
TASKS = {
    "cartpole": {
        "source": {"env": "CartPole-v1"},
        "target": {"env": "CartPole-v1", "params": {"length": 1.0}},
        "net_arch": [64, 64],
        "algo_kwargs": {**PPO_SMALL, "learning_rate": 0.001},
        "pretrain_steps": 15_000,
        "transfer_steps": 4_000,
        "eval_every": 1_000,
        "eval_episodes": 3,
        "threshold": 195.0,
    },
    "halfcheetah": {
        "source": {"env": "HalfCheetah-v5", "max_episode_steps": 250},
        "target": {"env": "HalfCheetah-v5", "max_episode_steps": 250, "params": {"mass_scale.torso": 1.5}},
        "net_arch": [64, 64],
        "algo_kwargs": {**PPO_SMALL, "learning_rate": 0.0003},
        "pretrain_steps": 20_000,
        "transfer_steps": 4_000,
        "eval_every": 2_000,
        "eval_episodes": 2,
        "threshold": 0.0,
    },
    "minigrid": {
        "source": {"env": "MiniGrid-DoorKey-5x5-v0"},
        "target": {"env": "MiniGrid-DoorKey-8x8-v0"},
        "net_arch": [64, 64],
        "algo_kwargs": {**PPO_SMALL, "learning_rate": 0.001, "ent_coef": 0.01},
        "pretrain_steps": 20_000,
        "transfer_steps": 4_000,
        "eval_every": 2_000,
        "eval_episodes": 2,
        "threshold": 0.5,
    },
    "highway": {
        "source": {"env": "highway-fast-v0"},
        "target": {"env": "merge-v0"},
        "net_arch": [64, 64],
        "algo_kwargs": {"n_steps": 64, "batch_size": 32, "n_epochs": 4, "learning_rate": 0.001},
        "pretrain_steps": 384,
        "transfer_steps": 128,
        "eval_every": 128,
        "eval_episodes": 2,
        "threshold": 10.0,
    },
}


def _machine() -> dict:
    import torch

    return {
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
        "torch": torch.__version__,
        "torch_threads": 1,
        **{name: version(name) for name in ("gymnasium", "stable-baselines3", "mujoco", "minigrid", "highway-env")},
    }


def run_task(name: str, task: dict, *, scale: float, output: Path) -> dict:
    from transferkit.rl import pretrain, transfer

    started = time.perf_counter()
    steps = {key: int(task[key] * scale) for key in ("pretrain_steps", "transfer_steps")}
    source = pretrain(
        **task["source"],
        algo="ppo",
        steps=steps["pretrain_steps"],
        net_arch=task["net_arch"],
        algo_kwargs=task["algo_kwargs"],
        eval_every=max(steps["pretrain_steps"] // 4, 1),
        eval_episodes=task["eval_episodes"],
        name=f"{name}-source",
        output_dir=str(output),
        seed=0,
    )
    pretrain_seconds = time.perf_counter() - started
    result = transfer(
        source.policy_dir,
        **task["target"],
        strategy="finetune",
        steps=steps["transfer_steps"],
        seeds=SEEDS,
        eval_every=task["eval_every"],
        eval_episodes=task["eval_episodes"],
        threshold=task["threshold"],
        name=f"{name}-transfer",
        output_dir=str(output),
    )
    summary = result.metrics["summary"]
    figures = {
        key: summary[key]
        for key in (
            "jumpstart",
            "asymptotic",
            "asymptotic_transfer",
            "asymptotic_scratch",
            "area_ratio",
            "transfer_ratio",
            "time_to_threshold_ratio",
            "time_to_threshold_transfer",
            "time_to_threshold_scratch",
        )
        if key in summary
    }
    return {
        "source": task["source"],
        "target": task["target"],
        "algo": "ppo",
        "net_arch": task["net_arch"],
        "algo_kwargs": task["algo_kwargs"],
        **steps,
        "eval_every": task["eval_every"],
        "eval_episodes": task["eval_episodes"],
        "threshold": task["threshold"],
        "seeds": SEEDS,
        "source_final_return": source.metrics["final_return"]["mean"],
        "figures": figures,
        "negative_transfer": summary["negative_transfer"],
        "per_seed": result.metrics["per_seed"],
        "curves": {arm: result.curves[arm]["bands"] for arm in ("transfer", "scratch")},
        "seconds": {"pretrain": pretrain_seconds, "total": time.perf_counter() - started},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS), help="Comma-separated subset of " + ", ".join(TASKS))
    parser.add_argument("--scale", type=float, default=1.0, help="Multiply every step budget.")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results.update(
        {"script": "benchmarks/rl_transfer.py", "strategy": "finetune", "scale": args.scale, "machine": _machine()}
    )
    results.setdefault("tasks", {})
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)  # MuJoCo writes MUJOCO_LOG.TXT into the working directory
        for name in args.tasks.split(","):
            print(f"{name} ...", flush=True)
            results["tasks"][name] = run_task(name, TASKS[name], scale=args.scale, output=Path(scratch) / "runs")
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(results, indent=2) + "\n")
            task = results["tasks"][name]
            jumpstart, asymptotic = task["figures"]["jumpstart"]["mean"], task["figures"]["asymptotic"]["mean"]
            print(f"{name}: jumpstart {jumpstart:.1f}, asymptotic {asymptotic:.1f}, {task['seconds']['total']:.0f} s")


if __name__ == "__main__":
    main()
