"""Series tables: long and wide layouts, gap filling, and one clear error per kind of bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transferkit.errors import ConfigError, DataError
from transferkit.forecasting import TableSpec, read_series, series_from_frame
from transferkit.forecasting.table import check_lengths


def long_frame(values=(1.0, 2.0, 3.0, 4.0), times=("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04")):
    return pd.DataFrame({"series_id": "s1", "timestamp": list(times), "value": list(values)})


def test_long_table_with_dates_infers_the_daily_step():
    table = series_from_frame(long_frame(), spec=TableSpec())
    assert table.freq == "D" and table.ids == ["s1"] and table.filled == {}
    assert list(table.frame.columns) == ["unique_id", "ds", "y"]


def test_missing_timestamps_are_filled_and_counted():
    frame = long_frame(values=(1.0, 2.0, 5.0), times=("2024-01-01", "2024-01-02", "2024-01-05"))
    table = series_from_frame(frame, spec=TableSpec(freq="D"))
    assert table.filled == {"s1": 2}
    assert table.frame["y"].tolist() == [1.0, 2.0, 2.0, 2.0, 5.0]


def test_wide_table_trims_ends_and_fills_inner_gaps():
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0], "b": [np.nan, 5.0, 6.0, 7.0]})
    table = series_from_frame(frame, spec=TableSpec(wide=True))
    assert table.lengths() == {"a": 4, "b": 3}
    assert table.filled == {"a": 1}


def test_series_selection_and_unknown_series():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    assert series_from_frame(frame, spec=TableSpec(wide=True, series=("b",))).ids == ["b"]
    with pytest.raises(DataError, match="no series 'c'"):
        series_from_frame(frame, spec=TableSpec(wide=True, series=("c",)))


@pytest.mark.parametrize(
    ("frame", "spec", "message"),
    [
        (long_frame(), TableSpec(value_column="close"), r"no column 'close' \(--value-column\)"),
        (long_frame(), TableSpec(covariates=("volume",)), r"no column 'volume' \(--covariate volume\)"),
        (long_frame(values=(1.0, np.nan, 3.0, 4.0)), TableSpec(), "Series 's1' has a NaN .* fill or drop that row"),
        (long_frame(values=(1.0, np.inf, 3.0, 4.0)), TableSpec(), "Series 's1' has a infinite value"),
        (long_frame(values=(1.0, "x", 3.0, 4.0)), TableSpec(), "holds 'x' at row 2, not a number"),
        (
            long_frame(times=("2024-01-01", "2024-01-02", "2024-01-02", "2024-01-03")),
            TableSpec(),
            "Series 's1' has timestamp 2024-01-02 00:00:00 twice .* keep one row per series and timestamp",
        ),
        (long_frame(times=("a", "b", "c", "d")), TableSpec(), "neither a date nor an integer step"),
    ],
)
def test_bad_input_is_one_clear_error(frame, spec, message):
    with pytest.raises(DataError, match=message):
        series_from_frame(frame, spec=spec)


def test_bad_frequency_and_covariates_on_a_wide_table():
    with pytest.raises(ConfigError, match="not a pandas frequency"):
        series_from_frame(long_frame(), spec=TableSpec(freq="fortnightly-ish"))
    with pytest.raises(ConfigError, match="need a long table"):
        series_from_frame(pd.DataFrame({"a": [1.0]}), spec=TableSpec(wide=True, covariates=("x",)))


def test_short_series_names_the_series_and_the_fix():
    table = series_from_frame(
        pd.DataFrame({"a": pd.Series(np.arange(10.0)), "b": pd.Series(np.arange(30.0))}), spec=TableSpec(wide=True)
    )
    with pytest.raises(DataError, match="Series 'a' of the target has 10 points, fewer than 25: lower --horizon"):
        check_lengths(table, needed=25, what="target", fix="lower --horizon")


def test_read_series_from_csv(tmp_path):
    path = tmp_path / "series.csv"
    long_frame().to_csv(path, index=False)
    assert read_series(path, spec=TableSpec()).lengths() == {"s1": 4}
    with pytest.raises(DataError, match="does not exist"):
        read_series(tmp_path / "missing.csv", spec=TableSpec())
