"""A causal language model's middle-layer features as one more frozen audit model (`transferkit audit --lm SPEC`).

A sentence encoder's embedding (MiniLM) is tuned for similarity, not for the distinctions a label draws; a language
model's middle layers carry more of the text's tone and content. On the fine-food reviews with 10% flipped labels
(benchmarks/label_audit.py), the logistic-regression probe on SmolLM2-135M's mean-pooled hidden states after block 16
of 30 ranked the flips 0.43 precise at recall 0.5 against the MiniLM probe's 0.33 (cross-validated accuracy on the
true labels 0.78 vs 0.74); blocks 8, 12, 20 and 24 and the last token's state instead of the mean scored lower.
The model is cut after the chosen block, so the blocks above it cost nothing; the features go through the embedding
cache like any backbone's (bf16 where the CPU has it, checked against fp32).

Example::

    features = lm_features(texts, "bundled:smollm2-135m")  # (len(texts), 576), cached
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from transferkit.backbones import create_backbone
from transferkit.backbones.base import Backbone, WeightsCfg
from transferkit.backbones.transformers_text import DecoderBackbone
from transferkit.embedding_cache import extract_features
from transferkit.errors import ConfigError
from transferkit.labelling.audit import out_of_fold_probas

DEFAULT_LM = "bundled:smollm2-135m"
LM_MAX_LENGTH = 128  # tokens: the reviews' median is ~70; longer texts are cut, which keeps a 135M LM affordable


def block_list(model: nn.Module) -> tuple[nn.Module, str, nn.ModuleList]:
    """The repeated blocks of a transformer (the ModuleList holding the most parameters) and where they hang."""
    best = max(
        (
            (sum(p.numel() for p in m.parameters()), name)
            for name, m in model.named_modules()
            if isinstance(m, nn.ModuleList)
        ),
        default=None,
    )
    if best is None:
        raise ConfigError(f"{type(model).__name__} has no stack of blocks; --lm needs a transformer language model.")
    parent_name, _, attribute = best[1].rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    return parent, attribute, getattr(parent, attribute)


def middle_block(blocks: int) -> int:
    """The block whose output is used: just past the middle (16 of SmolLM2's 30, the best of five measured)."""
    return blocks // 2 + 1


class MiddleLayerMean(Backbone):
    """A causal LM cut after block `layer` (1-based); the embedding is that block's output averaged over real tokens."""

    modality = "text"

    def __init__(self, decoder: DecoderBackbone, *, layer: int | None = None) -> None:
        super().__init__()
        base = decoder.model.base_model
        parent, attribute, blocks = block_list(base)
        self.layer = middle_block(len(blocks)) if layer is None else int(layer)
        if not 1 <= self.layer <= len(blocks):
            raise ConfigError(f"--lm-layer must be between 1 and {len(blocks)} for {decoder.spec}; got {self.layer}.")
        setattr(parent, attribute, nn.ModuleList(list(blocks)[: self.layer]))  # the blocks above are never run
        if hasattr(base.config, "num_hidden_layers"):
            base.config.num_hidden_layers = self.layer
        self.base = base
        self.tokenizer = decoder.tokenizer
        self.max_length = decoder.max_length
        self.spec = f"{decoder.spec}#block{self.layer}-mean"
        pre = {**decoder.weights_cfg.preprocessing, "pooling": "mean", "block": self.layer}
        self.weights_cfg = WeightsCfg(
            decoder.weights_cfg.source, decoder.weights_cfg.checksum, decoder.weights_cfg.licence, pre
        )
        self.num_features = int(base.config.hidden_size)
        self.captured: list[torch.Tensor] = []
        getattr(parent, attribute)[-1].register_forward_hook(self.capture)

    def capture(self, _module: nn.Module, _inputs: object, output: object) -> None:
        self.captured = [
            output[0] if isinstance(output, tuple) else output
        ]  # the block's output, before any final norm

    def load_batch(self, inputs: list[str]) -> dict[str, torch.Tensor]:
        encoded = self.tokenizer(
            list(inputs), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}

    def input_sizes(self, inputs: list[str]) -> list[int]:
        return [
            len(ids) for ids in self.tokenizer(list(inputs), truncation=True, max_length=self.max_length)["input_ids"]
        ]

    def forward_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        self.base(**batch)
        return self.captured[0]

    def pool(self, features: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        mask = batch["attention_mask"].unsqueeze(-1).to(features.dtype)
        return (features * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)

    def layer_groups(self) -> list[nn.Module]:
        return [self.base]


def lm_backbone(
    spec: str = DEFAULT_LM, *, layer: int | None = None, max_length: int = LM_MAX_LENGTH
) -> MiddleLayerMean:
    """The language model `spec` names, cut after block `layer` (default: just past the middle)."""
    decoder = create_backbone(spec, max_length=max_length)
    if not isinstance(decoder, DecoderBackbone):
        raise ConfigError(
            f"--lm {spec} is not a causal language model ({type(decoder).__name__}); pass one such as {DEFAULT_LM}."
        )
    return MiddleLayerMean(decoder, layer=layer)


def lm_features(
    texts: list[str],
    spec: str = DEFAULT_LM,
    *,
    layer: int | None = None,
    max_length: int = LM_MAX_LENGTH,
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
) -> np.ndarray:
    """Mean-pooled middle-layer features of `texts` (cached on disk: the model runs once per text)."""
    return embedded(lm_backbone(spec, layer=layer, max_length=max_length), texts, cache_dir, batch_size)


def embedded(
    backbone: MiddleLayerMean, texts: list[str], cache_dir: str | Path | None, batch_size: int = 32
) -> np.ndarray:
    description = f"Embedding ({backbone.spec})"
    features, _stats = extract_features(
        backbone, texts, cache_dir=cache_dir, batch_size=batch_size, description=description
    )
    return features


def lm_out_of_fold(
    texts: list[str],
    labels: np.ndarray,
    *,
    spec: str = DEFAULT_LM,
    layer: int | None = None,
    folds: int = 5,
    seed: int = 0,
    cache_dir: str | Path | None = None,
) -> dict[str, np.ndarray]:
    """The audit probe's out-of-fold probabilities on the language model's features, by model name (the folds are
    the other frozen models' folds: the same seed and count)."""
    backbone = lm_backbone(spec, layer=layer)
    features = embedded(backbone, texts, cache_dir)
    proba = out_of_fold_probas(features, labels, folds=folds, seed=seed)["embedding probe"]
    return {f"probe on {backbone.spec}": proba}
