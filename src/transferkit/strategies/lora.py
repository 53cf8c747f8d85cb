"""LoRA through peft: low-rank adapters on the backbone's attention / pointwise layers, plus the head.

After training the adapters are merged into the backbone weights (peft's `merge_and_unload`), so the
saved model is an ordinary backbone + head that loads and predicts without peft, bit for bit.
"""

from __future__ import annotations

from typing import ClassVar

from torch import nn

from transferkit.backbones.base import Backbone
from transferkit.config import RunSpec
from transferkit.engine import LayerGroup
from transferkit.errors import ConfigError, require
from transferkit.models.heads import ClassifierHead
from transferkit.models.transfer_model import TransferModel
from transferkit.strategies.base import register_strategy
from transferkit.strategies.finetune import FineTuneStrategy

# Per family, the module names LoRA adapts by default (the first family whose names all exist wins).
LORA_TARGETS: list[tuple[str, ...]] = [
    ("query", "value"),  # BERT, MiniLM, RoBERTa (transformers)
    ("q_proj", "v_proj"),  # Llama, Mistral, OPT, Whisper
    ("c_attn",),  # GPT-2
    ("qkv",),  # timm ViT
    ("conv_pw", "conv_pwl"),  # timm EfficientNet / MobileNet pointwise convolutions
]


def default_lora_targets(model: nn.Module) -> list[str]:
    """The module names LoRA should adapt in `model`, by family; every Linear layer as a last resort.

    Example:
        >>> default_lora_targets(nn.Sequential(nn.Linear(2, 2)))
        ['0']
    """
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules() if name}
    for family in LORA_TARGETS:
        if all(target in names for target in family):
            return list(family)
    linear = sorted({name.rsplit(".", 1)[-1] for name, m in model.named_modules() if isinstance(m, nn.Linear)})
    if not linear:
        raise ConfigError("No layer for LoRA found in this backbone; pass --lora-targets with module names.")
    return linear


def is_lora(name: str, parameter: nn.Parameter) -> bool:
    return "lora_" in name


@register_strategy
class LoraStrategy(FineTuneStrategy):
    """Train rank-`lora_rank` adapters (scale `lora_alpha` / rank) on the backbone and the head."""

    name = "lora"
    default_lr: ClassVar[float] = 1e-3
    new_head_lr_scale: ClassVar[float] = 1.0

    def plan(self, *, backbone: Backbone, head: ClassifierHead, spec: RunSpec) -> list[LayerGroup]:
        peft = require("peft", extra="lora", purpose="The lora strategy")
        inner = backbone.model
        targets = spec.strategy.lora_targets or default_lora_targets(inner)
        config = peft.LoraConfig(
            r=spec.strategy.lora_rank,
            lora_alpha=spec.strategy.lora_alpha,
            lora_dropout=spec.strategy.lora_dropout,
            target_modules=targets,
        )
        try:
            backbone.model = peft.get_peft_model(inner, config)
        except ValueError as exc:
            raise ConfigError(f"The 'lora_targets' option {targets} does not fit {backbone.spec}: {exc}") from None
        return [
            LayerGroup("adapters", backbone, param_filter=is_lora),
            LayerGroup("head", head, lr_scale=self.head_lr_scale(spec)),
        ]

    def finalize(self, model: TransferModel) -> TransferModel:
        model.backbone.model = model.backbone.model.merge_and_unload()
        return model
