"""The LightningModule that trains a classifier (a head on features, or backbone + head)."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn
from torch.nn import functional as F

from transferkit.engine.optim import DEFAULT_LR, LayerGroup, build_optimizer, l2_penalty, param_groups


class ClassifierModule(L.LightningModule):
    """Cross-entropy training of `model` over its layer groups with the configured optimiser."""

    def __init__(
        self,
        model: nn.Module,
        *,
        groups: list[LayerGroup],
        optimizer: str = "adamw",
        lr: float | None = None,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__()
        self.model = model
        self.optimizer_name = optimizer
        self.lr = lr if lr is not None else DEFAULT_LR[optimizer]
        self.groups = param_groups(groups, lr=self.lr, weight_decay=weight_decay)

    def forward(self, inputs) -> torch.Tensor:
        return self.model(inputs)

    def training_step(self, batch, batch_index: int) -> torch.Tensor:
        inputs, targets = batch
        loss = F.cross_entropy(self(inputs), targets)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True)
        if self.optimizer_name == "lbfgs":
            loss = loss + l2_penalty(self.groups)
        return loss

    def validation_step(self, batch, batch_index: int) -> None:
        inputs, targets = batch
        logits = self(inputs)
        self.log("val_loss", F.cross_entropy(logits, targets), prog_bar=True)
        self.log("val_accuracy", (logits.argmax(dim=-1) == targets).float().mean(), prog_bar=True)

    def configure_optimizers(self):
        return build_optimizer(self.optimizer_name, self.groups, lr=self.lr)
