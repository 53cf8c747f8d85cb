"""Single-label classification as a `TrainingTarget`: class indices, softmax, cross-entropy or focal loss.

The classification task (`transferkit.tasks.classification`) builds one from the run's options; the engine
builds one from `TrainOptions` when it is given none, so a module made in a test or a notebook trains as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from transferkit.errors import DataError
from transferkit.imbalance.losses import classification_loss


@dataclass
class SingleLabelTarget:
    """One class per example: labels -> indices into `output_names`, softmax outputs.

    The training loss is cross-entropy (or the focal loss), with optional per-class weights and label
    smoothing; validation logs the plain cross-entropy and the accuracy, whatever trains.

    Example:
        >>> target = SingleLabelTarget(output_names=["bad", "good"])
        >>> target.encode(["good", "bad"]).tolist()
        [1, 0]
    """

    output_names: list[str]
    loss_name: str = "cross-entropy"  # or "focal"
    focal_gamma: float = 2.0
    class_weights: list[float] | None = None  # per class index; None = unweighted
    label_smoothing: float = 0.0
    activation: str = field(default="softmax", init=False)

    def encode(self, labels: Sequence[str]) -> torch.Tensor:
        index = {name: position for position, name in enumerate(self.output_names)}
        unknown = sorted(set(labels) - set(index))
        if unknown:
            raise DataError(f"Label(s) {', '.join(unknown)} are not among the classes {', '.join(self.output_names)}.")
        return torch.tensor([index[label] for label in labels], dtype=torch.long)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return classification_loss(
            outputs,
            targets,
            loss=self.loss_name,
            gamma=self.focal_gamma,
            weight=None if self.class_weights is None else torch.tensor(self.class_weights),
            label_smoothing=self.label_smoothing,
        )

    def validation_scores(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        return {
            "val_loss": F.cross_entropy(outputs, targets),
            "val_accuracy": (outputs.argmax(dim=-1) == targets).float().mean(),
        }
