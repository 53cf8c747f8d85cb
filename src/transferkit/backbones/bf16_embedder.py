"""The frozen stage in bfloat16 on CPUs that compute it natively (AVX-512 BF16 or AMX): torch autocast.

On a CPU with bf16 instructions, oneDNN runs the linear layers in bfloat16 at about twice the fp32 rate
(measured on all-MiniLM-L6-v2 in benchmarks/embed_throughput.py). The embeddings move by rounding only; each
`Bf16Embedder` checks that on its first batch against fp32 (min cosine >= 0.9999, the same bar as the ONNX
runtime) and raises ConfigError otherwise, so a backbone whose embeddings bf16 would change is never used in it.

Example::

    embed = Bf16Embedder(backbone)
    embeddings = embed(backbone.load_batch(["great tea", "stale"]))  # (2, 384) float32
"""

from __future__ import annotations

import numpy as np
import torch

from transferkit.backbones.base import Backbone, Batch
from transferkit.errors import ConfigError

MIN_COSINE = 0.9999


def bf16_supported() -> bool:
    """Whether this CPU computes bfloat16 natively (else autocast would emulate it, slower than fp32)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class Bf16Embedder:
    """Embeds backbone batches under bfloat16 autocast; the first batch is checked against fp32."""

    def __init__(self, backbone: Backbone) -> None:
        if not bf16_supported():
            raise ConfigError(
                "--embed-runtime bf16 needs a CPU with bfloat16 instructions (AVX-512 BF16 or AMX); this one has "
                "none. Use --embed-runtime onnx or torch."
            )
        self.backbone = backbone
        self.checked = False

    def __call__(self, batch: Batch) -> np.ndarray:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            embeddings = self.backbone(batch).float().numpy()
        if not self.checked:
            with torch.inference_mode():
                exact = self.backbone(batch).float().numpy()
            norms = np.maximum(np.linalg.norm(exact, axis=1) * np.linalg.norm(embeddings, axis=1), 1e-12)
            cosine = float(((exact * embeddings).sum(1) / norms).min())
            if cosine < MIN_COSINE:
                raise ConfigError(
                    f"bfloat16 changes the embeddings of {self.backbone.spec} (min cosine {cosine:.6f} to fp32 on "
                    f"the first batch, below {MIN_COSINE}); use --embed-runtime onnx or torch for it."
                )
            self.checked = True
        return embeddings
