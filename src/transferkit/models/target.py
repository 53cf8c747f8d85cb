"""What a strategy needs to know about the task it trains for, without knowing the task.

The task plugins (`transferkit.tasks`) sit above the strategies and the engine, so those lower layers
cannot ask a task; instead the task hands them a `TrainingTarget`: how labels become training targets,
how many outputs the head has, the training loss and the validation scores. Single-label classification's
implementation is `transferkit.engine.targets.SingleLabelTarget`; a new task brings its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class TrainingTarget(Protocol):
    """The training side of a task: target encoding, the head's outputs and activation, the losses.

    Usage (what a strategy does with one):

        targets = target.encode(train.labels)            # a tensor the loss takes
        head = ClassifierHead(in_features=..., num_classes=len(target.output_names))
        loss = target.loss(head(embeddings), targets)    # what trains
    """

    output_names: list[str]  # one per head output: class names for classification
    activation: str  # what turns outputs into predictions: "softmax" (one label), "sigmoid", "identity"

    def encode(self, labels: Sequence[str]) -> torch.Tensor:
        """Training targets for `labels` (class indices for classification)."""
        ...

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The training loss of raw head outputs (logits) against encoded (or mixed, soft) targets."""
        ...

    def validation_scores(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        """What the engine logs on validation rows: ``val_loss`` and any other ``val_*`` score."""
        ...
