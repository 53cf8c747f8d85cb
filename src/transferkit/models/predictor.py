"""The one interface of every trained model a strategy returns, saves and predicts with.

A strategy returns a `TransferModel` (backbone + head) or, from strategy auto, a `FeatureModel` (classic or
concatenated features + logistic regression); code above the strategies asks for a `Predictor` and uses
only what both provide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from transferkit.backbones.base import Backbone
from transferkit.progress import progress_bar


@runtime_checkable
class Predictor(Protocol):
    """Raw inputs -> one row of output probabilities per input, in `class_names` order.

    Usage:

        proba = model.predict_proba(["Stale and overpriced."], batch_size=32)  # (1, len(model.class_names))
    """

    class_names: list[str]  # the outputs' names, in column order
    kind: str  # how it is saved: "transfer" (backbone + head), "classic" or "concat" (feature models), "ensemble"

    @property
    def modality(self) -> str:
        """The inputs it reads: text, image, audio or tabular."""
        ...

    @property
    def backbone(self) -> Backbone | None:
        """The pretrained backbone it embeds with (None for a classic model, which uses none)."""
        ...

    def predict_proba(self, inputs: list[str], *, batch_size: int = 32) -> np.ndarray:
        """Probabilities for raw inputs, shape (len(inputs), len(class_names))."""
        ...

    # The tensor-level graph that export traces: raw inputs -> named tensors -> output logits.
    def model_inputs(self, inputs: list[str]) -> tuple[tuple[torch.Tensor, ...], list[str]]:
        """The model-ready tensors for raw `inputs`, and their names in an exported graph."""
        ...

    def forward_tensors(self, *tensors: torch.Tensor) -> torch.Tensor:
        """Output logits from `model_inputs`' tensors."""
        ...

    def activate(self, outputs: torch.Tensor) -> torch.Tensor:
        """Predictions of output logits: softmax (one class), sigmoid (multi-label) or none (regression)."""
        ...


def batched_proba(
    inputs: list[str], *, batch_size: int, outputs: int, proba_of: Callable[[int, list[str]], torch.Tensor]
) -> np.ndarray:
    """`proba_of(start, items)` over `inputs` in batches of `batch_size`, with the "Predicting" bar; `start` lets a
    caller slice its cached embeddings. Shape (len(inputs), outputs), also for no inputs."""
    chunks = []
    with progress_bar("Predicting", total=len(inputs)) as advance:
        for start in range(0, len(inputs), batch_size):
            items = inputs[start : start + batch_size]
            chunks.append(proba_of(start, items).numpy())
            advance(len(items))
    return np.concatenate(chunks) if chunks else np.zeros((0, outputs), np.float32)
