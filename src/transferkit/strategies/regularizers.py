"""Regularisers added to the training loss by fine-tuning strategies."""

from __future__ import annotations

import torch

from transferkit.engine import LayerGroup


class L2SP:
    """L2-SP (Li et al., 2018): ``alpha / 2 * sum ||w - w_pretrained||^2`` over the fine-tuned backbone weights.

    It pulls weights toward their pretrained values instead of toward zero, so it replaces weight decay
    on those groups. The starting point is copied when the regulariser is built (before training), so
    the penalty is exactly zero at the first step.

    Example:
        >>> layer = torch.nn.Linear(3, 2)
        >>> penalty = L2SP([LayerGroup("b", layer)], alpha=0.1)
        >>> float(penalty())
        0.0
    """

    def __init__(self, groups: list[LayerGroup], *, alpha: float) -> None:
        self.alpha = alpha
        self.pairs = [(p, p.detach().clone()) for g in groups for _, p in g.trainable_parameters() if p.ndim > 1]

    def __call__(self) -> torch.Tensor:
        if not self.pairs:
            return torch.zeros(())
        total = sum((p - start.to(p.device)).pow(2).sum() for p, start in self.pairs)
        return 0.5 * self.alpha * total
