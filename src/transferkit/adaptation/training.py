"""Training an adaptation head on embeddings with Lightning: classifier + alignment loss between domains.

The network is transferkit's MLP `ClassifierHead` (standardise -> linear -> GELU -> linear), so an
adapted model saves and loads like any `fit` model; its hidden layer is the shared feature space
that DANN's domain discriminator, CORAL and MMD align across domains.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from transferkit.adaptation.losses import GradientReversal, coral_loss, multi_kernel_mmd
from transferkit.engine import HistoryCallback
from transferkit.models.heads import ClassifierHead
from transferkit.progress import progress_enabled


@dataclass
class TrainConfig:
    """Hyper-parameters of one head training run."""

    alignment: str = "none"
    weight: float = 1.0
    epochs: int = 40
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    hidden_dim: int = 256
    dropout: float = 0.2


def bottleneck(head: ClassifierHead, features: torch.Tensor) -> torch.Tensor:
    """The hidden representation of an MLP head: the feature space that alignment losses act on."""
    return head.layers[:3](head.standardize(features))


def classify(head: ClassifierHead, hidden: torch.Tensor) -> torch.Tensor:
    return head.layers[3:](hidden)


class AdaptationModule(L.LightningModule):
    """Cross-entropy on labelled rows (source, plus weighted target rows) + an alignment loss on target batches."""

    def __init__(self, head: ClassifierHead, target: torch.Tensor, config: TrainConfig, total_steps: int) -> None:
        super().__init__()
        self.head = head
        self.target = target
        self.config = config
        self.total_steps = max(1, total_steps)
        self.reversal = GradientReversal(weight=0.0)
        hidden = head.config["hidden_dim"]
        self.discriminator = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def alignment_weight(self) -> float:
        """DANN's schedule 2 / (1 + exp(-10 p)) - 1 over training progress p, times the configured weight."""
        progress = min(1.0, self.global_step / self.total_steps)
        return self.config.weight * (2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0)

    def training_step(self, batch, batch_index: int) -> torch.Tensor:
        inputs, targets, weights = batch
        hidden = bottleneck(self.head, inputs)
        loss = (F.cross_entropy(classify(self.head, hidden), targets, reduction="none") * weights).sum() / weights.sum()
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        alignment = self.config.alignment
        if alignment != "none" and len(self.target):
            pick = torch.randint(len(self.target), (inputs.shape[0],))
            target_hidden = bottleneck(self.head, self.target[pick])
            if alignment == "dann":
                self.reversal.weight = self.alignment_weight()
                joint = self.reversal(torch.cat([hidden, target_hidden]))
                domains = torch.cat([torch.zeros(len(hidden)), torch.ones(len(target_hidden))])
                extra = F.binary_cross_entropy_with_logits(self.discriminator(joint).squeeze(1), domains)
            elif alignment == "coral":
                extra = self.config.weight * coral_loss(hidden, target_hidden)
            else:
                extra = self.config.weight * multi_kernel_mmd(hidden, target_hidden)
            self.log("align_loss", extra, on_step=False, on_epoch=True)
            loss = loss + extra
        return loss

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay)


def _trainer(max_epochs: int, history: HistoryCallback) -> L.Trainer:
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return L.Trainer(
        accelerator="cpu",  # a small head on cached embeddings: a GPU round trip costs more than it saves
        devices=1,
        max_epochs=max_epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=progress_enabled(),
        enable_model_summary=False,
        num_sanity_val_steps=0,
        deterministic=True,
        callbacks=[history],
    )


def new_head(num_features: int, num_classes: int, config: TrainConfig, source: np.ndarray) -> ClassifierHead:
    head = ClassifierHead(
        in_features=num_features,
        num_classes=num_classes,
        kind="mlp",
        hidden_dim=config.hidden_dim,
        dropout=config.dropout,
    )
    head.standardize.fit(torch.as_tensor(source, dtype=torch.float32))
    return head


def train_head(
    head: ClassifierHead,
    *,
    inputs: np.ndarray,
    targets: np.ndarray,
    target_features: np.ndarray,
    config: TrainConfig,
    sample_weights: np.ndarray | None = None,
) -> list[dict[str, float]]:
    """Train `head` in place on labelled rows, aligning with `target_features`; returns the per-epoch history."""
    weights = np.ones(len(inputs), np.float32) if sample_weights is None else sample_weights.astype(np.float32)
    dataset = TensorDataset(
        torch.as_tensor(inputs, dtype=torch.float32),
        torch.as_tensor(targets, dtype=torch.long),
        torch.as_tensor(weights),
    )
    loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=True, drop_last=len(dataset) > config.batch_size)
    total_steps = len(loader) * config.epochs
    head.train()
    module = AdaptationModule(head, torch.tensor(target_features, dtype=torch.float32), config, total_steps)
    history = HistoryCallback()
    _trainer(config.epochs, history).fit(module, loader)
    head.eval()
    return history.epochs


@torch.inference_mode()
def predict_head(head: ClassifierHead, features: np.ndarray) -> np.ndarray:
    """Class probabilities of `head` on embeddings."""
    head.eval()
    return head(torch.as_tensor(features, dtype=torch.float32)).softmax(dim=-1).numpy()


@torch.inference_mode()
def hidden_features(head: ClassifierHead, features: np.ndarray) -> np.ndarray:
    head.eval()
    return bottleneck(head, torch.as_tensor(features, dtype=torch.float32)).numpy()
