"""`fit --add-labels`: which rows of a filled-in to_label.csv join the training split, and the errors."""

from __future__ import annotations

import pandas as pd
import pytest

from transferkit.config import RunSpec
from transferkit.data import LabeledData
from transferkit.errors import DataError
from transferkit.labelling.add_labels import child_spec, next_name, read_added

SPEC = RunSpec().with_overrides({"data.text_column": "review", "data.label_column": "score"})
TRAIN = LabeledData("text", ["good tea", "awful coffee"], ["great", "other"], "train.csv")
TEST = LabeledData("text", ["so-so"], ["other"], "test.csv")


def _file(tmp_path, reviews, scores):
    path = tmp_path / "to_label.csv"
    pd.DataFrame({"rank": range(1, len(reviews) + 1), "review": reviews, "score": scores}).to_csv(path, index=False)
    return path


def test_only_new_labelled_rows_are_added_and_the_rest_is_counted(tmp_path):
    reviews = ["lovely", "dull", "good  tea", "so-so", "lovely", "meh"]
    path = _file(tmp_path, reviews, ["great", "other", "great", "other", "great", None])
    added = read_added(path, SPEC, train=TRAIN, held_out=[TEST])
    assert added.inputs == ["lovely", "dull"] and added.labels == ["great", "other"]
    # "good  tea" is a training row (whitespace aside), "so-so" a test row, "lovely" twice, "meh" unlabelled
    assert added.counts == {"unlabelled": 1, "already_in_training": 2, "in_validation_or_test": 1}


def test_a_label_outside_the_classes_names_the_file_and_row(tmp_path):
    path = _file(tmp_path, ["lovely", "dull"], ["great", "bad"])
    with pytest.raises(DataError, match=r"to_label\.csv row 3 .*'bad'.*great, other"):
        read_added(path, SPEC, train=TRAIN, held_out=[])


def test_a_file_with_nothing_to_add_and_a_missing_column_are_data_errors(tmp_path):
    with pytest.raises(DataError, match=r"no new labelled rows.*2 unlabelled"):
        read_added(_file(tmp_path, ["lovely", "dull"], [None, " "]), SPEC, train=TRAIN, held_out=[])
    pd.DataFrame({"text": ["lovely"], "score": ["great"]}).to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(DataError, match="--text-column"):
        read_added(tmp_path / "other.csv", SPEC, train=TRAIN, held_out=[])


def test_the_new_run_reads_the_written_splits_and_is_named_by_round():
    spec = child_spec(SPEC.with_overrides({"run.add_labels": "x.csv"}), {"train": "t.csv", "valid": None, "test": "s"})
    assert (spec.data.path, spec.data.test_path, spec.data.valid_fraction, spec.run.add_labels) == (
        "t.csv",
        "s",
        0,
        None,
    )
    assert spec.data.text_column == "review"  # the same columns: the next to_label.csv comes back the same way
    assert next_name("reviews-round9") == "reviews-round10"
