"""A trained transfer model: pretrained backbone + classification head + the class names."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from transferkit.backbones.base import Backbone, Batch
from transferkit.models.heads import ClassifierHead
from transferkit.models.predictor import batched_proba


class TransferModel(nn.Module):
    """Maps raw inputs (image paths or texts) to class probabilities."""

    kind = "transfer"  # how it is saved (see `transferkit.models.predictor.Predictor`)

    def __init__(self, backbone: Backbone, head: ClassifierHead, class_names: list[str]) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.class_names = list(class_names)

    @property
    def modality(self) -> str:
        return self.backbone.modality

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.head(self.backbone(batch))

    def model_inputs(self, inputs: list[str]) -> tuple[tuple[torch.Tensor, ...], list[str]]:
        """The tensors `forward_tensors` takes for raw `inputs`, and their names in an exported graph."""
        batch = self.backbone.load_batch(inputs)
        if isinstance(batch, dict):  # a tokenizer's output
            return (batch["input_ids"], batch["attention_mask"]), ["input_ids", "attention_mask"]
        return (batch,), ["pixels"]

    def forward_tensors(self, *tensors: torch.Tensor) -> torch.Tensor:
        """Logits from `model_inputs`' tensors (the graph an export traces): a tokenizer's two, or one batch."""
        if len(tensors) == 2:
            return self({"input_ids": tensors[0], "attention_mask": tensors[1]})
        return self(tensors[0])

    def activate(self, outputs: torch.Tensor) -> torch.Tensor:
        """Predictions of output logits by the head's activation (softmax, sigmoid or none)."""
        return self.head.activate(outputs)

    @torch.inference_mode()
    def predict_proba_features(self, features: np.ndarray) -> np.ndarray:
        """Probabilities from precomputed backbone embeddings."""
        self.eval()
        return self.head.activate(self.head(torch.as_tensor(features, dtype=torch.float32))).numpy()

    @torch.inference_mode()
    def predict_proba(self, inputs: list[str], *, batch_size: int = 32) -> np.ndarray:
        """Probabilities for raw inputs, shape (len(inputs), num_classes), with a progress bar."""
        self.eval()
        return batched_proba(
            inputs,
            batch_size=batch_size,
            outputs=len(self.class_names),
            proba_of=lambda _start, items: self.activate(self(self.backbone.load_batch(items))),
        )
