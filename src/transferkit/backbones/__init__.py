"""Pretrained backbones behind one interface, looked up by spec (``bundled:minilm``)."""

from transferkit.backbones.base import Backbone, WeightsCfg
from transferkit.backbones.bundled import load_efficientnet_lite0, load_minilm
from transferkit.backbones.registry import (
    BackboneEntry,
    backbone_entry,
    create_backbone,
    list_backbones,
    register_backbone,
)

DEFAULT_BACKBONES = {"image": "bundled:efficientnet_lite0", "text": "bundled:minilm"}

register_backbone(
    "bundled:efficientnet_lite0",
    load_efficientnet_lite0,
    modality="image",
    description="EfficientNet-Lite0, ImageNet-1k (timm tf_efficientnet_lite0)",
    parameters="4.7M",
    input="224x224 RGB, mean=std=0.5",
    offline=True,
)
register_backbone(
    "bundled:minilm",
    load_minilm,
    modality="text",
    description="all-MiniLM-L6-v2 sentence encoder (BERT architecture), mean pooling",
    parameters="22.7M",
    input="English text, up to 256 tokens",
    offline=True,
)

__all__ = [
    "DEFAULT_BACKBONES",
    "Backbone",
    "BackboneEntry",
    "WeightsCfg",
    "backbone_entry",
    "create_backbone",
    "list_backbones",
    "register_backbone",
]
