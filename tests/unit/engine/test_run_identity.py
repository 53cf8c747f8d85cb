"""Checkpoints carry their run's id: resuming a run from another run's checkpoint fails clearly."""

from __future__ import annotations

import shutil

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from transferkit.engine import ClassifierModule, LayerGroup, TrainerOptions, TrainOptions, build_trainer
from transferkit.engine.trainer import fit_with_resume
from transferkit.errors import ArtifactError
from transferkit.run_folder import RunFolder


def _train(run_dir, epochs: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(32, 4)
    loader = DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=8)
    model = nn.Linear(4, 2)
    module = ClassifierModule(model, groups=[LayerGroup("all", model)], options=TrainOptions(lr=0.1))
    trainer = build_trainer(run_dir=run_dir, options=TrainerOptions(max_epochs=epochs, logger="csv"))
    fit_with_resume(trainer, module, run_dir=run_dir, train_loader=loader, valid_loader=loader)


def test_a_run_resumes_its_own_checkpoint_but_refuses_a_foreign_one(tmp_path):
    first = RunFolder.claim(tmp_path, "first", overwrite=False)
    _train(first.path, epochs=1)
    _train(first.path, epochs=2)  # its own checkpoint: resumes without complaint
    second = RunFolder.claim(tmp_path, "second", overwrite=False)
    shutil.copytree(first.path / "checkpoints", second.path / "checkpoints")
    with pytest.raises(ArtifactError, match="belongs to another run"):
        _train(second.path, epochs=3)
