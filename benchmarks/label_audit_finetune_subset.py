"""A small, partial measure of the fine-tuned audit model (what `transferkit audit --model finetune` adds), sized for
a shared 2-core machine where the full 3-fold run over 4,000 reviews did not finish a single fold in 30 minutes: MiniLM
fine-tuned (transferkit.labelling.audit_finetune's step: probe head, then finetune_student with one-hot targets) on
N randomly drawn reviews of label_audit.py's flipped set, scoring N others; on those held-out rows its ranking of the
flipped labels is compared with the frozen audit models' 5-fold out-of-fold probabilities (which trained on 3,200
rows each, so the comparison favours them). Writes results/label_audit.json under "finetune_subset", one entry per size.

Run:  nice -n 15 .venv/bin/python benchmarks/label_audit_finetune_subset.py N EPOCHS MAX_LENGTH
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFERKIT_PROGRESS", "0")

import numpy as np
import torch

from label_audit import SEED, flipped
from labelling_data import embeddings, fine_food
from transferkit.backbones import create_backbone
from transferkit.labelling.audit import out_of_fold_probas
from transferkit.labelling.audit_finetune import PROBE_C
from transferkit.labelling.distil import soft_label_head
from transferkit.labelling.distil_finetune import finetune_student

RESULTS = Path(__file__).resolve().parent / "results" / "label_audit.json"


def scores(proba: np.ndarray, noisy: np.ndarray, is_flipped: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    quality = proba[np.arange(len(noisy)), noisy]
    order = np.argsort(quality, kind="stable")
    hits = np.cumsum(is_flipped[order])
    index = int(np.searchsorted(hits / is_flipped.sum(), 0.5))
    return {
        "precision_at_recall_0.5": round(float(hits[index] / (index + 1)), 4),
        "accuracy_true_labels": round(float((proba.argmax(axis=1) == truth).mean()), 4),
    }


def main() -> None:
    n, epochs, max_length = (int(value) for value in sys.argv[1:4])
    torch.set_num_threads(1)  # one busy thread does more on a loaded machine than two that wait for each other
    inputs, labels, is_test, names = fine_food()
    train = np.flatnonzero(~is_test)
    truth = labels[train]
    noisy, flips = flipped(truth, len(names), np.random.default_rng(SEED))
    is_flipped = np.zeros(len(train), bool)
    is_flipped[flips] = True
    texts = [inputs[i] for i in train]
    features = embeddings("bundled:minilm", inputs)[train]
    order = np.random.default_rng(1).permutation(len(train))
    fit, held = order[:n], order[n : 2 * n]
    onehot = np.eye(len(names))[noisy]
    started = time.perf_counter()
    head = soft_label_head(features[fit], onehot[fit], C=PROBE_C, seed=SEED)
    with tempfile.TemporaryDirectory() as work:
        backbone = create_backbone("bundled:minilm", max_length=max_length)
        model = finetune_student(backbone, head, [texts[i] for i in fit], onehot[fit], class_names=names,
                                 epochs=epochs, run_dir=Path(work), seed=SEED)  # fmt: skip
    train_seconds = time.perf_counter() - started
    tuned = model.predict_proba([texts[i] for i in held], batch_size=32)
    frozen = {name: proba[held] for name, proba in out_of_fold_probas(features, noisy, seed=SEED, texts=texts).items()}
    mean = np.mean(list(frozen.values()), axis=0)
    args = (noisy[held], is_flipped[held], truth[held])
    record = {"train_rows": n, "held_out_rows": n, "held_out_flipped": int(is_flipped[held].sum()), "epochs": epochs}
    record |= {"max_length": max_length, "train_seconds": round(train_seconds, 1), "load_average": os.getloadavg()}
    record["fine-tuned MiniLM"] = scores(tuned, *args)
    record["frozen mean of three (5-fold, 3,200 rows per fit)"] = scores(mean, *args)
    record["frozen mean of three + fine-tuned MiniLM"] = scores(np.mean([*frozen.values(), tuned], axis=0), *args)
    print(json.dumps(record, indent=2), flush=True)
    results = json.loads(RESULTS.read_text())
    results.setdefault("finetune_subset", {})[f"{n} rows, {epochs} epochs, max_length {max_length}"] = record
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
