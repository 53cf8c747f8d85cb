"""The frozen stage in bfloat16 on CPUs that compute it natively (AVX-512 BF16 or AMX): torch autocast.

On a CPU with bf16 instructions, oneDNN runs the linear layers in bfloat16 at about twice the fp32 rate
(measured on all-MiniLM-L6-v2 in benchmarks/embed_throughput.py). The embeddings move by rounding only; each
`Bf16Embedder` checks that on 8 rows of its first batch (longest to shortest) against fp32 (min cosine >= 0.9999,
the same bar as the ONNX runtime) and raises ConfigError otherwise, so a backbone whose embeddings bf16 would
change is never used in it.
With ``fallback=True`` (the default runtime, ``auto``) a failed check warns once and embeds in fp32 instead.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from transferkit.backbones.base import Backbone, Batch
from transferkit.errors import ConfigError

MIN_COSINE = 0.9999
CHECK_ROWS = 8  # rows of the first batch checked against fp32, spread from its longest text to its shortest


def bf16_supported() -> bool:
    """Whether this CPU computes bfloat16 natively (else autocast would emulate it, slower than fp32)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def bf16_embeddable(backbone: Backbone) -> bool:
    """Whether `backbone` can embed in bf16 here: a torch backbone on the CPU of a machine with bf16 instructions.
    Which modalities do so by default is the modality's choice (`Modality.bf16_by_default`)."""
    if not getattr(backbone, "trainable", True):
        return False
    return all(parameter.device.type == "cpu" for parameter in backbone.parameters()) and bf16_supported()


class Bf16Embedder:
    """Embeds backbone batches under bfloat16 autocast; the first batch is checked against fp32 (`min_cosine`).
    A failed check raises ConfigError, or with `fallback` warns and embeds in fp32 from then on."""

    def __init__(self, backbone: Backbone, *, fallback: bool = False, min_cosine: float = MIN_COSINE) -> None:
        if not bf16_supported():
            raise ConfigError(
                "--embed-runtime bf16 needs a CPU with bfloat16 instructions (AVX-512 BF16 or AMX); this one has "
                "none. Use --embed-runtime onnx or torch."
            )
        self.backbone = backbone
        self.fallback = fallback
        self.min_cosine = min_cosine
        self.checked = False
        self.exact = False  # True once a failed check sent this backbone back to fp32 (fallback)

    def __call__(self, batch: Batch) -> np.ndarray:
        if self.exact:
            with torch.inference_mode():
                return self.backbone(batch).float().numpy()
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            embeddings = self.backbone(batch).float().numpy()
        if not self.checked:
            rows = np.linspace(0, len(embeddings) - 1, min(CHECK_ROWS, len(embeddings))).round().astype(int)
            with torch.inference_mode():  # a few rows in fp32 (longest to shortest): the check costs little
                exact = self.backbone(_rows(batch, torch.as_tensor(rows))).float().numpy()
            rounded = embeddings[rows]
            norms = np.maximum(np.linalg.norm(exact, axis=1) * np.linalg.norm(rounded, axis=1), 1e-12)
            cosine = float(((exact * rounded).sum(1) / norms).min())
            if cosine < self.min_cosine:
                message = (
                    f"bfloat16 changes the embeddings of {self.backbone.spec} (min cosine {cosine:.6f} to fp32 on "
                    f"the first batch, below {self.min_cosine})"
                )
                if not self.fallback:
                    raise ConfigError(f"{message}; use --embed-runtime onnx or torch for it.")
                warnings.warn(f"{message}: it is embedded in fp32.", stacklevel=2)
                self.exact = True
                return self(batch)
            self.checked = True
        return embeddings


def _rows(batch: Batch, rows: torch.Tensor) -> Batch:
    """The given rows of a batch: every tensor of a tokenizer's dict, or the image tensor."""
    return {name: tensor[rows] for name, tensor in batch.items()} if isinstance(batch, dict) else batch[rows]
