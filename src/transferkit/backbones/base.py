"""The Backbone interface every pretrained model is wrapped in (after timm's feature API).

A backbone turns raw inputs (image paths or texts) into tensors with the preprocessing that came
with its weights, runs `forward_features`, and pools them into one embedding per input.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

from transferkit.runtime.manifest import file_sha256 as sha256_file

Batch = torch.Tensor | dict[str, torch.Tensor]
IMAGE_DECODING = "exif upright, rgb, transparency over white, deep greyscale stretched"  # data.images.open_rgb


@dataclass(frozen=True)
class WeightsCfg:
    """What travels with the weights: where they came from, their checksum, licence and input spec."""

    source: str
    checksum: str
    licence: str
    preprocessing: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Backbone(nn.Module, ABC):
    """A pretrained model that maps raw inputs to embeddings of size `num_features`."""

    spec: str
    modality: str
    num_features: int
    weights_cfg: WeightsCfg

    @abstractmethod
    def load_batch(self, inputs: list[str]) -> Batch:
        """Turn raw inputs (image paths or texts) into model-ready tensors."""

    @abstractmethod
    def forward_features(self, batch: Batch) -> torch.Tensor:
        """Unpooled features (feature map or token states)."""

    @abstractmethod
    def pool(self, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        """One `num_features` vector per input."""

    @abstractmethod
    def layer_groups(self) -> list[nn.Module]:
        """Groups of layers ordered from input to output, for unfreezing and layer-wise learning rates."""

    trainable: bool = True  # False for frozen-features-only backbones (e.g. CTranslate2 Whisper)
    # How this backbone decodes its input files, when it decodes them itself (images: IMAGE_DECODING); part of
    # the cache key, because a change in decoding is a change in embeddings.
    input_decoding: str | None = None

    def input_sizes(self, inputs: list[str]) -> list[int] | None:
        """Padded-batch cost of each input (tokens for text), so extraction can batch similar sizes; None: no order."""
        return None

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.pool(self.forward_features(batch), batch)

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def cache_key(self) -> str:
        """Identity of the embeddings this backbone produces: spec, weights and preprocessing."""
        identity = {"spec": self.spec, "checksum": self.weights_cfg.checksum, "pre": self.weights_cfg.preprocessing}
        if self.input_decoding:
            identity["decode"] = self.input_decoding
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]


def state_checksum(module: nn.Module) -> str:
    """SHA-256 over a module's tensors (names, shapes and bytes): identifies weights that came without a file."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def load_image_batch(paths: list[str], transform) -> torch.Tensor:
    """Open each image as RGB, apply the weights' evaluation transform, stack into one channels-last batch.

    Files are decoded by `open_rgb`: upright by EXIF, transparency over white, deep greyscale stretched to 8 bits.

    Channels-last (NHWC in memory) lets oneDNN's CPU convolutions run in their native layout rather
    than converting at each layer (measured: benchmarks/embed_throughput.py). The layout is only the
    memory order; shapes, values and the model's weights are unchanged.
    """
    from transferkit.data.images import open_rgb

    batch = None
    for row, path in enumerate(paths):
        tensor = transform(open_rgb(path))
        if batch is None:  # written in place: one copy per image, none for the batch
            batch = torch.empty((len(paths), *tensor.shape), dtype=tensor.dtype, memory_format=torch.channels_last)
        batch[row] = tensor
    if batch is None:
        raise ValueError("load_image_batch needs at least one image path.")
    return batch


@lru_cache(maxsize=32)
def weights_sha256(path: str | Path) -> str:
    """SHA-256 of a pretrained weights file, cached per process (installed weights do not change under us)."""
    return sha256_file(path)
