"""End to end: `fit --augment` on real digits embeds augmented views of the rare class's training rows only."""

import json
import shutil

import pytest

import transferkit
from transferkit.api import prepare_splits
from transferkit.augmentation.pipeline import Augmenter
from transferkit.cli import run as cli


@pytest.fixture
def skewed_digits(digits_folder, tmp_path):
    """digit0 and digit1 with 24 images each, digit7 with 8: a 3:1 imbalance."""
    root = tmp_path / "skewed"
    for folder in sorted(digits_folder.iterdir()):
        keep = sorted(folder.glob("*.png"))[: 8 if folder.name == "digit7" else 24]
        (root / folder.name).mkdir(parents=True)
        for path in keep:
            shutil.copy(path, root / folder.name / path.name)
    return root


@pytest.mark.slow
def test_fit_augments_rare_training_rows_only_and_reruns_from_the_cache(skewed_digits, tmp_path, monkeypatch):
    augmented_inputs: list[str] = []
    original_batch = Augmenter.batch

    def recording_batch(self, inputs, *, seeds):
        augmented_inputs.extend(item for item, seed in zip(inputs, seeds, strict=True) if seed is not None)
        return original_batch(self, inputs, seeds=seeds)

    monkeypatch.setattr(Augmenter, "batch", recording_batch)
    args = ["fit", str(skewed_digits), "--strategy", "probe", "--augment", "light", "--augment-below", "10"]
    args += ["--augment-copies", "2", "--output-dir", str(tmp_path / "runs"), "--name", "aug", "--seed", "3"]
    args += ["--epochs", "5", "--weight-decay", "0.01"]  # the fixed L2 skips its cross-validation: faster
    assert cli(args) == 0
    metrics = json.loads((tmp_path / "runs" / "aug" / "metrics.json").read_text())
    views = metrics["strategy"]["feature_cache"]["augmented"]
    splits, _ = prepare_splits(transferkit.config.RunSpec.from_yaml(tmp_path / "runs" / "aug" / "config.yaml"))
    rare_train = [
        item for item, label in zip(splits.train.inputs, splits.train.labels, strict=True) if label == "digit7"
    ]
    assert views["views"] == views["misses"] == 2 * len(rare_train) and views["classes"] == {"digit7": views["views"]}
    assert sorted(augmented_inputs) == sorted(rare_train * 2)  # each rare training image, twice; nothing else
    # digit7 has too few rows for a validation split (the tiny-data rule): the test rows are the held-out ones
    held_out = set(splits.test.inputs) | set(splits.valid.inputs if splits.valid else [])
    assert held_out and not held_out & set(augmented_inputs)  # validation and test rows are never augmented

    again = transferkit.fit(config=tmp_path / "runs" / "aug" / "config.yaml", name="again", output_dir=str(tmp_path))
    cached = again.metrics["strategy"]["feature_cache"]["augmented"]
    assert cached["hits"] == views["views"] and cached["misses"] == 0
    assert again.metrics["test"]["accuracy"] == metrics["test"]["accuracy"]


def test_bad_augment_policy_is_a_one_line_error(tmp_path, capsys):
    assert cli(["fit", str(tmp_path), "--augment", "medium"]) == 2
    assert "augment.policy" in capsys.readouterr().err
