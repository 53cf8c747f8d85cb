"""Text encoders built on Hugging Face transformers (BERT family), with mean or CLS pooling."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from transferkit.backbones.base import Backbone, WeightsCfg

Pooling = Literal["mean", "cls"]


class TextEncoderBackbone(Backbone):
    """A transformers encoder + its tokenizer; embeddings are pooled token states."""

    modality = "text"

    def __init__(self, model: nn.Module, tokenizer, *, spec: str, weights_cfg: WeightsCfg) -> None:
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.spec = spec
        self.weights_cfg = weights_cfg
        self.num_features = model.config.hidden_size
        self.max_length = int(weights_cfg.preprocessing["max_length"])
        self.pooling: Pooling = weights_cfg.preprocessing["pooling"]

    def load_batch(self, inputs: list[str]) -> dict[str, torch.Tensor]:
        encoded = self.tokenizer(
            list(inputs), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        return dict(encoded)

    def forward_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(**batch).last_hidden_state

    def pool(self, features: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.pooling == "cls":
            return features[:, 0]
        mask = batch["attention_mask"].unsqueeze(-1).to(features.dtype)
        return (features * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def layer_groups(self) -> list[nn.Module]:
        groups: list[nn.Module] = [self.model.embeddings]
        groups.extend(self.model.encoder.layer)
        if getattr(self.model, "pooler", None) is not None:
            groups.append(self.model.pooler)
        return groups
