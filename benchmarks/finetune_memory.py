"""Peak memory of fine-tuning bundled MiniLM on CPU at batch 32, length 128 (target: under 4 GB peak RSS).

Each configuration runs in a fresh process (peak RSS is per process) on real fine-food reviews; batches
are padded to their longest review and truncated at 128 tokens. Writes benchmarks/results/finetune_memory.json.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/finetune_memory.py [--limit 160] [--strategies finetune,two-stage]
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

RESULTS = Path(__file__).parent / "results" / "finetune_memory.json"
TARGET_MIB = 4096

CHILD = """
import json, resource, sys
import transferkit
result = transferkit.fit(
    "builtin:fine-food", backbone="bundled:minilm", strategy=sys.argv[2], limit=int(sys.argv[3]), test_limit=64,
    max_length=128, train_batch_size=32, epochs=1, lr=1e-4, output_dir=sys.argv[1], name="memory", overwrite=True,
)
print(json.dumps({
    "test_accuracy": result.metrics["test"]["accuracy"],
    "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
}))
"""


def run_once(strategy: str, limit: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ, TRANSFERKIT_CACHE=scratch, TRANSFERKIT_PROGRESS="0", OMP_WAIT_POLICY="PASSIVE")
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, scratch, strategy, str(limit)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row.update(
            strategy=strategy,
            limit=limit,
            seconds=round(time.perf_counter() - started, 1),
            under_target=row["peak_rss_mib"] < TARGET_MIB,
        )
        return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=160)
    parser.add_argument("--strategies", default="finetune,two-stage")
    args = parser.parse_args()
    rows = []
    for strategy in args.strategies.split(","):
        rows.append(run_once(strategy, args.limit))
        print(rows[-1], flush=True)
    payload = {
        "script": "benchmarks/finetune_memory.py",
        "inputs": {"backbone": "bundled:minilm", "batch_size": 32, "max_length": 128, "limit": args.limit},
        "target_peak_rss_mib": TARGET_MIB,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "rows": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
