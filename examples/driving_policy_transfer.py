"""Driving: a lane-keeping, overtaking policy trained on a highway with randomised traffic, transferred to a
motorway merge (highway-env's highway-fast-v0 -> merge-v0, PPO through stable-baselines3).

The source policy sees a different traffic density each episode (domain randomisation, vehicles_density drawn
from 0.8-1.5); the target is a merge with its own geometry and traffic. `transfer` fine-tunes the source policy
on the merge and, with the same budget and seeds, learns the merge from scratch, then reports jumpstart,
asymptotic return and the area ratio. Each run folder's config.yaml repeats the run (`--config`).

Run: OMP_WAIT_POLICY=PASSIVE python examples/driving_policy_transfer.py [--quick]
Full mode writes examples/results/driving_policy_transfer.json (the numbers in docs/guides/driving.md).
Object detection of vehicles and road objects is not here: it waits for the detection task (issue 24).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from transferkit.rl import pretrain, transfer

NAME = "driving_policy_transfer"
PPO_SMALL = {"n_steps": 64, "batch_size": 32, "n_epochs": 4, "learning_rate": 0.001}  # short episodes, few steps


def options(*, quick: bool) -> tuple[dict, dict]:
    """The source and target runs; each run folder's config.yaml repeats it (`transferkit rl ... --config`)."""
    shared = {"algo_kwargs": PPO_SMALL, "eval_every": 64 if quick else 128, "eval_episodes": 1 if quick else 3}
    source = {
        "env": "highway-fast-v0",
        "randomize": {"vehicles_density": (0.8, 1.5)},  # domain randomisation: drawn anew each episode
        "algo": "ppo",
        "steps": 64 if quick else 1024,
        "net_arch": [64, 64],
        "seed": 0,
        **shared,
    }
    target = {
        "env": "merge-v0",
        "strategy": "finetune",
        "steps": 64 if quick else 384,
        "seeds": [0] if quick else [0, 1, 2],
        "threshold": 10.0,
        **shared,
    }
    return source, target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64 steps, one seed (~1 minute)")
    parser.add_argument("--workdir", type=Path, default=Path("guides") / NAME, help="configs and run folders")
    parser.add_argument("--results", type=Path, help=f"results JSON [examples/results/{NAME}.json; quick: workdir]")
    args = parser.parse_args()
    started = time.perf_counter()
    source_options, target_options = options(quick=args.quick)
    runs = str(args.workdir / "runs")

    source = pretrain(**source_options, name="highway-dr", output_dir=runs, overwrite=True)
    merged = transfer(source.run_dir, **target_options, name="merge", output_dir=runs, overwrite=True)

    summary = merged.metrics["summary"]
    results = {
        "script": f"examples/{NAME}.py",
        "mode": "quick" if args.quick else "full",
        "source": {"env": "highway-fast-v0", "randomize": {"vehicles_density": [0.8, 1.5]}},
        "target": {"env": "merge-v0"},
        "source_final_return": source.metrics.get("final_return", source.metrics.get("final", {})),
        "source_steps": source.spec.steps,
        "transfer_steps": merged.spec.steps,
        "seeds": list(merged.spec.seeds),
        "summary": summary,
        "negative_transfer": summary.get("negative_transfer"),
        "report": str(merged.run_dir / "report.html"),
        "policy": str(merged.policy_dir),
        "seconds": round(time.perf_counter() - started, 1),
    }
    out = args.results or (
        args.workdir / f"{NAME}-quick.json" if args.quick else Path("examples/results") / f"{NAME}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(json.dumps({k: summary[k] for k in list(summary)[:6]}, default=str)[:600])
    verdict = "NEGATIVE transfer" if results["negative_transfer"] else "no negative transfer flagged"
    print(f"{verdict}; policy {results['policy']}; report {results['report']}")
    print(f"Results: {out} ({results['seconds']} s)")


if __name__ == "__main__":
    main()
