"""Text backbones on Hugging Face transformers: encoders (BERT family, mean / CLS pooling) and decoders
(GPT-2, Llama family: last-token pooling with right padding)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from transferkit.backbones.base import Backbone, WeightsCfg
from transferkit.backbones.layers import transformer_layer_groups

Pooling = Literal["mean", "cls", "last"]


def token_counts(tokenizer, texts: list[str], max_length: int) -> list[int]:
    """Tokens per text after truncation: what each text costs in a dynamically padded batch."""
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length, return_attention_mask=False)
    return [len(ids) for ids in encoded["input_ids"]]


class _TokenizedBackbone(Backbone):
    """A transformers model + its tokenizer, fed padded batches truncated at the weights' max_length."""

    modality = "text"

    def __init__(
        self, model: nn.Module, tokenizer, *, spec: str, weights_cfg: WeightsCfg, pooling: Pooling | None = None
    ) -> None:
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.spec = spec
        self.weights_cfg = weights_cfg
        self.num_features = model.config.hidden_size
        self.max_length = int(weights_cfg.preprocessing["max_length"])
        self.pooling: Pooling = pooling or weights_cfg.preprocessing["pooling"]

    def tokenize(self, inputs: list[str]) -> dict[str, torch.Tensor]:
        return self.tokenizer(
            list(inputs), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )

    def input_sizes(self, inputs: list[str]) -> list[int]:
        return token_counts(self.tokenizer, inputs, self.max_length)


class TextEncoderBackbone(_TokenizedBackbone):
    """A transformers encoder + its tokenizer; embeddings are pooled token states."""

    def load_batch(self, inputs: list[str]) -> dict[str, torch.Tensor]:
        encoded = self.tokenize(inputs)
        return {key: value for key, value in encoded.items() if key != "token_type_ids" or self._uses_token_types}

    @property
    def _uses_token_types(self) -> bool:
        return getattr(self.model.config, "type_vocab_size", 0) > 1

    def forward_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(**batch).last_hidden_state

    def pool(self, features: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.pooling == "cls":
            return features[:, 0]
        mask = batch["attention_mask"].unsqueeze(-1).to(features.dtype)
        return (features * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def layer_groups(self) -> list[nn.Module]:
        return transformer_layer_groups(self.model)


class DecoderBackbone(_TokenizedBackbone):
    """A causal LM (GPT-2, Llama, SmolLM2); the embedding is the hidden state of each text's last real token.

    Texts are padded on the right and the last non-padding position is gathered, so padding never
    shifts positions or leaks into the embedding. The LM head is kept for generation, not for embeddings.
    """

    def __init__(self, model: nn.Module, tokenizer, *, spec: str, weights_cfg: WeightsCfg) -> None:
        tokenizer.padding_side = "right"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        super().__init__(model, tokenizer, spec=spec, weights_cfg=weights_cfg, pooling="last")

    def load_batch(self, inputs: list[str]) -> dict[str, torch.Tensor]:
        encoded = self.tokenize(inputs)
        return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}

    def forward_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model.base_model(**batch).last_hidden_state

    def pool(self, features: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        last = batch["attention_mask"].sum(dim=1).clamp(min=1) - 1
        return features[torch.arange(features.shape[0], device=features.device), last]

    def layer_groups(self) -> list[nn.Module]:
        """Embeddings, each block, final norm; the (often tied) LM head is left out."""
        return transformer_layer_groups(self.model.base_model)
