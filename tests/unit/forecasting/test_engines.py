"""The neural engines: NHITS and PatchTST build, train a few steps, and head-only fine-tuning moves only the head.

Tiny models and a handful of optimiser steps on a synthetic series: plumbing, not accuracy (the benchmark and
tests/integration/test_forecast.py hold the accuracy claims on real prices).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("neuralforecast")
pytest.importorskip("statsforecast")

from transferkit.forecasting.engines import (
    NeuralSettings,
    baseline_models,
    build_neural,
    continue_training,
    head_parameters,
    quiet_lightning,
)


def series(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"unique_id": "s", "ds": np.arange(n), "y": 10 + np.cumsum(rng.normal(size=n))})


@pytest.mark.parametrize("model", ["nhits", "patchtst"])
def test_head_only_fine_tuning_moves_only_the_head(model):
    settings = NeuralSettings(horizon=2, input_size=8, steps=2, hidden=8, model=model)
    forecaster = build_neural(settings, freq=1)
    with quiet_lightning():
        forecaster.fit(df=series())
    network = forecaster.models[0]
    assert type(network).__name__ == settings.alias and network.alias == settings.alias
    head = {id(parameter) for parameter in head_parameters(network)}
    before = {name: parameter.detach().clone() for name, parameter in network.named_parameters()}
    continue_training(forecaster, series(), steps=3, learning_rate=0.05, head_only=True)
    moved = {name for name, parameter in network.named_parameters() if not parameter.detach().equal(before[name])}
    head_names = {name for name, parameter in network.named_parameters() if id(parameter) in head}
    assert moved and moved <= head_names  # the head trained, nothing else did
    assert len(head_names) < len(before)


def test_the_baselines_include_autoarima():
    names = [type(model).__name__ for model in baseline_models(season_length=1)]
    assert names == ["Naive", "SeasonalNaive", "AutoETS", "AutoARIMA"]
