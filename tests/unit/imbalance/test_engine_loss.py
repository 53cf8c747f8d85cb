"""The Lightning module's training loss follows --class-weight / --loss; fine-tuning resamples raw rows."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from transferkit.config import RunSpec
from transferkit.engine import ClassifierModule, LayerGroup, TrainOptions
from transferkit.imbalance.losses import focal_loss
from transferkit.imbalance.sampling import BalancedBatchSampler
from transferkit.strategies.finetune import imbalance_plan
from transferkit.strategies.options import train_options


def _module(options: TrainOptions) -> tuple[ClassifierModule, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    head = nn.Linear(4, 2)
    module = ClassifierModule(head, groups=[LayerGroup("head", head)], options=options)
    module.log = lambda *args, **kwargs: None  # no Trainer attached: logging is not under test
    inputs, targets = torch.randn(16, 4), torch.tensor([0] * 2 + [1] * 14)
    return module, inputs, targets


def test_training_step_uses_the_spec_class_weights_and_focal_loss():
    spec = RunSpec.from_dict({"imbalance": {"class_weight": "balanced", "loss": "focal", "focal_gamma": 1.5}})
    options = train_options(
        spec, optimizer="adamw", weight_decay=0.0, has_valid=False, class_counts={"bad": 2, "good": 14}
    )
    assert np.allclose(options.class_weights, [4.0, 16 / 28])
    module, inputs, targets = _module(options)
    loss = module.training_step((inputs, targets), 0)
    expected = focal_loss(module(inputs), targets, gamma=1.5, weight=torch.tensor(options.class_weights))
    assert torch.isclose(loss, expected)


def test_plain_options_keep_cross_entropy():
    options = train_options(RunSpec(), optimizer="adamw", weight_decay=0.0, has_valid=False, class_counts={"a": 1})
    assert options.class_weights is None and options.loss == "cross-entropy"
    module, inputs, targets = _module(options)
    assert torch.isclose(module.training_step((inputs, targets), 0), F.cross_entropy(module(inputs), targets))


def test_fine_tuning_oversamples_raw_rows_or_balances_batches():
    inputs = [f"text {i}" for i in range(12)]
    targets = torch.tensor([0] * 10 + [1] * 2)
    spec = RunSpec.from_dict({"imbalance": {"resample": "oversample"}})
    rows, new_targets, sampler = imbalance_plan(inputs, targets, spec)
    assert sampler is None and torch.bincount(new_targets).tolist() == [10, 10]
    assert set(rows) == set(inputs)  # real rows repeated, nothing synthesised
    assert sorted({rows[i] for i in range(len(rows)) if new_targets[i] == 1}) == ["text 10", "text 11"]
    spec = RunSpec.from_dict({"imbalance": {"resample": "balanced-batches"}})
    rows, _, sampler = imbalance_plan(inputs, targets, spec)
    assert rows == inputs and isinstance(sampler, BalancedBatchSampler)
