"""Small real-data classic and concat models (what `fit --strategy auto` may save) for the bundle tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from transferkit.artifacts import save_model
from transferkit.embedding_cache import extract_features
from transferkit.models.classic import ClassicBaseline
from transferkit.models.feature_model import classic_model, concat_model

DIGITS = (0, 1, 7)


def real_reviews(reviews_csv: Path) -> tuple[list[str], list[str], list[str]]:
    """(training texts, their labels, held-out texts) of the real fine-food reviews fixture."""
    frame = pd.read_csv(reviews_csv)
    train, test = frame[frame.split == "train"], frame[frame.split == "test"]
    return train.review.tolist(), train.score.tolist(), test.review.tolist()


def digit_pngs(folder: Path, *, per_class: int) -> tuple[list[str], list[str]]:
    """Real handwritten digits 0 / 1 / 7 (scikit-learn's, 8 x 8) as PNG files: the pixel features resize them to
    32 x 32 (the conftest's digits are saved at 32 already, so they would not check the resize)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    folder.mkdir(parents=True, exist_ok=True)
    paths, labels = [], []
    for digit in DIGITS:
        for index in np.flatnonzero(digits.target == digit)[:per_class]:
            path = folder / f"{digit}-{index}.png"
            Image.fromarray((digits.images[index] * (255 / 16)).astype(np.uint8), mode="L").save(path)
            paths.append(str(path))
            labels.append(f"digit{digit}")
    order = np.random.default_rng(0).permutation(len(paths))  # classes interleaved: any slice holds all three
    return [paths[i] for i in order], [labels[i] for i in order]


def classic_folder(root: Path, inputs: list[str], labels: list[str], *, modality: str, kept: list[str]) -> Path:
    """A saved classic model (TF-IDF or pixels + cross-validated logistic regression) with `kept` held out."""
    baseline = ClassicBaseline(modality=modality).fit(inputs, labels)
    model = classic_model(baseline, class_names=sorted(set(labels)))
    return save_model(model, root / "model", backbone_trained=False, examples=kept)


def concat_folder(root: Path, backbone, inputs: list[str], labels: list[str], *, kept: list[str]) -> Path:
    """A saved concat model: the backbone's embeddings next to the classic features, one logistic regression."""
    embeddings, _ = extract_features(backbone, inputs)
    model = concat_model(backbone, inputs, embeddings, labels, class_names=sorted(set(labels)))
    return save_model(model, root / "model", backbone_trained=False, examples=kept)
