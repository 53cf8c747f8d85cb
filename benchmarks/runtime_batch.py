"""Why batching did not pay in serve_load on the shared machine: the runtime alone, in one process, predicting the
same 32 inputs in batches of 32, 8 and 1 (rounds alternate, so machine noise hits every size alike).

Run:  .venv/bin/python benchmarks/bundle_quantised.py   # writes the bundles first
      .venv/bin/python benchmarks/runtime_batch.py [--work /tmp/tk-bundles] [--rounds 3]
Writes benchmarks/results/runtime_batch.json (inputs per second per batch size and round).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = (32, 8, 1)


def main() -> None:
    import pandas as pd

    from transferkit.runtime import load_bundle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/tk-bundles"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load_before = os.getloadavg()
    texts = pd.read_csv(args.work / "reviews.csv").query("split == 'test'").review.tolist()[:32]
    images = [p.read_bytes() for p in sorted((args.work / "digits-test").glob("*.png"))[:32]]
    rows = []
    for name, items in (("text", texts), ("image", images)):
        bundle = load_bundle(args.work / f"{name}-bundle", precision="fp32")
        bundle.predict_proba(items)  # warm-up
        rates: dict[int, list[float]] = {size: [] for size in SIZES}
        for _ in range(args.rounds):
            for size in SIZES:
                started = time.perf_counter()
                bundle.predict_proba(items, batch_size=size)
                rates[size].append(round(len(items) / (time.perf_counter() - started), 2))
        medians = {size: sorted(values)[len(values) // 2] for size, values in rates.items()}
        rows.append({"model": name, "inputs": len(items), "inputs_per_s": rates, "median": medians})
        print(name, rates, flush=True)
    payload = {
        "benchmark": "runtime_batch",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": load_before,
            "load_average_at_end": os.getloadavg(),
        },
        "settings": {"rounds": args.rounds, "graph": "fp32", "threads": "onnxruntime default (all cores)"},
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "runtime_batch.json").write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
