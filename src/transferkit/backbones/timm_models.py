"""Vision backbones built on timm models, with timm's own evaluation transform."""

from __future__ import annotations

import timm
import torch
from timm.data import create_transform, resolve_data_config
from torch import nn

from transferkit.backbones.base import IMAGE_DECODING, Backbone, WeightsCfg, load_image_batch


def image_preprocessing(model: nn.Module) -> dict:
    """The input spec from the model's pretrained config: size, interpolation, crop, mean / std."""
    config = resolve_data_config({}, model=model)
    return {
        "input_size": list(config["input_size"]),
        "interpolation": config["interpolation"],
        "crop_pct": config["crop_pct"],
        "crop_mode": config.get("crop_mode", "center"),
        "mean": list(config["mean"]),
        "std": list(config["std"]),
    }


class TimmImageBackbone(Backbone):
    """A timm model used as a backbone; it keeps its source classifier (e.g. ImageNet) for `source_logits`."""

    modality = "image"
    input_decoding = IMAGE_DECODING  # load_image_batch opens files with data.images.open_rgb

    def __init__(self, model: nn.Module, *, spec: str, weights_cfg: WeightsCfg) -> None:
        super().__init__()
        self.model = model
        self.spec = spec
        self.weights_cfg = weights_cfg
        self.num_features = model.num_features
        pre = weights_cfg.preprocessing
        self.transform = create_transform(
            input_size=tuple(pre["input_size"]),
            interpolation=pre["interpolation"],
            crop_pct=pre["crop_pct"],
            crop_mode=pre["crop_mode"],
            mean=tuple(pre["mean"]),
            std=tuple(pre["std"]),
        )

    def load_batch(self, inputs: list[str]) -> torch.Tensor:
        return load_image_batch(inputs, self.transform)

    def forward_features(self, batch: torch.Tensor) -> torch.Tensor:
        return self.model.forward_features(batch)

    def pool(self, features: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        return self.model.forward_head(features, pre_logits=True)

    def source_logits(self, batch: torch.Tensor) -> torch.Tensor:
        """Logits of the pretraining classifier (ImageNet classes for ImageNet weights)."""
        return self.model.forward_head(self.model.forward_features(batch))

    def layer_groups(self) -> list[nn.Module]:
        return timm_layer_groups(self.model)


def timm_layer_groups(model: nn.Module) -> list[nn.Module]:
    """Stem, each stage, then the final feature layers, from timm's own group matcher (source classifier left out)."""
    groups = timm.models.group_modules(model, model.group_matcher(coarse=True))  # {index: [module names]}
    classifier = model.pretrained_cfg.get("classifier") or "\0"
    named = dict(model.named_modules())
    ordered = []
    for index in sorted(groups):
        names = [name for name in groups[index] if name in named and not name.startswith(classifier)]
        modules = nn.ModuleList(named[name] for name in names)
        if len(modules):
            ordered.append(modules)
    return ordered
