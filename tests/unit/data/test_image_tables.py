"""A CSV of image paths and labels is image data (issue 23: multi-label images through a CSV)."""

from __future__ import annotations

import pandas as pd

from transferkit.data import load_labeled


def test_a_csv_of_image_paths_and_label_sets_reads_as_checked_images(tmp_path, digits_folder):
    zeros, sevens = sorted((digits_folder / "digit0").iterdir())[:3], sorted((digits_folder / "digit7").iterdir())[:3]
    (tmp_path / "broken.png").write_bytes(b"not a png")
    rows = [{"path": str(p), "label": "zero|round"} for p in zeros] + [
        {"path": str(p), "label": "seven"} for p in sevens
    ]
    rows += [{"path": "broken.png", "label": "seven"}, {"path": "missing.png", "label": "zero"}]  # relative paths
    pd.DataFrame(rows).to_csv(tmp_path / "images.csv", index=False)
    data = load_labeled(tmp_path / "images.csv", text_column="path")
    assert data.modality == "image" and len(data) == 6
    assert data.labels[:3] == ["zero|round"] * 3 and data.inputs[0] == str(zeros[0])
    reasons = {item.location.split(" ")[-1]: item.reason for item in data.bad_items}
    assert reasons == {"'broken.png'": "not an image", "'missing.png'": "no such image file (from column 'path')"}


def test_a_text_column_that_only_sometimes_names_an_image_stays_text(tmp_path):
    pd.DataFrame({"text": ["see photo.png", "a plain review"], "label": ["a", "b"]}).to_csv(tmp_path / "t.csv")
    assert load_labeled(tmp_path / "t.csv").modality == "text"
