import pytest

from transferkit.data import LabeledData, split_data
from transferkit.errors import DataError


def _data(n_per_class=(40, 20), split=None):
    labels = [f"c{k}" for k, n in enumerate(n_per_class) for _ in range(n)]
    return LabeledData(
        modality="text", inputs=[f"t{i}" for i in range(len(labels))], labels=labels, source="s", split=split
    )


def test_split_is_stratified_and_deterministic():
    first = split_data(_data((80, 40)), valid_fraction=0.2, test_fraction=0.25, seed=3)
    again = split_data(_data((80, 40)), valid_fraction=0.2, test_fraction=0.25, seed=3)
    other = split_data(_data((80, 40)), valid_fraction=0.2, test_fraction=0.25, seed=4)
    assert first.test.inputs == again.test.inputs and first.valid.inputs == again.valid.inputs
    assert first.test.inputs != other.test.inputs
    assert first.test.class_counts == {"c0": 20, "c1": 10}
    assert first.valid.class_counts == {"c0": 12, "c1": 6}
    everything = first.train.inputs + first.valid.inputs + first.test.inputs
    assert sorted(everything) == sorted(_data((80, 40)).inputs)  # a partition: nothing lost, nothing shared


def test_user_split_column_is_respected_and_valid_is_carved_from_train():
    split = ["train"] * 60 + ["test"] * 20 + ["train"] * 30 + ["test"] * 10
    splits = split_data(_data((80, 40), split=split), valid_fraction=0.2, test_fraction=0.3, seed=0)
    assert splits.test.inputs == [f"t{i}" for i in range(60, 80)] + [f"t{i}" for i in range(110, 120)]
    assert len(splits.valid) == 18 and len(splits.train) == 72


def test_unknown_split_value_is_named():
    with pytest.raises(DataError, match="'holdout'"):
        split_data(_data(split=["holdout"] * 60), valid_fraction=0.1, test_fraction=0.1, seed=0)


def test_limit_samples_training_rows_only():
    splits = split_data(_data((80, 40)), valid_fraction=0.25, test_fraction=0.25, seed=0, limit=60)
    assert len(splits.train) + len(splits.valid) == 60 and len(splits.test) == 30


def test_too_few_examples_for_stratification_is_explained():
    with pytest.raises(DataError, match="class 'c1' has 1 example"):
        split_data(_data((10, 1)), valid_fraction=0.2, test_fraction=0.2, seed=0)


def test_a_split_too_small_to_stratify_is_not_carved_and_says_why():
    """5 examples of each of 10 classes: 15% is 8 rows, fewer than the classes, so every row trains."""
    data = LabeledData("text", [str(i) for i in range(50)], [f"c{i % 10}" for i in range(50)], "tiny")
    splits = split_data(data, valid_fraction=0.15, test_fraction=0.15, seed=0)
    assert splits.test is None and splits.valid is None and len(splits.train) == 50
    assert splits.not_carved == {
        "test": "15% of 50 rows is 8, fewer than the 10 classes",
        "valid": "the smallest class has 5 training rows (fewer than 20): every row trains",
    }
    assert split_data(_data((80, 40)), valid_fraction=0.2, test_fraction=0.25, seed=3).not_carved == {}


def test_no_validation_split_when_the_smallest_class_is_small():
    """Choices are cross-validated, so 15% of 12 rows per class buys nothing: every training row trains."""
    splits = split_data(_data((16, 12)), valid_fraction=0.15, test_fraction=0.0, seed=0)
    assert splits.valid is None and len(splits.train) == 28
    assert splits.not_carved == {"valid": "the smallest class has 12 training rows (fewer than 20): every row trains"}
