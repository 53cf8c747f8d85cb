"""The field's engines, imported lazily: neuralforecast (NHITS or PatchTST on Lightning) and statsforecast
(naive, seasonal naive, AutoETS and AutoARIMA baselines).

A missing engine raises MissingDependencyError naming `pip install 'transferkit[forecast]'`. The neural models
are small on purpose (NHITS: three stacks of one 64-64 block; PatchTST: two encoder layers of width 64): a fit
takes seconds to a minute on two shared cores.
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

NEURAL_MODELS = {"nhits": "NHITS", "patchtst": "PatchTST"}  # --model: neuralforecast's class (and column alias)
BASELINES = ("Naive", "SeasonalNaive", "AutoETS", "AutoARIMA")
QUIET_LOGGERS = ("lightning.pytorch", "pytorch_lightning", "lightning.fabric", "lightning_fabric", "neuralforecast")


@dataclass(frozen=True)
class NeuralSettings:
    """The neural model's kind, size and training budget; `steps` are optimiser steps (batches of windows)."""

    horizon: int
    input_size: int
    steps: int = 300
    learning_rate: float = 1e-3
    hidden: int = 64
    level: int = 80
    seed: int = 0
    hist_exog: tuple[str, ...] = ()
    model: str = "nhits"
    futr_exog: tuple[str, ...] = ()

    @property
    def alias(self) -> str:
        return NEURAL_MODELS[self.model]


def neuralforecast() -> Any:
    return require("neuralforecast", extra="forecast", purpose="Neural forecasting (NHITS, PatchTST)")


def statsforecast() -> Any:
    return require("statsforecast", extra="forecast", purpose="The forecasting baselines (naive, AutoETS, AutoARIMA)")


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
    """A NeuralForecast holding one small NHITS or PatchTST with an 80% (by default) quantile interval.

    The window scaler (robust: median / IQR of each input window) makes the model scale-free, so one model
    serves indices quoted at 1,600 and at 6,000: what lets it transfer between series.
    """
    nf = neuralforecast()
    from neuralforecast.losses.pytorch import MQLoss

    common = {
        "h": settings.horizon,
        "input_size": settings.input_size,
        "loss": MQLoss(level=[settings.level]),
        "max_steps": settings.steps,
        "learning_rate": settings.learning_rate,
        "batch_size": 32,
        "windows_batch_size": 256,
        "scaler_type": "robust",
        "random_seed": settings.seed,
        "alias": settings.alias,
        "accelerator": "cpu",  # models this small gain nothing from a GPU and stay reproducible on CPU
        "devices": 1,
        "logger": False,
        "enable_model_summary": False,
        "enable_checkpointing": False,
        "enable_progress_bar": progress_enabled(),
    }
    if settings.model == "patchtst":
        return nf.NeuralForecast(models=[_patchtst(settings, common)], freq=freq)
    from neuralforecast.models import NHITS

    model = NHITS(
        hist_exog_list=list(settings.hist_exog) or None,
        futr_exog_list=list(settings.futr_exog) or None,
        mlp_units=3 * [[settings.hidden, settings.hidden]],
        **common,
    )
    return nf.NeuralForecast(models=[model], freq=freq)


def _patchtst(settings: NeuralSettings, common: dict[str, Any]) -> Any:
    """A small PatchTST: patches of a quarter of the context (at least 2 steps), half-overlapping; two encoder
    layers of width `hidden` with 4 heads. It reads the target's own past only (neuralforecast's PatchTST takes
    no exogenous columns), so the caller refuses covariates before the run starts."""
    from neuralforecast.models import PatchTST

    patch = max(2, settings.input_size // 4)
    return PatchTST(
        patch_len=patch,
        stride=max(1, patch // 2),
        encoder_layers=2,
        n_heads=4,
        hidden_size=settings.hidden,
        linear_hidden_size=2 * settings.hidden,
        dropout=0.1,
        fc_dropout=0.1,
        **common,
    )


def continue_training(
    forecaster: Any, frame: pd.DataFrame, *, steps: int, learning_rate: float, head_only: bool
) -> Any:
    """Train an already fitted NeuralForecast further on `frame` (fine-tuning): all layers, or only the head
    (`head_only`: the output layer of each NHITS block, which maps features to backcast and forecast, or
    PatchTST's flatten head, which maps the encoded patches to the forecast)."""
    model = forecaster.models[0]
    model.max_steps = steps
    model.trainer_kwargs["max_steps"] = steps
    model.learning_rate = learning_rate
    model.lr_decay_steps = max(steps // 3, 1)
    for parameter in model.parameters():
        parameter.requires_grad = not head_only
    if head_only:
        for parameter in head_parameters(model):
            parameter.requires_grad = True
    with quiet_lightning():
        forecaster.fit(df=frame, use_init_models=False)
    return forecaster


def head_parameters(model: Any) -> list[Any]:
    """The parameters head-only fine-tuning trains (see continue_training)."""
    if hasattr(model, "blocks"):  # NHITS
        return [parameter for block in model.blocks for parameter in block.layers[-1].parameters()]
    return list(model.model.head.parameters())  # PatchTST's backbone head


def neural_columns(alias: str, level: int) -> dict[str, str]:
    """Our names for the neural model's output columns: the median as the forecast, and its interval."""
    return {f"{alias}-median": "forecast", f"{alias}-lo-{level}": "lo", f"{alias}-hi-{level}": "hi"}


def baseline_models(*, season_length: int) -> list[Any]:
    """statsforecast's naive, seasonal naive, AutoETS and AutoARIMA (seasonal ones only where a season is given)."""
    statsforecast()
    from statsforecast.models import AutoARIMA, AutoETS, Naive, SeasonalNaive

    return [
        Naive(),
        SeasonalNaive(season_length=season_length),
        AutoETS(season_length=season_length),
        AutoARIMA(season_length=season_length),
    ]
