"""Contrastive tuning of a backbone's embeddings: SetFit's objective on every pair of each batch."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from transferkit.engine.module import ClassifierModule


def pairwise_cosine_loss(embeddings: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error between each pair's cosine similarity and 1 (same class) or 0 (different classes).

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
    same_class = (targets[rows] == targets[columns]).to(similarity.dtype)
    return F.mse_loss(similarity, same_class)


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
