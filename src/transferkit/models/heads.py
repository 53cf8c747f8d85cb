"""Classification heads that sit on the backbone's pooled embedding.

Each head standardises its input with statistics of the training embeddings (stored as buffers,
so they are saved with the weights): a linear model on standardised features trains far better.
A head with `normalize=True` first scales each embedding to unit length, for backbones trained on
cosine similarity (the `contrastive` strategy), whose embeddings carry their meaning in direction only.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

HeadKind = Literal["linear", "mlp"]
# What turns the head's outputs into predictions: one class (softmax), independent labels (sigmoid), a number.
Activation = Literal["softmax", "sigmoid", "identity"]


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
    """[Unit length ->] standardise -> dropout -> linear, or -> hidden layer with GELU -> linear for `kind="mlp"`."""

    def __init__(
        self,
        *,
        in_features: int,
        num_classes: int,
        kind: HeadKind = "linear",
        hidden_dim: int = 256,
        dropout: float = 0.0,
        normalize: bool = False,
        activation: Activation = "softmax",
    ) -> None:
        super().__init__()
        self.config = {
            "in_features": in_features,
            "num_classes": num_classes,
            "kind": kind,
            "hidden_dim": hidden_dim,
            "dropout": dropout,
            "normalize": normalize,
        }
        if activation != "softmax":  # recorded only when not the default: classification's model.json is unchanged
            self.config["activation"] = activation
        self.activation = activation
        self.normalize = normalize
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

    def scaled(self, embeddings: torch.Tensor) -> torch.Tensor:
        """The embeddings as the layers see them: unit length if `normalize`, then standardised."""
        if self.normalize:
            embeddings = F.normalize(embeddings, dim=-1)
        return self.standardize(embeddings)

    @torch.no_grad()
    def fit_scaling(self, features: torch.Tensor, *, uniform: bool = False) -> ClassifierHead:
        """Standardisation statistics from the training embeddings; `uniform` keeps one scale for every
        dimension (the embedding's geometry), instead of each dimension's own standard deviation."""
        if self.normalize:
            features = F.normalize(features, dim=-1)
        self.standardize.fit(features)
        if uniform:
            self.standardize.scale.fill_(float(self.standardize.scale.mean()))
        return self

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.layers(self.scaled(embeddings))

    def activate(self, outputs: torch.Tensor) -> torch.Tensor:
        """Predictions of raw outputs: softmax probabilities, sigmoid probabilities, or the outputs themselves."""
        if self.activation == "sigmoid":
            return outputs.sigmoid()
        if self.activation == "identity":
            return outputs
        return outputs.softmax(dim=-1)
