"""Cross-validated fine-tuning for the label audit (`transferkit audit --model finetune`).

A frozen encoder with linear models separates some classes poorly (fine-food reviews: ~0.74 cross-validated
accuracy), and then many correctly labelled but ambiguous rows look as wrong as the flipped ones. Here each fold
fine-tunes the whole backbone (and its head, started from a probe on the frozen embeddings: LP-FT) on the other
folds' labels, through the same engine step as a distillation student (distil_finetune.finetune_student, with one-hot
targets), and scores only the rows it never saw: out-of-fold probabilities from a model that adapted to the data.
Few epochs on purpose: a network fitted long enough memorises the flipped labels it trains on.

Example::

    proba = finetuned_out_of_fold(lambda: create_backbone("bundled:minilm"), texts, labels, features,
                                  class_names=["great", "other"], work_dir=Path("runs/audit"))
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

from transferkit.backbones.base import Backbone
from transferkit.errors import ConfigError, DataError
from transferkit.labelling.distil import soft_label_head
from transferkit.labelling.distil_finetune import finetune_student
from transferkit.progress import progress_bar

FINETUNE_FOLDS = 3  # fewer fits than the linear models' 5: each is a whole fine-tune of the backbone
FINETUNE_EPOCHS = 1
PROBE_C = 0.05  # the starting head: the audit probe's strength (transferkit.labelling.active.probe)


def finetuned_out_of_fold(
    make_backbone: Callable[[], Backbone],
    inputs: list[str],
    labels: np.ndarray,
    features: np.ndarray,
    *,
    class_names: list[str],
    work_dir: Path,
    folds: int = FINETUNE_FOLDS,
    epochs: int = FINETUNE_EPOCHS,
    seed: int = 0,
    batch_size: int = 32,
) -> np.ndarray:
    """Out-of-fold class probabilities of `folds` fine-tuned copies of the backbone `make_backbone` builds (a fresh
    pretrained one per fold); `features` are its frozen embeddings of `inputs`, for each fold's starting head."""
    if epochs < 1 or folds < 2:
        raise ConfigError(f"A fine-tuned audit needs >= 2 folds and >= 1 epoch; got {folds} folds, {epochs} epochs.")
    smallest = int(np.bincount(labels, minlength=len(class_names)).min())
    if smallest < 2:
        raise DataError("Every class needs at least 2 labelled rows for a cross-validated audit; add examples.")
    splitter = StratifiedKFold(n_splits=min(folds, smallest), shuffle=True, random_state=seed)
    proba = np.zeros((len(labels), len(class_names)))
    onehot = np.eye(len(class_names))[labels]
    with progress_bar("Fine-tuning audit folds", total=splitter.get_n_splits()) as advance:
        for fold, (fit_rows, held) in enumerate(splitter.split(features, labels)):
            head = soft_label_head(features[fit_rows], onehot[fit_rows], C=PROBE_C, seed=seed)
            model = finetune_student(
                make_backbone(),
                head,
                [inputs[index] for index in fit_rows],
                onehot[fit_rows],
                class_names=class_names,
                epochs=epochs,
                run_dir=Path(work_dir) / f"audit_fold{fold}",
                seed=seed,
                batch_size=batch_size,
            )
            proba[held] = model.predict_proba([inputs[index] for index in held], batch_size=batch_size)
            advance(1)
    return proba
