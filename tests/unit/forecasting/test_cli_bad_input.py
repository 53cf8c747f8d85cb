"""Bad forecast input through the CLI: one line naming the series or column and the fix, exit 2, no run folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transferkit.cli import run


def write_long(path, *, values, times=None, series="s1"):
    times = list(range(len(values))) if times is None else times
    pd.DataFrame({"series_id": series, "timestamp": times, "value": values}).to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize(
    ("values", "times", "extra", "message"),
    [
        (np.arange(100.0), None, ["--value-column", "close"], "no column 'close' (--value-column)"),
        (
            np.arange(30.0),
            None,
            [],
            "Series 's1' of the target has 30 points, fewer than 50: it needs context + horizon (25)",
        ),
        ([*np.arange(99.0), np.nan], None, [], "Series 's1' has a NaN (empty) value at timestamp 99"),
        ([*np.arange(99.0), np.inf], None, [], "Series 's1' has a infinite value at timestamp 99"),
        (np.arange(100.0), [0, *range(99)], [], "Series 's1' has timestamp 0 twice"),
        (np.arange(100.0), None, ["--strategy", "finetune"], "--strategy finetune transfers from source series"),
        (np.arange(100.0), None, ["--strategy", "lora"], "--strategy 'lora' is not one of"),
        (np.arange(100.0), None, ["--model", "lstm"], "--model 'lstm' is not one of: nhits, patchtst"),
        (
            np.arange(100.0),
            None,
            ["--model", "patchtst", "--covariate", "value"],
            "--model patchtst reads only the series' own past",
        ),
        (
            np.arange(100.0),
            None,
            ["--covariate", "promo", "--future-covariate", "promo"],
            "'promo' is both a --covariate and a --future-covariate",
        ),
        (np.arange(100.0), None, ["--future-covariate", "promo"], "no column 'promo' (--future-covariate promo)"),
    ],
)
def test_bad_input_one_line_exit_2(tmp_path, capsys, values, times, extra, message):
    data = write_long(tmp_path / "series.csv", values=values, times=times)
    runs = tmp_path / "runs"
    code = run(["forecast", data, "--horizon", "5", "--output-dir", str(runs), *extra])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert message in error and len(error.splitlines()) == 1, error
    assert not runs.exists()  # nothing half-written
