"""Optimisers built from parameter groups, each with an `lr_scale` (discriminative / layer-wise rates).

A `LayerGroup` is a set of modules trained at ``lr * lr_scale``. Whether it trains is decided once,
when the run is planned: `unfreeze_epoch` 0 trains from the start, N from epoch N (gradual unfreezing),
None never (its parameters get ``requires_grad=False`` and never enter the optimiser). Because the
state is a function of the epoch alone, a run resumed from a checkpoint unfreezes exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from transferkit.errors import ConfigError

DEFAULT_LR = {"lbfgs": 1.0, "adamw": 1e-3, "adam": 1e-3, "sgd": 1e-2, "rmsprop": 1e-3}
OPTIMIZERS = tuple(DEFAULT_LR)

ParamFilter = Callable[[str, nn.Parameter], bool]


@dataclass
class LayerGroup:
    """A named set of modules trained at `lr_scale` times the base learning rate.

    Args:
        name: Shown in logs and in the optimiser's param groups.
        module: The modules of the group.
        lr_scale: Multiplier on the base learning rate.
        unfreeze_epoch: First epoch the group trains (0: from the start; None: frozen for the whole run).
        param_filter: Only parameters for which ``param_filter(name, parameter)`` is true train (BitFit: biases).
        weight_decay: This group's decay (None: the run's); L2-SP sets 0 on the backbone, its penalty replaces it.

    Example:
        >>> LayerGroup("head", nn.Linear(4, 2), lr_scale=10.0).unfreeze_epoch
        0
    """

    name: str
    module: nn.Module
    lr_scale: float = 1.0
    unfreeze_epoch: int | None = 0
    param_filter: ParamFilter | None = None
    weight_decay: float | None = None

    def trainable_parameters(self) -> list[tuple[str, nn.Parameter]]:
        if self.unfreeze_epoch is None:
            return []
        return [
            (n, p) for n, p in self.module.named_parameters() if self.param_filter is None or self.param_filter(n, p)
        ]

    def trains_at(self, epoch: int) -> bool:
        return self.unfreeze_epoch is not None and epoch >= self.unfreeze_epoch


def apply_requires_grad(groups: list[LayerGroup]) -> None:
    """Parameters that never train get ``requires_grad=False`` (no gradients computed); the rest True."""
    for group in groups:
        group.module.requires_grad_(False)
    for group in groups:
        for _, parameter in group.trainable_parameters():
            parameter.requires_grad_(True)


def no_decay(name: str, parameter: nn.Parameter) -> bool:
    """Biases and normalisation scales / shifts (1-D): decaying them hurts and is not regularisation."""
    return parameter.ndim <= 1 or name.endswith(".bias")


def param_groups(groups: list[LayerGroup], *, lr: float, weight_decay: float) -> list[dict]:
    """torch optimiser groups: per layer group, one with weight decay and one without (norms and biases).

    Example:
        >>> [g["name"] for g in param_groups([LayerGroup("head", nn.Linear(4, 2))], lr=0.1, weight_decay=0.01)]
        ['head', 'head.no_decay']
    """
    result = []
    for group in groups:
        decay, plain = [], []
        for name, parameter in group.trainable_parameters():
            if parameter.requires_grad:
                (plain if no_decay(name, parameter) else decay).append(parameter)
        group_decay = weight_decay if group.weight_decay is None else group.weight_decay
        for params, wd, suffix in ((decay, group_decay, ""), (plain, 0.0, ".no_decay")):
            if params:
                result.append(
                    {
                        "params": params,
                        "lr": lr * group.lr_scale,
                        "weight_decay": wd,
                        "name": group.name + suffix,
                        "lr_scale": group.lr_scale,
                    }
                )
    return result


def build_optimizer(
    name: str, groups: list[dict], *, lr: float, momentum: float = 0.9, nesterov: bool = True
) -> torch.optim.Optimizer:
    """The named optimiser over `groups`. L-BFGS takes one group and no weight decay (added to the loss).

    Example:
        >>> groups = param_groups([LayerGroup("h", nn.Linear(4, 2))], lr=0.1, weight_decay=0)
        >>> opt = build_optimizer("sgd", groups, lr=0.1)
        >>> type(opt).__name__
        'SGD'
    """
    if name == "lbfgs":
        params = [p for group in groups for p in group["params"]]
        return torch.optim.LBFGS(params, lr=lr, max_iter=25, history_size=20, line_search_fn="strong_wolfe")
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    if name == "adam":
        # Adam's weight_decay is L2 added to the gradient (coupled); AdamW decouples it.
        return torch.optim.Adam(groups, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0)
    if name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, momentum=momentum)
    raise ConfigError(f"The 'optimizer' option must be one of {', '.join(OPTIMIZERS)}. Got '{name}'.")


def l2_penalty(groups: list[dict]) -> torch.Tensor:
    """0.5 * sum(wd * ||w||^2) over decayed groups: weight decay for optimisers that lack it (L-BFGS)."""
    total = torch.zeros(())
    for group in groups:
        if group["weight_decay"]:
            total = total + 0.5 * group["weight_decay"] * sum(p.pow(2).sum() for p in group["params"])
    return total
