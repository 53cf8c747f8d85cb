"""Classification heads that sit on the backbone's pooled embedding.

Each head standardises its input with statistics of the training embeddings (stored as buffers,
so they are saved with the weights): a linear model on standardised features trains far better.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

HeadKind = Literal["linear", "mlp"]


class Standardize(nn.Module):
    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(num_features))
        self.register_buffer("scale", torch.ones(num_features))

    @torch.no_grad()
    def fit(self, features: torch.Tensor) -> Standardize:
        self.mean.copy_(features.mean(dim=0))
        self.scale.copy_(features.std(dim=0).clamp(min=1e-6))
        return self

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.mean) / self.scale


class ClassifierHead(nn.Module):
    """Standardise -> dropout -> linear, or -> hidden layer with GELU -> linear for `kind="mlp"`."""

    def __init__(
        self,
        *,
        in_features: int,
        num_classes: int,
        kind: HeadKind = "linear",
        hidden_dim: int = 256,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.config = {
            "in_features": in_features,
            "num_classes": num_classes,
            "kind": kind,
            "hidden_dim": hidden_dim,
            "dropout": dropout,
        }
        self.standardize = Standardize(in_features)
        if kind == "linear":
            self.layers = nn.Sequential(nn.Dropout(dropout), nn.Linear(in_features, num_classes))
        else:
            self.layers = nn.Sequential(
                nn.Dropout(dropout),
                nn.Linear(in_features, hidden_dim),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(hidden_dim, num_classes),
            )

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.layers(self.standardize(embeddings))
