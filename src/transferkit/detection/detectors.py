"""torchvision detectors (Faster R-CNN, RetinaNet, FCOS, SSDlite) over the image backbones transferkit loads.

The transfer is the backbone: its ImageNet weights come from `transferkit.backbones.create_backbone` (bundled
MobileNetV2 / EfficientNet-Lite, any `timm:` model with `features_only`, `torchvision:` MobileNets); the
feature-pyramid neck and the heads start fresh. `pretrained=False` builds the same architecture from random
weights (the scratch baseline, and the skeleton a saved model's weights load into).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass

import torch
from torch import nn

from transferkit.backbones.layers import child_groups
from transferkit.errors import ConfigError

DETECTORS = ("fasterrcnn", "retinanet", "fcos", "ssdlite")
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
DETECTABLE = {  # spec -> (family, architecture name); timm: and torchvision: specs resolve on demand
    "bundled:mobilenet_v2": ("torchvision", "mobilenet_v2"),
    "bundled:efficientnet_lite0": ("timm", "tf_efficientnet_lite0"),
    "bundled:efficientnet_lite1": ("timm", "tf_efficientnet_lite1"),
    "bundled:efficientnet_lite2": ("timm", "tf_efficientnet_lite2"),
}
TORCHVISION_DETECTABLE = ("mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small")


@dataclass(frozen=True)
class DetectorConfig:
    """Everything that fixes a detector's architecture; saved in model.json and rebuilt at load time."""

    detector: str
    backbone: str
    num_classes: int  # without the background
    min_size: int = 320
    max_size: int = 320
    fpn_channels: int = 128
    score_threshold: float = 0.05
    nms_iou: float = 0.5
    detections_per_image: int = 100
    multiscale: bool = False  # train at 75-100% of min_size (one picked per batch); evaluation at min_size

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def backbone_family(spec: str) -> tuple[str, str]:
    """("torchvision" | "timm", architecture name) of a spec a detector can sit on; ConfigError otherwise."""
    if spec in DETECTABLE:
        return DETECTABLE[spec]
    prefix, _, rest = spec.partition(":")
    name = rest.split("@")[0]
    if prefix == "timm" and name:
        return "timm", name
    if prefix == "torchvision" and name in TORCHVISION_DETECTABLE:
        return "torchvision", name
    raise ConfigError(
        f"Backbone '{spec}' cannot carry a detector; use {', '.join(DETECTABLE)}, a timm:NAME model with "
        f"features_only support, or torchvision:{'|'.join(TORCHVISION_DETECTABLE)}."
    )


def can_detect(spec: str) -> bool:
    """Whether a backbone spec can carry a detector (`transferkit backbones` and the docs list these)."""
    try:
        backbone_family(spec)
    except ConfigError:
        return False
    return True


def has_feature_pyramid(spec: str) -> bool:
    """can_detect, and for a timm spec also a features_only form with two strides or more (a plain ViT has one):
    builds the architecture with random weights to ask it, so a listing does not promise what fit would refuse."""
    if not can_detect(spec):
        return False
    family, name = backbone_family(spec)
    if family != "timm" or spec in DETECTABLE:
        return True
    import timm

    try:
        features = timm.create_model(name, pretrained=False, features_only=True)
    except (RuntimeError, ValueError, TypeError, KeyError):  # no features_only form for this architecture
        return False
    return len(set(features.feature_info.reduction())) >= 2


class TimmPyramidBody(nn.Module):
    """A timm `features_only` model returning its last two stages as an ordered dict for the FPN."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.body = model
        self.in_channels = list(model.feature_info.channels())

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        return OrderedDict((str(i), f) for i, f in enumerate(self.body(x)))


class WithFPN(nn.Module):
    """Body + torchvision's FeaturePyramidNetwork (and a max-pooled extra level), as BackboneWithFPN does."""

    def __init__(self, body: nn.Module, in_channels: list[int], out_channels: int) -> None:
        super().__init__()
        from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork, LastLevelMaxPool

        self.body = body
        self.fpn = FeaturePyramidNetwork(in_channels, out_channels, extra_blocks=LastLevelMaxPool())
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        return self.fpn(self.body(x))


