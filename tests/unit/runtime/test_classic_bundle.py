"""Bundles of classic and concat models (TF-IDF / grey pixels + logistic regression, or those features next to a
backbone's embeddings): the runtime replays the transform from data and predicts as PyTorch within 1e-4 on real
reviews, the pixel rows equal training's on 8 x 8 digits and a photo, the vocabulary file is checksummed, and
`transferkit serve` answers from the bundle. Concat models (MiniLM + TF-IDF on reviews longer than its token limit,
EfficientNet + pixels on digits and a photo) are checked in the torch-free venv (integration/test_bundle_runtime.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.feature_extraction.text import TfidfVectorizer

from tests.unit.runtime.classic_models import classic_folder, digit_pngs, real_reviews
from transferkit.artifacts import load_model
from transferkit.bundle import classic_record
from transferkit.cli import run as cli
from transferkit.errors import ArtifactError
from transferkit.modalities.image import PixelFeatures, pixel_features
from transferkit.modalities.text import TfidfFeatures
from transferkit.runtime import load_bundle
from transferkit.runtime.classic import PixelRows, TfidfRows
from transferkit.runtime.preprocess import InputError
from transferkit.serving.app import create_app
from transferkit.serving.settings import ServeSettings

HOSTILE_TEXTS = [
    "",
    "a b c !!!",  # single characters are no tokens
    "CAFÉ café Naïve İstanbul ΣΊΣΥΦΟΣ",  # str.lower on non-ASCII letters, as scikit-learn applies it
    "don't e-mail me at tea_lover42@example.com",
    "great great great great great tea 😀😀 5/5",  # sublinear counts, emoji
    "Line one.\nLine two,\ttabbed — dashes…",
]


def test_tfidf_rows_equal_scikit_learns_on_real_reviews_and_awkward_texts(reviews_csv, tmp_path):
    texts, _, held_out = real_reviews(reviews_csv)
    features = TfidfFeatures.fitted(texts + HOSTILE_TEXTS[2:])
    record = classic_record(features, tmp_path)
    rows = TfidfRows(tmp_path, record)
    inputs = held_out + HOSTILE_TEXTS
    assert rows.size == features.size > 1000
    np.testing.assert_allclose(rows(inputs), features.transform(inputs), rtol=0, atol=1e-7)
    assert rows(["CAFÉ"]).max() > 0 and not rows(["a b c"]).any()


def test_a_tfidf_the_runtime_does_not_replay_is_refused(tmp_path):
    vectorizer = TfidfVectorizer(strip_accents="unicode", stop_words="english").fit(["good tea", "bad tea"])
    with pytest.raises(ArtifactError, match="stop_words, strip_accents"):
        classic_record(TfidfFeatures.from_step(vectorizer), tmp_path)


@pytest.fixture(scope="module")
def text_bundle(reviews_csv, tmp_path_factory):
    texts, labels, held_out = real_reviews(reviews_csv)
    root = tmp_path_factory.mktemp("classic-text")
    folder = classic_folder(root, texts, labels, modality="text", kept=held_out[:8])
    assert cli(["export", str(folder), "--format", "onnx", "--bundle", str(root / "bundle")]) == 0
    return folder, root / "bundle", held_out


@pytest.mark.slow  # a cross-validated logistic regression or an ONNX export: seconds on 2 cores
def test_a_tfidf_model_bundles_and_predicts_as_pytorch(text_bundle, tmp_path):
    folder, bundle_dir, held_out = text_bundle
    manifest = json.loads((bundle_dir / "bundle.json").read_text())
    assert manifest["kind"] == "classic" and manifest["backbone"] is None and manifest["inputs"] == ["classic_features"]
    assert set(manifest["files"]) == {"model.onnx", "classic.json"} and manifest["parity"]["inputs"] == 8
    inputs = held_out + HOSTILE_TEXTS
    expected = load_model(folder).predict_proba(inputs)
    bundle = load_bundle(bundle_dir)
    assert np.abs(bundle.predict_proba(inputs, batch_size=7) - expected).max() <= 1e-4
    assert [p["label"] for p in bundle.predict(inputs)] == np.asarray(["great", "other"])[expected.argmax(1)].tolist()
    copy = tmp_path / "altered"
    copy.mkdir()
    for name in manifest["files"] | {"bundle.json": ""}:
        (copy / name).write_bytes((bundle_dir / name).read_bytes())
    (copy / "classic.json").write_text((bundle_dir / "classic.json").read_text().replace('"tea"', '"tee"', 1))
    with pytest.raises(ArtifactError, match=r"classic\.json does not match its checksum"):
        load_bundle(copy)


@pytest.mark.slow
def test_serve_answers_from_a_classic_bundle(text_bundle):
    _, bundle_dir, held_out = text_bundle
    bundle = load_bundle(bundle_dir)
    with TestClient(create_app(bundle, ServeSettings(max_items=20))) as client:
        answer = client.post("/predict", json={"texts": held_out[:5]})
        assert answer.status_code == 200 and answer.json()["predictions"] == json.loads(
            json.dumps(bundle.predict(held_out[:5]))
        )
        assert client.get("/metadata").json()["kind"] == "classic"
        bad = client.post("/predict", json={"texts": ["fine", 3]})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "texts", 1]


def test_pixel_rows_equal_the_training_transform_on_real_digits_a_photo_bytes_and_pil_images(tmp_path, cat_photo):
    from PIL import Image

    paths, _ = digit_pngs(tmp_path / "digits", per_class=4)
    record = classic_record(PixelFeatures(), tmp_path)
    rows = PixelRows(tmp_path, record)
    inputs = [*paths, str(cat_photo)]  # 8 px digits and a 451 x 300 colour photo, both resized to 32 x 32
    expected = pixel_features(inputs)
    np.testing.assert_array_equal(rows(inputs), expected)
    with Image.open(paths[1]) as image:
        np.testing.assert_array_equal(rows([Path(paths[0]).read_bytes(), image]), expected[:2])
    with pytest.raises(InputError, match="Input 3") as caught:
        rows([b"not an image"], offset=3)
    assert caught.value.index == 3
