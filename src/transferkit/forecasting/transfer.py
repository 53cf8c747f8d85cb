"""Transfer for forecasting: pretrain one global neural model (NHITS or PatchTST) on many source series, then
use it on target series.

Strategies (the rl and fit vocabulary where it fits):
- zero-shot: the pretrained model forecasts the target as it is; no training on the target.
- finetune: continue training every layer on the target's history (fewer steps, a tenth of the rate).
- head-only: continue training only the head (the output layer of each NHITS block, PatchTST's flatten head).
- target-only: a fresh model of the same size trained on the target's history alone (the reference transfer
  has to beat, and the only choice without --source).
"""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd

from transferkit.errors import ConfigError
from transferkit.forecasting.engines import NeuralSettings, build_neural, continue_training, quiet_lightning

STRATEGIES = ("zero-shot", "finetune", "head-only", "target-only")
TRANSFER_STRATEGIES = STRATEGIES[:3]
FINETUNE_RATE_FACTOR = 0.1  # a pretrained model's weights move less than a fresh model's


def check_strategy(strategy: str, *, has_source: bool) -> None:
    if strategy not in STRATEGIES:
        raise ConfigError(f"--strategy {strategy!r} is not one of: {', '.join(STRATEGIES)}.")
    if strategy in TRANSFER_STRATEGIES and not has_source:
        raise ConfigError(f"--strategy {strategy} transfers from source series: pass --source TABLE (or target-only).")


def train_fresh(frame: pd.DataFrame, *, settings: NeuralSettings, freq: str | int) -> Any:
    """A new model trained on `frame` (the source series for pretraining, the target's for target-only)."""
    forecaster = build_neural(settings, freq=freq)
    with quiet_lightning():
        forecaster.fit(df=frame)
    return forecaster


def transfer(
    pretrained: Any, target_train: pd.DataFrame, *, strategy: str, settings: NeuralSettings, steps: int
) -> Any:
    """The pretrained model as `strategy` makes it for the target (a copy: the pretrained one is unchanged)."""
    if strategy == "zero-shot":
        return pretrained
    return continue_training(
        copy.deepcopy(pretrained),
        target_train,
        steps=steps,
        learning_rate=settings.learning_rate * FINETUNE_RATE_FACTOR,
        head_only=strategy == "head-only",
    )
