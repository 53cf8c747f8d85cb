"""Pretrained backbones behind one interface, looked up by spec.

Specs: ``bundled:NAME`` (offline weights shipped in packages), ``timm:NAME``, ``torchvision:NAME``,
``hf:ID_OR_DIR``, ``path:DIR``; ``@FILE`` after a hub name loads a local weights file.
"""

from transferkit.backbones.base import Backbone, WeightsCfg
from transferkit.backbones.bundled import (
    load_efficientnet_lite0,
    load_efficientnet_lite1,
    load_efficientnet_lite2,
    load_minilm,
    load_minilm_l2,
    load_minilm_l3,
    load_mobilenet_v2,
    load_smollm2,
    load_whisper_tiny_en,
)
from transferkit.backbones.hf_hub import hf_modality, load_hf
from transferkit.backbones.path_loading import load_path, path_modality
from transferkit.backbones.registry import (
    BackboneEntry,
    backbone_entry,
    can_generate,
    create_backbone,
    list_backbones,
    list_sources,
    register_backbone,
    register_source,
)
from transferkit.backbones.tabular import load_tabular
from transferkit.backbones.timm_hub import load_timm
from transferkit.backbones.timm_models import TimmImageBackbone
from transferkit.backbones.torchvision_models import load_torchvision

register_source("timm", load_timm, modality=lambda spec: "image", description="any timm model (hub or @FILE)")
register_source(
    "torchvision",
    load_torchvision,
    modality=lambda spec: "image",
    description="any torchvision classifier (weight enums, or @FILE)",
)
register_source("hf", load_hf, modality=hf_modality, description="Hugging Face text encoder / decoder / speech encoder")
register_source(
    "path", load_path, modality=path_modality, description="a folder saved by transferkit / transformers / timm"
)

_BUNDLED = [
    (
        "efficientnet_lite0",
        load_efficientnet_lite0,
        "image",
        "EfficientNet-Lite0, ImageNet-1k (timm tf_efficientnet_lite0)",
        "4.7M",
        "224x224 RGB, mean=std=0.5",
    ),
    (
        "efficientnet_lite1",
        load_efficientnet_lite1,
        "image",
        "EfficientNet-Lite1, ImageNet-1k (timm tf_efficientnet_lite1)",
        "5.4M",
        "240x240 RGB, mean=std=0.5",
    ),
    (
        "efficientnet_lite2",
        load_efficientnet_lite2,
        "image",
        "EfficientNet-Lite2, ImageNet-1k (timm tf_efficientnet_lite2)",
        "6.1M",
        "260x260 RGB, mean=std=0.5",
    ),
    (
        "mobilenet_v2",
        load_mobilenet_v2,
        "image",
        "MobileNetV2, ImageNet-1k (torchvision IMAGENET1K_V1)",
        "3.5M",
        "224x224 RGB, ImageNet mean/std",
    ),
    (
        "minilm",
        load_minilm,
        "text",
        "all-MiniLM-L6-v2 sentence encoder (BERT architecture), mean pooling",
        "22.7M",
        "English text, up to 256 tokens",
    ),
    (
        "minilm-l2",
        load_minilm_l2,
        "text",
        "the bundled MiniLM cut to its first 2 layers: a fast student to distil into (fine-tune it)",
        "15.5M",
        "English text, up to 256 tokens",
    ),
    (
        "minilm-l3",
        load_minilm_l3,
        "text",
        "the bundled MiniLM cut to its first 3 layers: a fast student to distil into (fine-tune it)",
        "17.2M",
        "English text, up to 256 tokens",
    ),
    (
        "smollm2-135m",
        load_smollm2,
        "text",
        "SmolLM2-135M-Instruct decoder (Llama architecture, GGUF), last-token pooling",
        "134.5M",
        "text, up to 8k tokens",
    ),
    (
        "whisper-tiny-en",
        load_whisper_tiny_en,
        "audio",
        "Whisper tiny.en encoder (CTranslate2): frozen features only",
        "8M",  # the encoder's share of tiny.en's 39M, as for hf:openai/whisper-tiny.en
        "audio, 16 kHz, up to 30 s",
    ),
]
for _name, _factory, _modality, _description, _params, _input in _BUNDLED:
    register_backbone(
        f"bundled:{_name}",
        _factory,
        modality=_modality,
        description=_description,
        parameters=_params,
        input=_input,
        offline=True,
        generates=_name == "smollm2-135m",  # fit --task causal-lm / seq2seq-pairs, transferkit generate
        student=_name.startswith("minilm-l"),  # cut MiniLMs: `transferkit distil --student`, not rank / recommend
    )

