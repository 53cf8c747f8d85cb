"""The field's engines, imported lazily: neuralforecast (NHITS on Lightning) and statsforecast (baselines).

A missing engine raises MissingDependencyError naming `pip install 'transferkit[forecast]'`. The neural model
is small on purpose (three stacks of one 64-64 block): a fit takes seconds to a minute on two shared cores.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

from transferkit.errors import require
from transferkit.progress import progress_enabled

NEURAL = "NHITS"
BASELINES = ("Naive", "SeasonalNaive", "AutoETS")
QUIET_LOGGERS = ("lightning.pytorch", "pytorch_lightning", "lightning.fabric", "lightning_fabric", "neuralforecast")


@dataclass(frozen=True)
class NeuralSettings:
    """The NHITS model's size and training budget; `steps` are optimiser steps (batches of windows)."""

    horizon: int
    input_size: int
    steps: int = 300
    learning_rate: float = 1e-3
    hidden: int = 64
    level: int = 80
    seed: int = 0
    hist_exog: tuple[str, ...] = ()


def neuralforecast() -> Any:
    return require("neuralforecast", extra="forecast", purpose="Neural forecasting (NHITS)")


def statsforecast() -> Any:
    return require("statsforecast", extra="forecast", purpose="The forecasting baselines (naive, AutoETS)")


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Lightning's and neuralforecast's start-up lines ('GPU available...') stay out of the console."""
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    levels = [item.level for item in loggers]
    for item in loggers:
        item.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module="pytorch_lightning|lightning|neuralforecast")
            yield
    finally:
        for item, level in zip(loggers, levels, strict=True):
            item.setLevel(level)


def build_neural(settings: NeuralSettings, *, freq: str | int) -> Any:
    """A NeuralForecast holding one small NHITS with an 80% (by default) quantile interval.

    The window scaler (robust: median / IQR of each input window) makes the model scale-free, so one model
    serves indices quoted at 1,600 and at 6,000: what lets it transfer between series.
    """
    nf = neuralforecast()
    from neuralforecast.losses.pytorch import MQLoss
    from neuralforecast.models import NHITS

    model = NHITS(
        h=settings.horizon,
        input_size=settings.input_size,
        hist_exog_list=list(settings.hist_exog) or None,
        mlp_units=3 * [[settings.hidden, settings.hidden]],
        loss=MQLoss(level=[settings.level]),
        max_steps=settings.steps,
        learning_rate=settings.learning_rate,
        batch_size=32,
        windows_batch_size=256,
        scaler_type="robust",
        random_seed=settings.seed,
        alias=NEURAL,
        accelerator="cpu",  # a model this small gains nothing from a GPU and stays reproducible on CPU
        devices=1,
        logger=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        enable_progress_bar=progress_enabled(),
    )
    return nf.NeuralForecast(models=[model], freq=freq)


def continue_training(
    forecaster: Any, frame: pd.DataFrame, *, steps: int, learning_rate: float, head_only: bool
) -> Any:
    """Train an already fitted NeuralForecast further on `frame` (fine-tuning): all layers, or only the output
    layer of each NHITS block (`head_only`, the layer that maps features to backcast and forecast)."""
    model = forecaster.models[0]
    model.max_steps = steps
    model.trainer_kwargs["max_steps"] = steps
    model.learning_rate = learning_rate
    model.lr_decay_steps = max(steps // 3, 1)
    for parameter in model.parameters():
        parameter.requires_grad = not head_only
    if head_only:
        for block in model.blocks:
            for parameter in block.layers[-1].parameters():
                parameter.requires_grad = True
    with quiet_lightning():
        forecaster.fit(df=frame, use_init_models=False)
    return forecaster


def neural_columns(level: int) -> dict[str, str]:
    """Our names for the NHITS output columns: the median as the forecast, and its interval."""
    return {f"{NEURAL}-median": "forecast", f"{NEURAL}-lo-{level}": "lo", f"{NEURAL}-hi-{level}": "hi"}


def baseline_models(*, season_length: int) -> list[Any]:
    """statsforecast's naive, seasonal naive and AutoETS (a seasonal ETS only where a season is given)."""
    statsforecast()
    from statsforecast.models import AutoETS, Naive, SeasonalNaive

    return [Naive(), SeasonalNaive(season_length=season_length), AutoETS(season_length=season_length)]
