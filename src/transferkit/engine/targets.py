"""Single-label classification as a `TrainingTarget`: class indices, softmax, cross-entropy or focal loss.

The classification task (`transferkit.tasks.classification`) builds one from the run's options; the engine
builds one from `TrainOptions` when it is given none, so a module made in a test or a notebook trains as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from transferkit.data.labels import as_number, split_label_set
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


@dataclass
class MultiLabelTarget:
    """Any number of labels per example: label sets -> 0/1 rows over `output_names`, one sigmoid per label.

    The loss is binary cross-entropy with optional per-label positive weights (rare labels count more when
    present); validation logs the unweighted BCE and the per-label accuracy (1 - Hamming loss).

    Example:
        >>> target = MultiLabelTarget(output_names=["comedy", "drama", "war"])
        >>> target.encode(["drama|war", "comedy"]).tolist()
        [[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]
    """

    output_names: list[str]
    separator: str = "|"
    positive_weights: list[float] | None = None  # per label; None = unweighted
    activation: str = field(default="sigmoid", init=False)

    def encode(self, labels: Sequence[str]) -> torch.Tensor:
        index = {name: position for position, name in enumerate(self.output_names)}
        rows = torch.zeros(len(labels), len(self.output_names))
        for row, cell in enumerate(labels):
            for name in split_label_set(cell, self.separator):
                if name in index:  # a label the training split never had cannot be learnt; the task reports it
                    rows[row, index[name]] = 1.0
        return rows

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        weights = None if self.positive_weights is None else torch.tensor(self.positive_weights, device=outputs.device)
        return F.binary_cross_entropy_with_logits(outputs, targets.to(outputs.dtype), pos_weight=weights)

    def validation_scores(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        return {
            "val_loss": F.binary_cross_entropy_with_logits(outputs, targets.to(outputs.dtype)),
            "val_accuracy": ((outputs > 0).to(targets.dtype) == targets).float().mean(),
        }


@dataclass
class RegressionTarget:
    """A number per example, standardised with the training split's mean and scale; one linear output.

    The loss is the mean squared error or the Huber loss (delta 1: one standard deviation of the target).

    Example:
        >>> target = RegressionTarget(mean=10.0, scale=2.0)
        >>> target.encode(["12", "9"]).tolist()
        [[1.0], [-0.5]]
    """

    mean: float
    scale: float
    loss_name: str = "mse"  # or "huber"
    output_names: list[str] = field(default_factory=lambda: ["value"])
    activation: str = field(default="identity", init=False)

    def encode(self, labels: Sequence[str]) -> torch.Tensor:
        values = [as_number(label) for label in labels]
        bad = [label for label, value in zip(labels, values, strict=True) if value is None]
        if bad:
            raise DataError(f"Regression labels must be finite numbers; got {', '.join(map(repr, bad[:3]))}.")
        return ((torch.tensor(values, dtype=torch.float32) - self.mean) / self.scale).unsqueeze(1)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        targets = targets.to(outputs.dtype)
        if self.loss_name == "huber":
            return F.huber_loss(outputs, targets, delta=1.0)
        return F.mse_loss(outputs, targets)

    def validation_scores(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        targets = targets.to(outputs.dtype)
        return {"val_loss": F.mse_loss(outputs, targets), "val_mae": (outputs - targets).abs().mean()}