def _timm_body(name: str, spec: str, pretrained: bool) -> tuple[nn.Module, tuple[float, ...], tuple[float, ...]]:
    import timm

    try:
        features = timm.create_model(name, pretrained=False, features_only=True, out_indices=(-2, -1))
    except (RuntimeError, ValueError, KeyError) as exc:
        raise ConfigError(f"timm model '{name}' has no features_only form for a detector ({exc}).") from None
    if len(set(features.feature_info.reduction())) < 2:  # a plain ViT: every block at one stride, no pyramid
        raise ConfigError(f"timm model '{name}' gives one feature stride only; a detector needs a CNN-like pyramid.")
    config = features.pretrained_cfg or {}
    mean, std = tuple(config.get("mean", IMAGENET_MEAN)), tuple(config.get("std", IMAGENET_STD))
    if pretrained:
        from transferkit.backbones import create_backbone

        loaded = create_backbone(spec)
        missing, _unused = features.load_state_dict(loaded.model.state_dict(), strict=False)
        if missing:
            raise ConfigError(f"{spec}: its weights lack {len(missing)} tensors of the feature extractor.")
        pre = loaded.weights_cfg.preprocessing or {}
        mean, std = tuple(pre.get("mean", mean)), tuple(pre.get("std", std))
    return TimmPyramidBody(features), mean, std


def _torchvision_body(name: str, spec: str, pretrained: bool) -> tuple[nn.Module, list[int]]:
    from torchvision import models
    from torchvision.models.feature_extraction import create_feature_extractor

    model = models.get_model(name, weights=None)
    if pretrained:
        from transferkit.backbones import create_backbone

        model.features.load_state_dict(create_backbone(spec).model.features.state_dict())
    stages = [i for i, block in enumerate(model.features) if getattr(block, "_is_cn", False)]
    # the two deepest stages (stride 16 and 32), as torchvision's own MobileNet FPN backbones pick them
    picked = {f"features.{stages[-1] - 1}": "0", f"features.{len(model.features) - 1}": "1"}
    body = create_feature_extractor(model, return_nodes=picked)
    with torch.no_grad():
        shapes = [o.shape[1] for o in body(torch.zeros(1, 3, 64, 64)).values()]
    return body, shapes


def build_detector(config: DetectorConfig, *, pretrained: bool) -> nn.Module:
    """The torchvision detector `config` names, its backbone pretrained (ImageNet) or random."""
    if config.detector not in DETECTORS:
        raise ConfigError(f"The 'detector' option must be one of {', '.join(DETECTORS)}. Got '{config.detector}'.")
    family, name = backbone_family(config.backbone)
    if family == "timm":
        body, mean, std = _timm_body(name, config.backbone, pretrained)
        channels = body.in_channels
    else:
        body, channels = _torchvision_body(name, config.backbone, pretrained)
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    if config.detector == "ssdlite":
        return _ssdlite(config, body, channels, mean, std)
    backbone = WithFPN(body, channels, config.fpn_channels)
    return _fpn_detector(config, backbone, mean, std)


def _fpn_detector(config: DetectorConfig, backbone: nn.Module, mean: tuple, std: tuple) -> nn.Module:
    from torchvision.models.detection import FCOS, FasterRCNN, RetinaNet
    from torchvision.models.detection.anchor_utils import AnchorGenerator

    sizes = tuple(int(config.min_size * f) for f in (0.75, 0.875, 1.0)) if config.multiscale else config.min_size
    common = {
        "min_size": sizes,
        "max_size": config.max_size,
        "image_mean": list(mean),
        "image_std": list(std),
    }
    levels = 3  # stride 16, 32 and the pooled 64
    if config.detector == "fasterrcnn":
        anchors = AnchorGenerator(((32, 64, 128, 256),) * levels, ((0.5, 1.0, 2.0),) * levels)
        return FasterRCNN(
            backbone,
            num_classes=config.num_classes + 1,
            rpn_anchor_generator=anchors,
            rpn_pre_nms_top_n_test=150,
            rpn_post_nms_top_n_test=150,
            box_score_thresh=config.score_threshold,
            box_nms_thresh=config.nms_iou,
            box_detections_per_img=config.detections_per_image,
            **common,
        )
    if config.detector == "retinanet":
        sizes = tuple((s, int(s * 2 ** (1 / 3)), int(s * 2 ** (2 / 3))) for s in (32, 64, 128))
        anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * levels)
        cls = RetinaNet
    else:
        anchors = AnchorGenerator(((16,), (32,), (64,)), ((1.0,),) * levels)
        cls = FCOS
    model = cls(
        backbone,
        num_classes=config.num_classes + 1,
        anchor_generator=anchors,
        score_thresh=config.score_threshold,
        nms_thresh=config.nms_iou,
        detections_per_img=config.detections_per_image,
        **common,
    )
    if cls is FCOS:
        live_box_sides(model)
    return model


