"""Each built-in modality on small real files: labelled data, prediction inputs, cache bytes and report cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from transferkit.errors import DataError
from transferkit.modalities import get_modality, read_prediction_inputs

soundfile = pytest.importorskip("soundfile")


@pytest.fixture
def image_folder(tmp_path):
    """Two skimage photos per class, and one broken file."""
    from skimage import data

    root = tmp_path / "photos"
    for label, names in {"cat": ("chelsea", "astronaut"), "cup": ("coffee", "rocket")}.items():
        (root / label).mkdir(parents=True)
        for name in names:
            Image.fromarray(getattr(data, name)()).resize((64, 48)).save(root / label / f"{name}.png")
    (root / "cup" / "broken.png").write_bytes(b"not a png")
    return root


@pytest.fixture
def clip_folder(tmp_path):
    root = tmp_path / "clips"
    seconds = np.arange(8000) / 16000
    for label, pitch in {"low": 220, "high": 880}.items():
        (root / label).mkdir(parents=True)
        for take in range(2):
            wave = (0.2 * np.sin(2 * np.pi * (pitch + 10 * take) * seconds)).astype(np.float32)
            soundfile.write(root / label / f"{take}.wav", wave, 16000)
    return root


def test_text_reads_a_csv_and_a_txt(tmp_path):
    table = tmp_path / "reviews.csv"
    pd.DataFrame({"review": ["Fresh and rich.", "Stale.", "Great taste."], "score": ["good", "bad", "good"]}).to_csv(
        table, index=False
    )
    text = get_modality("text")
    data = text.load_labeled(table, text_column="review", label_column="score")
    assert (data.modality, data.class_counts) == ("text", {"bad": 1, "good": 2})
    (tmp_path / "more.txt").write_text("one\n\ntwo\n", encoding="utf-8")
    items = read_prediction_inputs("text", [table, tmp_path / "more.txt"], text_column="review")
    assert items == ["Fresh and rich.", "Stale.", "Great taste.", "one", "two"]
    (tmp_path / "x.png").write_bytes(b"x")
    with pytest.raises(DataError, match="not a text input"):
        text.read_inputs([tmp_path / "x.png"])
    assert text.item_bytes("Stale.") == b"Stale."
    assert text.show_text("x" * 300).endswith("...")


def test_image_reads_class_folders_and_reports_bad_files(image_folder):
    image = get_modality("image")
    data = image.load_labeled(image_folder)
    assert data.class_counts == {"cat": 2, "cup": 2} and len(data.bad_items) == 1
    items, bad = image.read_inputs([image_folder])
    assert len(items) == 4 and len(bad) == 1
    with pytest.raises(DataError, match="--skip-bad-files"):
        read_prediction_inputs("image", [image_folder])
    assert read_prediction_inputs("image", [image_folder], skip_bad_files=True) == items
    renamed = image_folder / "copy.png"
    renamed.write_bytes(Path(items[0]).read_bytes())
    assert image.item_bytes(str(renamed)) == image.item_bytes(items[0])  # bytes, not names
    assert image.show_html(items[0]).startswith('<img class="thumb"')
    assert image.classic.prepare(items).shape == (4, 32 * 32)


def test_image_predict_reads_a_table_of_image_paths_as_fit_does(image_folder, tmp_path):
    files = sorted(str(path.relative_to(image_folder)) for path in image_folder.rglob("*.png"))
    table = image_folder / "photos.csv"
    pd.DataFrame({"path": files, "note": ["x"] * len(files)}).to_csv(table, index=False)
    items, bad = get_modality("image").read_inputs([table], text_column="path")
    assert items == [str(image_folder / name) for name in files if name != "cup/broken.png"]
    assert [item.location for item in bad] == [f"{table} 'cup/broken.png'"]  # the row's file, named as fit names it
    with pytest.raises(DataError, match="--text-column with the column of image paths"):
        read_prediction_inputs("image", [table], text_column="note")
    mixed = read_prediction_inputs("image", [table, image_folder / "cat"], text_column="path", skip_bad_files=True)
    assert mixed == items + sorted(str(path) for path in (image_folder / "cat").iterdir())


def test_audio_reads_wav_clips(clip_folder):
    audio = get_modality("audio")
    data = audio.load_labeled(clip_folder)
    assert data.modality == "audio" and data.class_counts == {"high": 2, "low": 2}
    items, bad = audio.read_inputs([clip_folder / "low"])
    assert len(items) == 2 and bad == []
    assert audio.classic is None and audio.augmenter is not None


def test_tabular_reads_the_model_columns_of_a_table(tmp_path):
    table = tmp_path / "loans.csv"
    pd.DataFrame({"income": [52000, 31000, 87000], "home": ["rent", "own", "own"], "label": ["y", "n", "y"]}).to_csv(
        table, index=False
    )
    tabular = get_modality("tabular")
    data = tabular.load_labeled(table, label_column="label")
    assert data.modality == "tabular" and data.class_counts == {"n": 1, "y": 2}
    items = read_prediction_inputs("tabular", [table], feature_columns=["income", "home"])
    assert len(items) == 3 and '"home": "rent"' in items[0]
    frame = tabular.classic.prepare(items)
    assert frame["income"].tolist() == [52000, 31000, 87000] and frame["home"].dtype.name == "category"
    assert tabular.augmenter is None
