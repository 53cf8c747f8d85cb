"""The LightningModule that trains a causal LM: next-token loss on the labelled positions, AdamW on the trainable
parameters (the LoRA matrices, or every weight for full fine-tuning), linear warm-up then cosine decay.

Checkpoints hold the trainable tensors only: a LoRA run's last.ckpt is a few MB, not the 540 MB base it adapts.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch


class CausalLMModule(L.LightningModule):
    def __init__(self, model: Any, *, lr: float, weight_decay: float, total_steps: int, warmup_steps: int) -> None:
        super().__init__()
        self.model = model
        self.lr = lr
        self.weight_decay = weight_decay
        self.total_steps = max(1, total_steps)
        self.warmup_steps = max(0, min(warmup_steps, self.total_steps - 1))
        self.strict_loading = False  # the checkpoint holds the trainable tensors only
        self.batches_seen = 0  # this process's share (under DDP, each process counts its own)
        self.rows_seen = 0

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(**batch).loss

    def training_step(self, batch: dict[str, torch.Tensor], index: int) -> torch.Tensor:
        loss = self(batch)
        self.batches_seen += 1
        self.rows_seen += int(batch["input_ids"].shape[0])
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=_targets(batch))
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], index: int) -> None:
        # Weighted by target tokens, so the epoch's val_loss is the mean token loss (log perplexity).
        self.log("val_loss", self(batch), prog_bar=True, on_epoch=True, batch_size=_targets(batch))

    def configure_optimizers(self) -> dict[str, Any]:
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        decay = [p for p in trainable if p.ndim >= 2]
        other = [p for p in trainable if p.ndim < 2]
        groups = [{"params": decay, "weight_decay": self.weight_decay}, {"params": other, "weight_decay": 0.0}]
        optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=self.lr)

        def factor(step: int) -> float:
            if step < self.warmup_steps:
                return (step + 1) / (self.warmup_steps + 1)
            done = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
            return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, done)))  # cosine down to a tenth

        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        names = {name for name, parameter in self.named_parameters() if parameter.requires_grad}
        checkpoint["state_dict"] = {name: value for name, value in checkpoint["state_dict"].items() if name in names}


def _targets(batch: dict[str, torch.Tensor]) -> int:
    return max(1, int((batch["labels"][:, 1:] != -100).sum()))