def live_box_sides(model: nn.Module) -> None:
    """Start FCOS's box-side bias at 1 (one anchor size) instead of torchvision's 0.

    torchvision's FCOS passes the four box sides through a ReLU, and with a zero bias a side whose random weights
    start negative over most locations gets no gradient there. On the detection benchmark's seed 2 the left side
    began positive at 11% of locations and the box loss (GIoU) stalled at 0.69 (seed 0: 0.41): mAP@.5 0.013.
    The weights' spread at start is about +-0.6, so a bias of 1 starts every side alive; training moves it."""
    nn.init.constant_(model.head.regression_head.bbox_reg.bias, 1.0)


def _ssdlite(config: DetectorConfig, body: nn.Module, channels: list[int], mean: tuple, std: tuple) -> nn.Module:
    """SSDlite: the backbone's two deepest maps (no FPN) plus torchvision's SSDlite extra blocks and heads."""
    from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
    from torchvision.models.detection.ssd import SSD
    from torchvision.models.detection.ssdlite import SSDLiteHead, _extra_block

    extras = nn.ModuleList(
        [_extra_block(c_in, c_out, nn.BatchNorm2d) for c_in, c_out in ((channels[-1], 256), (256, 128))]
    )
    features = SSDFeatures(body, extras)
    out_channels = [*channels, 256, 128]
    anchors = DefaultBoxGenerator([[2, 3]] * len(out_channels), min_ratio=0.2, max_ratio=0.95)
    head = SSDLiteHead(out_channels, anchors.num_anchors_per_location(), config.num_classes + 1, nn.BatchNorm2d)
    return SSD(
        features,
        anchors,
        (config.min_size, config.min_size),
        config.num_classes + 1,
        image_mean=list(mean),
        image_std=list(std),
        head=head,
        score_thresh=config.score_threshold,
        nms_thresh=config.nms_iou,
        detections_per_img=config.detections_per_image,
        topk_candidates=300,
    )


class SSDFeatures(nn.Module):
    def __init__(self, body: nn.Module, extras: nn.ModuleList) -> None:
        super().__init__()
        self.body = body
        self.extra = extras

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        maps = list(self.body(x).values())
        for block in self.extra:
            maps.append(block(maps[-1]))
        return OrderedDict((str(i), m) for i, m in enumerate(maps))


def backbone_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The pretrained part's parameters (the transfer); the neck and heads are everything else."""
    body = model.backbone.body if hasattr(model.backbone, "body") else model.backbone
    return list(body.parameters())


def backbone_groups(model: nn.Module) -> list[nn.Module]:
    """The backbone's blocks from input to output, for freezing and unfreezing the upper groups (a long
    Sequential, timm's `blocks` or torchvision's `features`, counts block by block)."""
    body = model.backbone.body
    return child_groups(body.body if isinstance(body, TimmPyramidBody) else body.features)


def set_thresholds(model: nn.Module, *, score: float | None = None, nms_iou: float | None = None) -> None:
    """Change the score threshold and the NMS IoU of a built detector (predict's --score-threshold / --nms-iou)."""
    from transferkit.errors import ConfigError

    for name, value in (("--score-threshold", score), ("--nms-iou", nms_iou)):
        if value is not None and not 0.0 <= value <= 1.0:
            raise ConfigError(f"{name} must be between 0 and 1; got {value}.")
    owner = getattr(model, "roi_heads", model)  # Faster R-CNN keeps them on its box head
    if score is not None:
        owner.score_thresh = score
    if nms_iou is not None:
        owner.nms_thresh = nms_iou
