"""`--max-minutes` (TrainerOptions.max_seconds): Lightning stops a run at its wall-clock limit, mid-schedule."""

from __future__ import annotations

import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from transferkit.config import RunSpec
from transferkit.engine import ClassifierModule, LayerGroup, TrainerOptions, TrainOptions, build_trainer
from transferkit.strategies.auto import final_fit_limit


class SlowLinear(nn.Linear):
    def forward(self, x):
        time.sleep(0.05)  # a step as slow as a busy machine's, without using CPU
        return super().forward(x)


def test_a_run_stops_at_its_time_limit_long_before_its_epochs_end(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(32, 4)
    loader = DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=8)  # 4 steps: ~0.2 s an epoch
    model = SlowLinear(4, 2)
    module = ClassifierModule(model, groups=[LayerGroup("all", model)], options=TrainOptions(lr=0.1))
    options = TrainerOptions(max_epochs=500, checkpoint=False, max_seconds=1.0)  # ~100 s without the limit
    trainer = build_trainer(run_dir=tmp_path, options=options)
    started = time.perf_counter()
    trainer.fit(module, train_dataloaders=loader)
    assert time.perf_counter() - started < 30
    assert 1 <= trainer.current_epoch < 100


def test_auto_limits_its_final_fine_tune_to_what_is_left_of_the_budget():
    spec = RunSpec.model_validate({"run": {"budget_minutes": 2.0}})
    assert final_fit_limit(spec, spent_seconds=60.0).run.max_minutes == 1.0  # 120 s budget, 60 s spent
    assert final_fit_limit(spec, spent_seconds=119.0).run.max_minutes == 10 / 60  # the 10 s floor
    assert final_fit_limit(spec, spent_seconds=60.0, reserve=30.0).run.max_minutes == 0.5  # 30 s kept for saving
    mine = spec.with_overrides({"run.max_minutes": 0.25})
    assert final_fit_limit(mine, spent_seconds=0.0).run.max_minutes == 0.25  # the user's own limit is smaller
    best = spec.with_overrides({"run.preset": "best"})
    assert final_fit_limit(best, spent_seconds=60.0).run.max_minutes == 7.0  # four times the budget
