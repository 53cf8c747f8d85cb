"""Values a table may hold that no preprocessing can use: infinite numbers make their row a bad item (named,
left out with --skip-bad-files); a column empty in every training row is left out of the features."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from transferkit.backbones.tabular import TabularPreprocessor
from transferkit.data.feature_tables import load_tabular_table
from transferkit.errors import DataError


def test_infinite_values_are_bad_rows_naming_the_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x,y,label\n1,2,a\n-Infinity,3,b\n4,1e999,a\n5,6,b\n", encoding="utf-8")
    data = load_tabular_table(path, label_column="label")
    assert [str(item) for item in data.bad_items] == [
        f"{path} row 3: infinite value in 'x'",
        f"{path} row 4: infinite value in 'y'",
    ]
    assert data.labels == ["a", "b"] and len(data.inputs) == 2


def test_a_column_empty_in_every_training_row_is_left_out(caplog):
    frame = pd.DataFrame({"x": ["1", "2", "3"], "empty": [None, None, None], "kind": ["a", "b", None]})
    with caplog.at_level(logging.WARNING, logger="transferkit"):
        prep = TabularPreprocessor().fit(frame)
    assert "column 'empty' is empty in every training row" in caplog.text
    assert list(prep.params_["numeric"]) == ["x"] and list(prep.params_["categorical"]) == ["kind"]
    filled = pd.DataFrame({"x": ["4"], "empty": ["9"], "kind": ["b"]})  # a value there later changes nothing
    assert prep.transform(filled).shape == (1, prep.num_outputs)


def test_a_bom_only_file_and_a_bad_header_are_data_errors(tmp_path):
    for name, content, message in [
        ("bom.csv", b"\xef\xbb\xbf\r\n", "only a byte-order mark"),
        ("header.csv", b"caf\xe9,label\n1,a\n", "header row of .* is not UTF-8"),
        ("dup.tsv", b"x\tx\tlabel\n1\t2\ta\n", "names column\\(s\\) 'x' more than once"),
        ("nums.json", b"[1, 2]", "JSON array of int values, not of records"),
    ]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(DataError, match=message):
            load_tabular_table(path, label_column="label")
