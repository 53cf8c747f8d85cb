"""Distillation of text: a MiniLM (6 layers) teacher into a cut MiniLM (its first 2 layers), fine-tuned on the
teacher's soft labels over unlabelled fine-food reviews.

The teacher is the logistic-regression probe on the bundled MiniLM's embeddings, fitted on LABELLED training
reviews and saved as a transferkit model folder. `transferkit distil` (the Python call) scores UNLABELLED other
training reviews with it; the student, bundled:minilm-l2 (transformers' own BertModel with num_hidden_layers=2,
the first two layers' pretrained weights), starts as a soft-label probe on its own embeddings and then trains as a
whole on the teacher's probabilities (plus the labelled reviews' true labels) for EPOCHS epochs
(transferkit.labelling.distil_finetune). Both are scored on the package's test reviews and timed on the same 64
test reviews in alternating passes (full models: tokenizer + encoder + head, CPU, batch 32). For context, the same
cut MiniLM as a frozen probe on the teacher's soft labels (no fine-tuning). One seed; sizes (LABELLED, UNLABELLED,
TEST) are recorded in the results file.
Target (issue 26): the student within 2 points of the teacher's accuracy at half its latency or less.

Run:  OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/distillation_text.py [EPOCHS]
      (writes results/distillation_text.json)
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

import numpy as np
import pandas as pd

from labelling_data import embeddings, fine_food
from transferkit.artifacts import save_model
from transferkit.backbones import create_backbone
from transferkit.labelling.distil import distil, soft_label_head
from transferkit.models.transfer_model import TransferModel

RESULTS = Path(__file__).resolve().parent / "results"
TEACHER, STUDENT = "bundled:minilm", "bundled:minilm-l2"
LABELLED, UNLABELLED, TEST, SEED = 500, 1500, 1000, 0


def subsets(labels: np.ndarray, is_test: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    train = rng.permutation(np.flatnonzero(~is_test))
    return train[:LABELLED], train[LABELLED : LABELLED + UNLABELLED], np.flatnonzero(is_test)[:TEST]


def tables(folder: Path, texts, labels, names, labelled, unlabelled, test) -> None:
    def frame(rows, with_labels=True):
        columns = {"review": [texts[i] for i in rows]}
        return pd.DataFrame(columns | ({"score": [names[labels[i]] for i in rows]} if with_labels else {}))

    frame(unlabelled, with_labels=False).to_csv(folder / "unlabelled.csv", index=False)
    frame(test).to_csv(folder / "test.csv", index=False)
    frame(labelled).to_csv(folder / "labelled.csv", index=False)


def run(folder: Path, epochs: int, name: str):
    return distil(
        folder / "teacher",
        folder / "unlabelled.csv",
        student=STUDENT,
        test_data=folder / "test.csv",
        labelled_data=folder / "labelled.csv",
        text_column="review",
        label_column="score",
        epochs=epochs,
        output_dir=folder / "runs",
        name=name,
    )


def main() -> None:
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    texts, labels, is_test, names = fine_food()
    labelled, unlabelled, test = subsets(labels, is_test)
    folder = Path(tempfile.mkdtemp(prefix="distil-text-bench-"))
    features = embeddings(TEACHER, [texts[i] for i in labelled])
    teacher = TransferModel(create_backbone(TEACHER), soft_label_head(features, np.eye(2)[labels[labelled]]), names)
    save_model(teacher.eval(), folder / "teacher" / "model", backbone_trained=False)
    tables(folder, texts, labels, names, labelled, unlabelled, test)
    record = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count()}, "teacher_backbone": TEACHER}
    record |= {"student_backbone": STUDENT, "labelled": len(labelled), "unlabelled": len(unlabelled)}
    record |= {"test": len(test), "epochs": epochs, "seed": SEED}
    frozen = run(folder, 0, "frozen").metrics
    record["frozen_student_probe"] = {"accuracy": frozen["student"]["accuracy"], "agreement": frozen["agreement"]}
    print("frozen", frozen["student"], flush=True)
    started = time.perf_counter()
    metrics = run(folder, epochs, "student").metrics
    record["distil_seconds"] = round(time.perf_counter() - started, 1)
    record |= {"teacher": metrics["teacher"], "student": metrics["student"]}
    record |= {"agreement": metrics["agreement"], "speedup": metrics["speedup"]}
    gap = metrics["teacher"]["accuracy"] - metrics["student"]["accuracy"]
    record["accuracy_gap_points"] = round(100 * gap, 2)
    record["target_met"] = gap <= 0.02 and metrics["speedup"] >= 2.0
    record["load_average"] = os.getloadavg()
    print(json.dumps(record, indent=2), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "distillation_text.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
