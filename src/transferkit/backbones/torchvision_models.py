"""``torchvision:NAME`` backbones, with torchvision's weight enums (weights and their transforms).

Online, ``torchvision:resnet50`` loads ``ResNet50_Weights.DEFAULT``. Offline, give the weights file:
``torchvision:resnet50@resnet50.pth`` (read with ``torch.load(weights_only=True)``) or a safetensors file.
The source classifier (the last Linear layer) is kept aside for `source_logits`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from transferkit.backbones.base import IMAGE_DECODING, Backbone, WeightsCfg, load_image_batch, state_checksum
from transferkit.backbones.layers import child_groups
from transferkit.backbones.specs import parse_spec
from transferkit.backbones.weights_io import (
    download_timeout,
    hub_offline,
    load_into,
    offline_error,
    torch_hub_file_cached,
)
from transferkit.errors import BackboneError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _weights_enum(name: str):
    from torchvision import models

    if name not in models.list_models():
        raise BackboneError(f"'{name}' is not a torchvision model; see torchvision.models.list_models().")
    try:
        return models.get_model_weights(name).DEFAULT
    except (ValueError, AttributeError):
        return None


# Resize and crop the PIL image (Pillow's resize, as timm's transforms and the torch-free bundle runtime do) rather
# than the uint8 tensor (torch's resize): the two differ by a grey level on ~0.1% of pixels, which moved a
# MobileNetV2 probe's probabilities by 2e-4, over a bundle's 1e-4 parity limit. Recorded in the preprocessing, so it
# is part of the embedding cache key (cached tensor-resize embeddings are not reused). A model folder saved before
# this rebuilds its backbone from the spec and now predicts with the Pillow resize (probabilities move by ~2e-4).
RESIZE_WITH = "pillow"


def _preprocessing(weights_enum) -> dict:
    if weights_enum is None:
        return {
            "resize": 256,
            "crop": 224,
            "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD),
            "interpolation": "bilinear",
            "resize_with": RESIZE_WITH,
        }
    transform = weights_enum.transforms()
    return {
        "resize": list(transform.resize_size),
        "crop": list(transform.crop_size),
        "mean": list(transform.mean),
        "std": list(transform.std),
        "interpolation": transform.interpolation.value,
        "resize_with": RESIZE_WITH,
    }


def _transform(pre: dict):
    from torchvision.transforms import v2

    resize = v2.Resize(pre["resize"], interpolation=v2.InterpolationMode(pre["interpolation"]), antialias=True)
    scale = [v2.ToDtype(torch.float32, scale=True), v2.Normalize(pre["mean"], pre["std"])]
    if pre.get("resize_with") == RESIZE_WITH:
        return v2.Compose([resize, v2.CenterCrop(pre["crop"]), v2.PILToTensor(), *scale])
    return v2.Compose([v2.PILToTensor(), resize, v2.CenterCrop(pre["crop"]), *scale])


def _detach_classifier(model: nn.Module) -> nn.Linear:
    """Swap the last Linear layer (the source classifier) for Identity; return it."""
    name = next((n for n, m in reversed(list(model.named_modules())) if isinstance(m, nn.Linear)), None)
    if name is None:
        raise BackboneError(f"{type(model).__name__} has no Linear classifier to detach.")
    parent_name, _, leaf = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    classifier = getattr(parent, leaf)
    setattr(parent, leaf, nn.Identity())
    return classifier


class TorchvisionImageBackbone(Backbone):
    """A torchvision classifier without its last Linear layer; embeddings are the pooled features."""

    modality = "image"
    input_decoding = IMAGE_DECODING  # load_image_batch opens files with data.images.open_rgb

    def __init__(self, model: nn.Module, *, spec: str, weights_cfg: WeightsCfg) -> None:
        super().__init__()
        if getattr(model, "AuxLogits", None) is not None:  # inception_v3: the auxiliary head only trains
            model.aux_logits = False
            model.AuxLogits = None
        self.source_head = _detach_classifier(model)
        self.model = model
        self.spec = spec
        self.weights_cfg = weights_cfg
        self.num_features = self.source_head.in_features
        self.transform = _transform(weights_cfg.preprocessing)

    def load_batch(self, inputs: list[str]) -> torch.Tensor:
        return load_image_batch(inputs, self.transform)

    def forward_features(self, batch: torch.Tensor) -> torch.Tensor:
        return self.model(batch)

    def pool(self, features: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        return features.flatten(1)

    def source_logits(self, batch: torch.Tensor) -> torch.Tensor:
        """Logits of the pretraining classifier (ImageNet classes for ImageNet weights)."""
        return self.source_head(self.forward(batch))

    def layer_groups(self) -> list[nn.Module]:
        """Top-level children in order; a long Sequential (MobileNet / EfficientNet `features`) is split per block."""
        return child_groups(self.model)


def build_torchvision(
    name: str,
    *,
    spec: str,
    weights_file: str | Path | None,
    source: str | None = None,
    licence: str = "bsd-3-clause (torchvision); weights: see the model card",
) -> Backbone:
    """torchvision model `name` with weights from `weights_file`, or the DEFAULT enum weights from the internet."""
    from torchvision import models

    enum = _weights_enum(name)
    if weights_file is not None:
        model = models.get_model(name, weights=None)
        checksum = load_into(model, weights_file, spec=spec)
        source = source or f"file:{weights_file}"
    else:
        if enum is None:
            raise BackboneError(f"torchvision has no pretrained weights for '{name}'; pass {spec}@FILE.")
        if hub_offline() and not torch_hub_file_cached(enum.url):
            raise offline_error(spec)  # downloads are off: only torch.hub's cached file may be used
        try:
            with download_timeout():  # torch.hub's URL download sets no timeout: offline it would hang
                model = models.get_model(name, weights=enum)
        except (OSError, RuntimeError, ValueError) as exc:  # URLError and socket timeouts are OSErrors
            raise offline_error(spec, exc) from None
        checksum = state_checksum(model)
        source = f"torchvision:{enum}"
    model.eval()
    weights_cfg = WeightsCfg(source=source, checksum=checksum, licence=licence, preprocessing=_preprocessing(enum))
    return TorchvisionImageBackbone(model, spec=spec, weights_cfg=weights_cfg)


def load_torchvision(*, spec: str, **_: object) -> Backbone:
    """Build ``torchvision:NAME[@FILE]``."""
    parsed = parse_spec(spec)
    return build_torchvision(parsed.name, spec=spec, weights_file=parsed.weights)
