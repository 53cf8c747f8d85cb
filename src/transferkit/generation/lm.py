"""The causal language model being adapted: a transformers model, its tokenizer and the base's identity.

The base comes through the backbones registry (`bundled:smollm2-135m`, `hf:ID_OR_DIR`, `path:DIR`), so the
bundled GGUF weights, hub models and local folders load by one code path, checksum included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transferkit.backbones import create_backbone
from transferkit.backbones.base import WeightsCfg
from transferkit.backbones.transformers_text import DecoderBackbone
from transferkit.errors import BackboneError, ConfigError

DEFAULT_LM = "bundled:smollm2-135m"


@dataclass
class LanguageModel:
    """A causal LM ready to train or generate: `model` may be a peft model wrapping the base."""

    model: Any
    tokenizer: Any
    spec: str
    weights: WeightsCfg

    @property
    def context_window(self) -> int:
        config = self.model.config
        return int(getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", 1024))

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def identity(self) -> dict[str, str]:
        """What an adapter must be applied to: the base's spec, source and weights checksum."""
        return {"spec": self.spec, "source": self.weights.source, "checksum": self.weights.checksum}


def prepare_tokenizer(tokenizer: Any, *, spec: str) -> Any:
    """A tokenizer without a pad token pads with its end-of-text token (padding is masked out of every loss and
    every attention); one with neither cannot mark where a text ends, and is refused."""
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise BackboneError(
                f"The tokenizer of {spec} has neither a pad token nor an end-of-text token; add one "
                "(tokenizer.add_special_tokens({'eos_token': ...}) and save_pretrained) and pass the folder again."
            )
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"  # training batches; generation switches to left padding itself
    return tokenizer


def load_base(spec: str | None = None) -> LanguageModel:
    """Load a causal LM by backbone spec (default the bundled SmolLM2-135M) for training or generation."""
    spec = spec or DEFAULT_LM
    backbone = create_backbone(spec)
    if not isinstance(backbone, DecoderBackbone):
        raise ConfigError(
            f"The 'backbone' option '{spec}' is not a causal language model ({type(backbone).__name__}); "
            f"language-model tasks need one that generates, such as {DEFAULT_LM} or an hf: GPT-2 / Llama model."
        )
    model = backbone.model
    model.config.use_cache = True
    return LanguageModel(model, prepare_tokenizer(backbone.tokenizer, spec=spec), spec, backbone.weights_cfg)
