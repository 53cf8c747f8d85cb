"""Training a detector through the Lightning engine: frozen backbone, two-stage or full fine-tuning.

The strategies are the classification ones carried over: `probe` (alias `frozen`: the backbone stays fixed,
the neck and heads train), `two-stage` (heads first, then the upper backbone groups unfreeze at a tenth of
the lr) and `finetune` (alias `full`: everything trains, the backbone at a tenth of the lr). A pretrained
backbone keeps its BatchNorm statistics (as transferkit does for classification); a scratch one trains them.
Checkpoints, resume, DDP, schedules and early stopping come from transferkit.engine's Trainer.

`auto` is full fine-tuning: at 100 stamp-scene images and 10 epochs it scored mAP@.5 0.231 against two-stage's
0.191 and the frozen backbone's 0.196 (one seed), at about 2-3x the frozen backbone's time per epoch
(benchmarks/detection_transfer.py, strategy comparison). `probe` keeps the backbone frozen when time is short.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch import nn

from transferkit.detection.augment import BoxDataset, collate
from transferkit.detection.boxes import DetectionData
from transferkit.detection.detectors import backbone_groups, backbone_parameters
from transferkit.detection.metrics import as_target, new_metric

STRATEGIES = {"auto": "full", "probe": "frozen", "frozen": "frozen", "two-stage": "two-stage"}
STRATEGIES |= {"finetune": "full", "full": "full"}
BACKBONE_LR_SCALE = 0.1


def detection_strategy(name: str) -> str:
    """frozen, two-stage or full, from a strategy name (the classification names map onto these)."""
    from transferkit.errors import ConfigError

    if name not in STRATEGIES:
        raise ConfigError(
            f"Strategy '{name}' does not train detectors; use probe (frozen backbone), two-stage or finetune (full)."
        )
    return STRATEGIES[name]


@dataclass
class TrainPlan:
    strategy: str  # frozen | two-stage | full
    epochs: int
    lr: float
    weight_decay: float
    pretrained: bool = True
    unfreeze: int | None = None  # two-stage: upper backbone groups to unfreeze (default: the upper half)
    train_bn: bool = False
    schedule: str = "cosine"

    @property
    def stage1_epochs(self) -> int:
        return max(1, self.epochs // 2) if self.strategy == "two-stage" else self.epochs


def freeze_batchnorm(module: nn.Module) -> list[nn.Module]:
    """BatchNorm layers of `module` in eval mode with fixed parameters; returned so `train()` can keep them so."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.eval()
        for parameter in norm.parameters():
            parameter.requires_grad_(False)
    return norms


