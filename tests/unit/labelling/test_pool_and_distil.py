"""Pools (labelled and unlabelled rows of a table or folder) and the distillation head's soft-label fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from transferkit.errors import DataError
from transferkit.labelling.distil import soft_label_head
from transferkit.labelling.pool import read_pool


def test_empty_label_cells_are_the_unlabelled_rows(tmp_path):
    path = tmp_path / "pool.csv"
    pd.DataFrame({"review": ["good", "bad", "meh", ""], "score": ["great", None, "other", "great"]}).to_csv(path)
    pool = read_pool(path, text_column="review", label_column="score")
    assert pool.inputs == ["good", "bad", "meh"] and pool.rows == [0, 1, 2]
    assert pool.labelled.tolist() == [0, 2] and pool.unlabelled.tolist() == [1]
    assert pool.encoded().tolist() == [0, -1, 1]


def test_a_column_of_image_paths_is_an_image_pool_and_a_missing_file_is_named(tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    path = tmp_path / "pool.csv"
    pd.DataFrame({"image": ["a.png"]}).to_csv(path, index=False)
    pool = read_pool(path, text_column="image", label_column="label")
    assert pool.modality == "image" and pool.labels == [None]
    pd.DataFrame({"image": ["a.png", "gone.png"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"gone\.png"):
        read_pool(path, text_column="image")


def test_a_missing_text_column_is_a_data_error(tmp_path):
    path = tmp_path / "pool.csv"
    pd.DataFrame({"body": ["x"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="--text-column"):
        read_pool(path, text_column="review")


@pytest.mark.parametrize("classes", [2, 3])
def test_the_soft_label_head_agrees_with_its_teacher(classes):
    import torch

    rng = np.random.default_rng(0)
    features = rng.normal(size=(300, 8)).astype(np.float32)
    logits = features[:, :classes] * 3
    soft = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    head = soft_label_head(features, soft)
    with torch.no_grad():
        student = head.activate(head(torch.as_tensor(features))).numpy()
    assert (student.argmax(axis=1) == soft.argmax(axis=1)).mean() > 0.95
    assert np.abs(student - soft).mean() < 0.1
