"""Optimisers built from parameter groups, each with an `lr_scale` (0 freezes a group for the step)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

DEFAULT_LR = {"lbfgs": 1.0, "adamw": 1e-3, "adam": 1e-3, "sgd": 1e-2}


@dataclass
class LayerGroup:
    """A named set of modules trained at `lr_scale` times the base learning rate."""

    name: str
    module: nn.Module
    lr_scale: float = 1.0


def _no_decay(name: str, parameter: nn.Parameter) -> bool:
    # Biases and normalisation scales/shifts are 1-D: decaying them hurts and is not regularisation.
    return parameter.ndim <= 1 or name.endswith(".bias")


def param_groups(groups: list[LayerGroup], *, lr: float, weight_decay: float) -> list[dict]:
    """torch optimiser groups: per layer group, one with weight decay and one without."""
    result = []
    for group in groups:
        decay, plain = [], []
        for name, parameter in group.module.named_parameters():
            if parameter.requires_grad:
                (plain if _no_decay(name, parameter) else decay).append(parameter)
        for params, wd, suffix in ((decay, weight_decay, ""), (plain, 0.0, ".no_decay")):
            if params:
                result.append(
                    {"params": params, "lr": lr * group.lr_scale, "weight_decay": wd, "name": group.name + suffix,
                     "lr_scale": group.lr_scale}
                )
    return result


def build_optimizer(name: str, groups: list[dict], *, lr: float) -> torch.optim.Optimizer:
    """The named optimiser over `groups`. L-BFGS takes one group and no weight decay (added to the loss)."""
    if name == "lbfgs":
        params = [p for group in groups for p in group["params"]]
        return torch.optim.LBFGS(params, lr=lr, max_iter=25, history_size=20, line_search_fn="strong_wolfe")
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True)
    raise ValueError(f"unknown optimizer {name!r}")


def l2_penalty(groups: list[dict]) -> torch.Tensor:
    """0.5 * sum(wd * ||w||^2) over decayed groups: weight decay for optimisers that lack it (L-BFGS)."""
    total = torch.zeros(())
    for group in groups:
        if group["weight_decay"]:
            total = total + 0.5 * group["weight_decay"] * sum(p.pow(2).sum() for p in group["params"])
    return total
