"""Contrastive tuning of a backbone's embeddings: SetFit's objective on every pair of each batch."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from transferkit.engine.module import ClassifierModule


def pairwise_cosine_loss(embeddings: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error between each pair's cosine similarity and 1 (same class) or 0 (different classes);
    with multi-label targets (0/1 rows), the Jaccard overlap of the pair's label sets (`pair_similarity`).

    SetFit's CosineSimilarityLoss (Tunstall et al., 2022, "Efficient Few-Shot Learning Without Prompts")
    scores pairs sampled from the training set, encoding two texts per pair. Here every one of the
    B (B - 1) / 2 pairs of a batch of B examples is scored from B encodes, so one epoch over n examples
    covers all pairs within its batches at n encodes instead of SetFit's ~n^2. A batch with fewer than two
    examples has no pair and contributes zero (with a graph, so DDP's gradient sync still happens).

    Example:
        >>> e = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
        >>> float(pairwise_cosine_loss(e, torch.tensor([0, 0, 1])))
        0.0
    """
    if len(targets) < 2:
        return embeddings.sum() * 0.0
    unit = F.normalize(embeddings.float(), dim=-1)
    rows, columns = torch.triu_indices(len(targets), len(targets), offset=1, device=embeddings.device)
    similarity = (unit[rows] * unit[columns]).sum(dim=-1)
    return F.mse_loss(similarity, pair_similarity(targets, rows, columns).to(similarity.dtype))


def pair_similarity(targets: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
    """How alike each pair's targets are: 1 / 0 for the same / different class, or for multi-label 0/1 rows the
    Jaccard overlap of the two label sets (|A and B| / |A or B|; two empty sets count as alike), so a pair
    sharing some genres is pulled part of the way instead of counting as "different" (one-vs-rest pairs).

    Example:
        >>> t = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
        >>> pair_similarity(t, torch.tensor([0]), torch.tensor([1])).tolist()
        [0.3333333432674408]
    """
    if targets.dim() == 1:
        return (targets[rows] == targets[columns]).float()
    first, second = targets[rows].float(), targets[columns].float()
    overlap = (first * second).sum(dim=-1)
    union = ((first + second) > 0).float().sum(dim=-1)
    return torch.where(union > 0, overlap / union.clamp(min=1.0), torch.ones_like(union))


class ContrastiveModule(ClassifierModule):
    """Trains `model` (a backbone: inputs -> embeddings) with `pairwise_cosine_loss` over its layer groups.

    Everything else (layer groups and their learning rates, schedules, frozen BatchNorm statistics,
    regularisers such as L2-SP, checkpointed unfreezing state) is the classifier module's.
    """

    def training_step(self, batch, batch_index: int) -> torch.Tensor:
        inputs, targets = batch
        loss = pairwise_cosine_loss(self(inputs), targets)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)
        for regularizer in self.regularizers:
            loss = loss + regularizer()
        return loss

    def validation_step(self, batch, batch_index: int) -> None:
        inputs, targets = batch
        self.log("val_loss", pairwise_cosine_loss(self(inputs), targets), prog_bar=True, sync_dist=True)
