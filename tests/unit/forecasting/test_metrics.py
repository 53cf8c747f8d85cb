"""MASE, sMAPE and direction accuracy against hand-computed values and utilsforecast's own losses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from transferkit.forecasting import Backtest, direction_accuracy, mase, smape
from transferkit.forecasting.metrics import mean_or_none, naive_scale

HISTORY = np.array([10.0, 12.0, 11.0, 15.0])  # naive one-step errors 2, 1, 4: scale 7/3
ACTUAL = np.array([16.0, 14.0, 18.0])
FORECAST = np.array([15.0, 15.0, 15.0])  # errors 1, 1, 3: MAE 5/3


def test_mase_by_hand():
    assert naive_scale(HISTORY) == pytest.approx(7 / 3)
    assert mase(actual=ACTUAL, forecast=FORECAST, history=HISTORY) == pytest.approx((5 / 3) / (7 / 3))
    # seasonal scale, season 2: |11-10|, |15-12| -> 2
    assert mase(actual=ACTUAL, forecast=FORECAST, history=HISTORY, season=2) == pytest.approx((5 / 3) / 2)


def test_smape_by_hand():
    expected = 200 / 3 * (1 / 31 + 1 / 29 + 3 / 33)
    assert smape(actual=ACTUAL, forecast=FORECAST) == pytest.approx(expected)
    assert smape(actual=np.zeros(2), forecast=np.zeros(2)) == 0.0


def test_direction_accuracy_by_hand():
    # last value 15: actual moves up, down, up; the forecast moves up, up, down
    assert direction_accuracy(actual=ACTUAL, forecast=np.array([16.0, 17.0, 14.0]), last=15.0) == pytest.approx(1 / 3)
    assert direction_accuracy(actual=ACTUAL, forecast=FORECAST, last=15.0) is None  # naive: no move to score
    assert mean_or_none([None, 0.5, float("nan"), 1.0]) == 0.75


def test_mase_and_smape_match_utilsforecast():
    losses = pytest.importorskip("utilsforecast.losses")
    train = pd.DataFrame({"unique_id": "a", "ds": range(4), "y": HISTORY})
    test = pd.DataFrame({"unique_id": "a", "ds": range(4, 7), "y": ACTUAL, "model": FORECAST})
    theirs_mase = losses.mase(test, models=["model"], seasonality=1, train_df=train)["model"].iloc[0]
    theirs_smape = losses.smape(test, models=["model"])["model"].iloc[0]
    assert mase(actual=ACTUAL, forecast=FORECAST, history=HISTORY) == pytest.approx(theirs_mase)
    assert smape(actual=ACTUAL, forecast=FORECAST) == pytest.approx(200 * theirs_smape)  # theirs is a fraction


def test_backtest_origins_end_the_series():
    plan = Backtest(horizon=5, origins=3, step=2)
    assert plan.positions(50) == [41, 43, 45]
    assert plan.test_points() == 9