# Tabular backbones over the preprocessed columns of a table (preprocessing fitted on the training split).
for _name, _description, _params in (
    ("mlp", "MLP (2 x 64, GELU) over preprocessed columns; random init: pretrain on a source table", "~5k"),
    ("columns", "the preprocessed columns themselves (standardised numeric, one-hot categorical)", "0"),
):
    register_backbone(
        f"tabular:{_name}",
        load_tabular,
        modality="tabular",
        description=_description,
        parameters=_params,
        input="table rows: numeric + categorical columns",
        offline=True,
    )

# Well-known hub backbones: listed so users find them; they need the network or a local weights file.
_HUB_LOADERS = {"timm": load_timm, "torchvision": load_torchvision, "hf": load_hf}
_HUB = [
    ("timm:resnet18", "image", "ResNet-18, ImageNet-1k", "11.7M", "224x224 RGB"),
    ("timm:resnet50", "image", "ResNet-50, ImageNet-1k", "25.6M", "224x224 RGB"),
    ("timm:inception_v3", "image", "Inception v3, ImageNet-1k", "23.8M", "299x299 RGB"),
    ("timm:efficientnet_b0", "image", "EfficientNet-B0, ImageNet-1k", "5.3M", "224x224 RGB"),
    ("timm:convnext_tiny", "image", "ConvNeXt-Tiny, ImageNet-1k", "28.6M", "224x224 RGB"),
    ("timm:vit_small_patch16_224", "image", "ViT-S/16, ImageNet-21k -> 1k", "22.1M", "224x224 RGB"),
    ("torchvision:resnet50", "image", "ResNet-50, torchvision IMAGENET1K_V2", "25.6M", "224x224 RGB"),
    ("torchvision:inception_v3", "image", "Inception v3, torchvision", "27.2M", "299x299 RGB"),
    ("torchvision:mobilenet_v2", "image", "MobileNetV2, torchvision IMAGENET1K_V2", "3.5M", "224x224 RGB"),
    ("hf:bert-base-uncased", "text", "BERT base encoder, mean pooling", "110M", "text, 512 tokens"),
    ("hf:distilbert-base-uncased", "text", "DistilBERT encoder, mean pooling", "66M", "text, 512 tokens"),
    ("hf:roberta-base", "text", "RoBERTa base encoder, mean pooling", "125M", "text, 512 tokens"),
    ("hf:gpt2", "text", "GPT-2 decoder, last-token pooling", "124M", "text, 1024 tokens"),
    ("hf:facebook/wav2vec2-base", "audio", "wav2vec 2.0 base speech encoder", "95M", "audio, 16 kHz"),
    ("hf:facebook/hubert-base-ls960", "audio", "HuBERT base speech encoder", "95M", "audio, 16 kHz"),
    (
        "hf:openai/whisper-tiny.en",
        "audio",
        "Whisper tiny.en encoder (transformers, trainable)",
        "8M",
        "audio, 16 kHz, 30 s",
    ),
]
for _name, _modality, _description, _params, _input in _HUB:
    _loader = _HUB_LOADERS[_name.split(":")[0]]  # the spec's source
    register_backbone(
        _name,
        _loader,
        modality=_modality,
        description=_description,
        parameters=_params,
        input=_input,
        offline=False,
        generates=_name == "hf:gpt2",
    )

__all__ = [
    "Backbone",
    "BackboneEntry",
    "TimmImageBackbone",
    "WeightsCfg",
    "backbone_entry",
    "can_generate",
    "create_backbone",
    "list_backbones",
    "list_sources",
    "register_backbone",
    "register_source",
]
