"""Healthcare: benign or malignant? Breast-cancer cell measurements (scikit-learn's Wisconsin set, 569 tumours).

From a CSV on disk to a run folder with report.html and an ONNX model, answering a clinician's questions: how
often is a malignant tumour missed (per-class recall), what does the model get wrong and how sure was it (the
report's most-confident mistakes), and do its probabilities mean what they say (ECE before / after temperature
scaling fitted on the validation rows, scored on the test rows).

Run: OMP_WAIT_POLICY=PASSIVE python examples/healthcare_tumours.py [--quick]
Full mode writes examples/results/healthcare_tumours.json (the numbers in docs/guides/healthcare.md).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

import transferkit
from transferkit.evaluation.calibration import temperature_record
from transferkit.export import export_model

NAME = "healthcare_tumours"
CLASSES = ["benign", "malignant"]


def write_table(folder: Path) -> Path:
    """The data as a clinician's export would hold it: one row per tumour, a diagnosis and a fixed split."""
    frame = load_breast_cancer(as_frame=True).frame
    frame["diagnosis"] = frame.pop("target").map({0: "malignant", 1: "benign"})
    rest, test = train_test_split(frame.index, test_size=0.2, stratify=frame["diagnosis"], random_state=0)
    _train, valid = train_test_split(rest, test_size=0.25, stratify=frame.loc[rest, "diagnosis"], random_state=0)
    frame["split"] = "train"
    frame.loc[valid, "split"] = "valid"
    frame.loc[test, "split"] = "test"
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "tumours.csv", index=False)
    for split in ("valid", "test"):  # the held-out rows, without the split column, for predict
        frame[frame["split"] == split].drop(columns="split").to_csv(folder / f"{split}.csv", index=False)
    return folder / "tumours.csv"


def probabilities(model_dir: Path, csv: Path) -> tuple[np.ndarray, np.ndarray]:
    """True class index and per-class probabilities of the held-out rows in `csv`."""
    table = pd.read_csv(csv)
    predicted = transferkit.predict(model_dir, [csv])
    y = table["diagnosis"].map(CLASSES.index).to_numpy()
    return y, predicted[[f"prob_{name}" for name in CLASSES]].to_numpy()


def summary(run_dir: Path, metrics: dict) -> dict:
    test = metrics["test"]
    return {
        "run_dir": str(run_dir),
        "accuracy": test["accuracy"],
        "balanced_accuracy": test["balanced_accuracy"],
        "roc_auc": test.get("roc_auc"),
        "recall": {name: test["per_class"][name]["recall"] for name in CLASSES},
        "confusion_matrix": test["confusion_matrix"],
        "ece": test["ece"],
        "threshold": metrics.get("threshold"),
        "strategy": metrics["strategy"].get("chosen", metrics["strategy"]["name"]),
        "test_rows": test["num_examples"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one fit, no argmax comparison (~1 minute)")
    parser.add_argument("--workdir", type=Path, default=Path("guides") / NAME, help="data and run folders")
    parser.add_argument("--results", type=Path, help=f"results JSON [examples/results/{NAME}.json; quick: workdir]")
    args = parser.parse_args()
    started = time.perf_counter()
    data = write_table(args.workdir / "data")
    runs = args.workdir / "runs"
    common = {"label_column": "diagnosis", "split_column": "split", "output_dir": str(runs), "overwrite": True}

    arms = {}
    if not args.quick:  # the plain model first: argmax on unweighted training
        plain = transferkit.fit(str(data), name="tumours-argmax", **common)
        arms["argmax"] = summary(plain.run_dir, plain.metrics)
    # The table is read as feature columns (no text column); strategy auto picks the head.
    run = transferkit.fit(str(data), name="tumours", class_weight="balanced", threshold="auto", **common)
    arms["balanced_auto_threshold"] = summary(run.run_dir, run.metrics)

    # Calibration: temperature fitted on the validation rows, ECE and log loss scored on the test rows.
    calibration = temperature_record(
        probabilities(run.model_dir, data.parent / "valid.csv"),
        probabilities(run.model_dir, data.parent / "test.csv"),
        fitted_on="valid",
    )
    mistakes = json.loads((run.run_dir / "mistakes.json").read_text())
    confident = [{k: m[k] for k in ("true", "predicted", "confidence")} for m in mistakes]

    # ONNX with a parity check on real test rows (read as predict reads them: one JSON row per tumour).
    check = transferkit.predict(run.model_dir, [data.parent / "test.csv"])["input"].tolist()[:8]
    exported = export_model(run.model_dir, format="onnx", check_inputs=check)
    onnx = {"path": str(exported.path), "max_abs_difference": exported.max_abs_diff}

    results = {
        "script": f"examples/{NAME}.py",
        "mode": "quick" if args.quick else "full",
        "data": {"rows": 569, "classes": run.metrics["data"]["class_counts"], "splits": run.metrics["data"]["splits"]},
        "arms": arms,
        "calibration": calibration,
        "most_confident_mistakes": confident,
        "onnx": onnx,
        "report": str(run.run_dir / "report.html"),
        "seconds": round(time.perf_counter() - started, 1),
    }
    out = args.results or (
        args.workdir / f"{NAME}-quick.json" if args.quick else Path("examples/results") / f"{NAME}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")

    best = arms["balanced_auto_threshold"]
    print(
        f"Test: accuracy {best['accuracy']:.3f}, malignant recall {best['recall']['malignant']:.3f}, "
        f"benign recall {best['recall']['benign']:.3f} ({best['test_rows']} tumours)"
    )
    if "argmax" in arms:
        missed = arms["argmax"]["recall"]["malignant"], best["recall"]["malignant"]
        verdict = "helped" if missed[1] > missed[0] else "did NOT help"
        print(f"Balanced weights + tuned threshold {verdict} malignant recall: {missed[0]:.3f} -> {missed[1]:.3f}")
    print(
        f"ECE on test {calibration['ece_before']:.3f} -> {calibration['ece_after']:.3f} after temperature "
        f"{calibration['temperature']} (fitted on validation rows)"
    )
    print(f"{len(confident)} test mistakes; the most confident: {confident[0] if confident else 'none'}")
    print(f"ONNX {onnx['path']} (parity {onnx['max_abs_difference']:.1e}); report {results['report']}")
    print(f"Results: {out} ({results['seconds']} s)")


if __name__ == "__main__":
    main()
