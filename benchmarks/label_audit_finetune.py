"""The fine-tuned audit model's out-of-fold probabilities on the label-audit benchmark's flipped reviews, computed
once (the expensive part: one fine-tune of MiniLM per fold) and saved beside the embedding cache, where
label_audit.py --finetune reads them. Same flips, seed and max_length as label_audit.py.

Run:  nice -n 15 .venv/bin/python benchmarks/label_audit_finetune.py [FOLDS] [EPOCHS]
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

from label_audit import NOISE, SEED, finetuned_path, flipped
from labelling_data import embeddings, fine_food
from transferkit.backbones import create_backbone
from transferkit.labelling.audit_finetune import FINETUNE_EPOCHS, FINETUNE_FOLDS, finetuned_out_of_fold


def main() -> None:
    folds = int(sys.argv[1]) if len(sys.argv) > 1 else FINETUNE_FOLDS
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else FINETUNE_EPOCHS
    inputs, labels, is_test, names = fine_food()
    train = np.flatnonzero(~is_test)
    noisy, _flips = flipped(labels[train], len(names), np.random.default_rng(SEED))
    features = embeddings("bundled:minilm", inputs)[train]
    texts = [inputs[i] for i in train]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        proba = finetuned_out_of_fold(
            lambda: create_backbone("bundled:minilm", max_length=128),
            texts,
            noisy,
            features,
            class_names=names,
            work_dir=Path(work),
            folds=folds,
            epochs=epochs,
            seed=SEED,
        )
    path = finetuned_path(folds, epochs)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, proba)
    meta = {
        "folds": folds,
        "epochs": epochs,
        "noise": NOISE,
        "seed": SEED,
        "seconds": round(time.perf_counter() - started, 1),
    }
    meta["load_average"] = os.getloadavg()
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    print(meta, flush=True)


if __name__ == "__main__":
    main()
