"""Training losses for imbalanced classes: weighted cross-entropy and the multi-class focal loss.

Focal loss (Lin et al., ICCV 2017) scales each example's cross-entropy by (1 - p_t)^gamma, so the many
examples the model already gets right add little and the rare, hard ones dominate. torchvision's
sigmoid_focal_loss is binary / multi-label only; this is the softmax form, with optional class weights
(the paper's alpha) and soft targets (mixup / cutmix / label smoothing).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def focal_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    gamma: float = 2.0,
    weight: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Mean softmax focal loss; `targets` are class indices or per-class probabilities.

    Example:
        >>> logits, targets = torch.tensor([[2.0, 0.0], [0.0, 2.0]]), torch.tensor([0, 1])
        >>> bool(torch.isclose(focal_loss(logits, targets, gamma=0.0), F.cross_entropy(logits, targets)))
        True
    """
    num_classes = logits.shape[-1]
    if targets.ndim == 1:
        targets = F.one_hot(targets, num_classes).to(logits.dtype)
    if label_smoothing:
        targets = targets * (1.0 - label_smoothing) + label_smoothing / num_classes
    log_p = logits.log_softmax(dim=-1)
    per_class = -targets * (1.0 - log_p.exp()).pow(gamma) * log_p
    if weight is not None:
        per_class = per_class * weight
        # Weighted mean as in F.cross_entropy: divide by the total weight of the targets.
        return per_class.sum() / (targets * weight).sum()
    return per_class.sum(dim=-1).mean()


def classification_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    loss: str = "cross-entropy",
    gamma: float = 2.0,
    weight: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Cross-entropy or focal loss, with optional class weights."""
    if weight is not None:
        weight = weight.to(device=logits.device, dtype=logits.dtype)
    if loss == "focal":
        return focal_loss(logits, targets, gamma=gamma, weight=weight, label_smoothing=label_smoothing)
    return F.cross_entropy(logits, targets, weight=weight, label_smoothing=label_smoothing)
