"""`--logger csv | tensorboard | mlflow`: each writes its training curves under the run folder."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from transferkit.engine import ClassifierModule, LayerGroup, TrainerOptions, TrainOptions, build_trainer
from transferkit.errors import ConfigError, MissingDependencyError


def _fit(tmp_path, logger: str):
    torch.manual_seed(0)
    x = torch.randn(32, 4)
    loader = DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=8)
    model = nn.Linear(4, 2)
    module = ClassifierModule(model, groups=[LayerGroup("all", model)], options=TrainOptions(lr=0.1))
    trainer = build_trainer(run_dir=tmp_path, options=TrainerOptions(max_epochs=2, checkpoint=False, logger=logger))
    trainer.fit(module, train_dataloaders=loader, val_dataloaders=loader)
    return trainer


def test_csv_logger_writes_one_row_per_logged_step_under_the_run_folder(tmp_path):
    import pandas as pd

    _fit(tmp_path, "csv")
    frame = pd.read_csv(tmp_path / "logs" / "metrics.csv")
    assert {"train_loss", "val_loss", "epoch"} <= set(frame.columns)
    assert sorted(frame["epoch"].dropna().unique()) == [0, 1]


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="tensorboard not installed")
def test_tensorboard_logger_writes_event_files_with_the_losses(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _fit(tmp_path, "tensorboard")
    events = EventAccumulator(str(tmp_path / "logs")).Reload()
    assert {"train_loss", "val_loss"} <= set(events.Tags()["scalars"])
    assert len(events.Scalars("val_loss")) == 2  # one per epoch


def test_missing_logger_package_names_the_extra_and_unknown_logger_is_a_config_error(tmp_path):
    if importlib.util.find_spec("mlflow") is None:
        with pytest.raises(MissingDependencyError, match=r"transferkit\[mlflow\]"):
            _fit(tmp_path, "mlflow")
    with pytest.raises(ConfigError, match="'logger' option must be one of csv, tensorboard, mlflow"):
        _fit(tmp_path, "wandb")
