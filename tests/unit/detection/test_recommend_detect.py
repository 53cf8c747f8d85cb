"""`recommend --detect`: only image backbones a detector can sit on (a feature pyramid), and never a plain ViT."""

from __future__ import annotations

import pytest

from transferkit.detection.detectors import has_feature_pyramid
from transferkit.errors import ConfigError
from transferkit.ranking import recommend


def test_recommend_detect_lists_pyramid_backbones_only():
    everything = {row.spec for row in recommend(modality="image", n_samples=100, measure=False).rows}
    shortlist = recommend(modality="image", n_samples=100, measure=False, detect=True)
    listed = {row.spec for row in shortlist.rows}
    assert {"bundled:mobilenet_v2", "bundled:efficientnet_lite0", "timm:resnet18"} <= listed < everything
    assert "timm:vit_small_patch16_224" in everything - listed  # one stride: fit --task detection refuses it
    assert any("--task detection" in note for note in shortlist.notes)
    assert not any("transferkit rank" in note for note in shortlist.notes)  # rank scores labels, not boxes


def test_detect_is_for_images_and_the_pyramid_check_asks_the_architecture():
    with pytest.raises(ConfigError, match="--detect"):
        recommend(modality="text", n_samples=100, measure=False, detect=True)
    assert has_feature_pyramid("timm:resnet18") and not has_feature_pyramid("timm:vit_small_patch16_224")
    assert not has_feature_pyramid("bundled:minilm")
