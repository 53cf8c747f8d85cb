"""Parameter groups, optimisers and the documented schedule curves."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from transferkit.engine import LayerGroup, build_optimizer, build_schedulers, param_groups
from transferkit.errors import ConfigError


def _net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 3))


def test_norms_and_biases_get_no_weight_decay():
    net = _net()
    groups = param_groups([LayerGroup("body", net)], lr=0.1, weight_decay=0.05)
    by_name = {g["name"]: g for g in groups}
    decayed = {id(p) for p in by_name["body"]["params"]}
    plain = {id(p) for p in by_name["body.no_decay"]["params"]}
    assert decayed == {id(net[0].weight), id(net[2].weight)}
    assert plain == {id(net[0].bias), id(net[1].weight), id(net[1].bias), id(net[2].bias)}
    assert by_name["body"]["weight_decay"] == 0.05 and by_name["body.no_decay"]["weight_decay"] == 0.0


def test_group_lr_scale_frozen_groups_and_group_decay_override():
    net = _net()
    groups = [
        LayerGroup("low", net[0], lr_scale=0.25, unfreeze_epoch=None),
        LayerGroup("mid", net[1], lr_scale=0.5, weight_decay=0.0),
        LayerGroup("top", net[2], lr_scale=2.0),
    ]
    built = param_groups(groups, lr=0.1, weight_decay=0.01)
    assert {g["name"]: g["lr"] for g in built} == {"mid.no_decay": 0.05, "top": 0.2, "top.no_decay": 0.2}
    assert all(g["weight_decay"] == 0.0 for g in built if g["name"].startswith("mid"))


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop", "lbfgs"])
def test_each_optimizer_steps(name):
    torch.manual_seed(0)
    net = nn.Linear(3, 2)
    before = net.weight.detach().clone()
    optimizer = build_optimizer(name, param_groups([LayerGroup("h", net)], lr=0.1, weight_decay=0.0), lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = net(torch.ones(4, 3)).pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    assert not torch.equal(before, net.weight)


def test_sgd_momentum_and_nesterov_are_passed_and_unknown_optimizer_is_a_config_error():
    groups = param_groups([LayerGroup("h", nn.Linear(2, 2))], lr=0.1, weight_decay=0.0)
    sgd = build_optimizer("sgd", groups, lr=0.1, momentum=0.8, nesterov=True)
    assert sgd.param_groups[0]["momentum"] == 0.8 and sgd.param_groups[0]["nesterov"] is True
    with pytest.raises(ConfigError, match="must be one of"):
        build_optimizer("adagrad", groups, lr=0.1)


def _curve(name: str, *, steps: int = 40, per_epoch: int = 10, warmup: int = 0, **kwargs) -> list[float]:
    optimizer = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=1.0)
    configs = build_schedulers(
        name, optimizer, total_steps=steps, steps_per_epoch=per_epoch, warmup_steps=warmup, **kwargs
    )
    scheduler = configs[-1]["scheduler"]
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


def test_step_exponential_and_cosine_follow_the_documented_formulas():
    step = _curve("step", step_size=2, gamma=0.1)
    assert step == pytest.approx([0.1 ** (t // 20) for t in range(40)])
    exponential = _curve("exponential", gamma=0.5)
    assert exponential == pytest.approx([0.5 ** (t / 10) for t in range(40)])
    cosine = _curve("cosine")
    assert cosine == pytest.approx([0.5 * (1 + math.cos(math.pi * t / 40)) for t in range(40)])


def test_warmup_rises_linearly_then_hands_over_to_cosine():
    lrs = _curve("cosine", warmup=10)
    assert lrs[0] == pytest.approx(0.01)
    assert lrs[:10] == pytest.approx([0.01 + 0.99 * t / 10 for t in range(10)])
    assert lrs[10] == pytest.approx(1.0)
    assert lrs[10:] == pytest.approx([0.5 * (1 + math.cos(math.pi * t / 30)) for t in range(30)])


def test_one_cycle_peaks_at_the_rate_and_ends_near_zero():
    lrs = _curve("one-cycle", warmup=10)
    assert max(lrs) == pytest.approx(1.0) and lrs.index(max(lrs)) in (9, 10)
    assert lrs[0] == pytest.approx(1.0 / 25) and lrs[-1] < 1e-3


def test_plateau_reduces_when_the_metric_stalls_and_unknown_schedule_errors():
    optimizer = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=1.0)
    (config,) = build_schedulers("plateau", optimizer, total_steps=10, steps_per_epoch=1, gamma=0.5, patience=1)
    assert config["interval"] == "epoch" and config["monitor"] == "val_loss"
    for loss in (1.0, 1.0, 1.0, 1.0):
        config["scheduler"].step(loss)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="one of constant, step"):
        build_schedulers("linear", optimizer, total_steps=10, steps_per_epoch=1)