class DetectorModule(L.LightningModule):
    """A torchvision detector in Lightning: the summed detector losses train it, validation logs mAP@.5."""

    def __init__(self, model: nn.Module, plan: TrainPlan) -> None:
        super().__init__()
        self.model = model
        self.plan = plan
        self.metric = new_metric()
        self.fixed_norms: list[nn.Module] = []
        self.history: list[dict[str, float]] = []
        if plan.pretrained and not plan.train_bn:
            self.fixed_norms = freeze_batchnorm(backbone_groups_module(model))
        self._set_stage(frozen_backbone=plan.strategy in ("frozen", "two-stage"))

    def _set_stage(self, *, frozen_backbone: bool) -> None:
        groups = backbone_groups(self.model)
        keep = len(groups) if not frozen_backbone else 0
        if not frozen_backbone and self.plan.strategy == "two-stage":
            keep = self.plan.unfreeze or max(1, len(groups) // 2)
        for index, group in enumerate(groups):
            trainable = index >= len(groups) - keep
            for parameter in group.parameters():
                parameter.requires_grad_(trainable)
        for norm in self.fixed_norms:
            for parameter in norm.parameters():
                parameter.requires_grad_(False)

    def train(self, mode: bool = True) -> DetectorModule:
        super().train(mode)
        for norm in self.fixed_norms:  # pretrained statistics stay, whatever Lightning switches
            norm.eval()
        return self

    def configure_optimizers(self):
        backbone = {id(p) for p in backbone_parameters(self.model)}
        heads = [p for p in self.model.parameters() if id(p) not in backbone]
        body = [p for p in self.model.parameters() if id(p) in backbone and not self._fixed(p)]
        scale = BACKBONE_LR_SCALE if self.plan.pretrained else 1.0
        groups = [{"params": heads, "lr": self.plan.lr}, {"params": body, "lr": self.plan.lr * scale}]
        optimizer = torch.optim.AdamW(groups, weight_decay=self.plan.weight_decay)
        if self.plan.schedule == "constant":
            return optimizer
        total = max(1, self.trainer.estimated_stepping_batches)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=[g["lr"] for g in groups], total_steps=total, pct_start=0.1, anneal_strategy="cos"
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def _fixed(self, parameter: nn.Parameter) -> bool:
        return any(parameter is p for norm in self.fixed_norms for p in norm.parameters())

    def on_train_epoch_start(self) -> None:
        if self.plan.strategy == "two-stage" and self.current_epoch >= self.plan.stage1_epochs:
            self._set_stage(frozen_backbone=False)  # stage 2 (also on resume): the upper groups join at a lower lr

    def training_step(self, batch, batch_index: int) -> torch.Tensor:
        images, targets = batch
        losses = self.model(images, targets)
        loss = sum(losses.values())
        self.log("train_loss", loss, batch_size=len(images), prog_bar=True, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_index: int) -> None:
        images, targets = batch
        outputs = self.model(images)
        self.metric.update(
            [{k: o[k].detach() for k in ("boxes", "scores")} | {"labels": o["labels"] - 1} for o in outputs],
            [as_target(t["boxes"].numpy(), (t["labels"] - 1).numpy()) for t in targets],
        )

    def on_validation_epoch_end(self) -> None:
        result = self.metric.compute()
        self.metric.reset()
        self.log("val_map50", max(float(result["map_50"]), 0.0), prog_bar=True)
        self.log("val_map", max(float(result["map"]), 0.0))


def backbone_groups_module(model: nn.Module) -> nn.Module:
    return model.backbone.body


def loaders(
    train: DetectionData, valid: DetectionData | None, *, batch_size: int, policy: str, seed: int
) -> tuple[torch.utils.data.DataLoader, torch.utils.data.DataLoader | None]:
    generator = torch.Generator().manual_seed(seed)
    train_loader = torch.utils.data.DataLoader(
        BoxDataset(train, policy=policy), batch_size=batch_size, shuffle=True, collate_fn=collate, generator=generator
    )
    valid_loader = None
    if valid is not None and len(valid):
        valid_loader = torch.utils.data.DataLoader(BoxDataset(valid), batch_size=batch_size, collate_fn=collate)
    return train_loader, valid_loader


@torch.no_grad()
def detect(model: nn.Module, data_or_paths, *, batch_size: int = 8, progress=None) -> list[dict[str, np.ndarray]]:
    """Boxes, scores and 0-based class indexes per image (a DetectionData or a list of image paths)."""
    from transferkit.detection.augment import read_rgb

    paths = list(data_or_paths.images) if isinstance(data_or_paths, DetectionData) else list(data_or_paths)
    model.eval()
    results = []
    from torchvision.transforms.v2.functional import pil_to_tensor

    for start in range(0, len(paths), batch_size):
        chunk = [pil_to_tensor(read_rgb(p)).float() / 255 for p in paths[start : start + batch_size]]
        for output in model(chunk):
            results.append(
                {
                    "boxes": output["boxes"].numpy(),
                    "scores": output["scores"].numpy(),
                    "labels": output["labels"].numpy() - 1,
                }
            )
        if progress is not None:
            progress(len(chunk))
    return results


def evaluate_model(model: nn.Module, data: DetectionData, *, batch_size: int = 8) -> dict:
    """COCO metrics of `model` on `data` (see transferkit.detection.metrics.summarise)."""
    from transferkit.detection.metrics import score_detections

    return score_detections(detect(model, data, batch_size=batch_size), data)


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"
