"""Bad label cells through the CLI (issue 23): one line naming the column and the row, exit 2, no run folder."""

from __future__ import annotations

import pandas as pd
import pytest

from transferkit.cli import run as cli
from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.tasks.checks import check_label_cells

TEXTS = [f"a film about the number {i}" for i in range(40)]


def _fit(tmp_path, labels: list[str], *extra: str) -> int:
    pd.DataFrame({"text": TEXTS, "label": labels}).to_csv(tmp_path / "data.csv", index=False)
    argv = ["fit", str(tmp_path / "data.csv"), "--output-dir", str(tmp_path / "runs"), "--name", "bad", *extra]
    return cli(argv)


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("task", [[], ["--task", "regression"]])
def test_a_numeric_target_with_nan_or_inf_names_the_cells_and_rows(tmp_path, capsys, task):
    labels = [str(i * 1.5) for i in range(38)] + ["nan", "inf"]
    assert _fit(tmp_path, labels, *task) == 2
    line = _error_line(capsys)
    assert "Label column 'label'" in line and "'nan' (row 40)" in line and "'inf' (row 41)" in line
    assert "--task classification" in line
    assert not (tmp_path / "runs" / "bad").exists()


def test_a_written_out_list_is_neither_one_label_nor_a_separated_list(tmp_path, capsys):
    assert _fit(tmp_path, ["['Drama', 'Comedy']"] * 20 + ["['Drama']"] * 20) == 2
    line = _error_line(capsys)
    assert "Label column 'label'" in line and "row 2" in line and "Drama|Comedy" in line
    assert not (tmp_path / "runs" / "bad").exists()


def test_one_label_in_parentheses_is_still_one_label():
    data = LabeledData("text", TEXTS[:2], ["(no genres listed)", "Drama"], "movies.csv")
    check_label_cells(data, spec=RunSpec(), task="classification")  # movielens' own label for no genre


def test_multilabel_cells_with_another_separator_name_the_flag(tmp_path, capsys):
    assert _fit(tmp_path, ["Drama,Comedy"] * 20 + ["Drama"] * 20, "--task", "multilabel") == 2
    line = _error_line(capsys)
    assert "'Drama,Comedy' (row 2)" in line and "--label-separator ','" in line


def test_a_multilabel_label_seen_once_names_it_and_its_row(tmp_path, capsys):
    assert _fit(tmp_path, ["Drama|Comedy"] * 20 + ["Drama"] * 19 + ["Drama|War"]) == 2
    line = _error_line(capsys)
    assert "Label 'War' of label column 'label'" in line and "(row 41)" in line and "add examples" in line
    assert not (tmp_path / "runs" / "bad").exists()
