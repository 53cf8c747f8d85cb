"""Fine-tuning a distillation student on the teacher's soft labels (`transferkit distil --epochs N`).

A frozen student is a probe on its backbone's embeddings (transferkit.labelling.distil.soft_label_head); a cut
MiniLM (bundled:minilm-l2 / -l3: the first layers of the bundled MiniLM) is not a good frozen encoder, its
pooled early layers were never trained to be one, so its whole network trains on the teacher's probabilities:
soft-label cross-entropy (torch's cross_entropy with probability targets) on Lightning through transferkit's
engine, starting from the probe head (LP-FT: the fine-tune starts where the probe ended).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from transferkit.backbones.base import Backbone
from transferkit.engine import ClassifierModule, LayerGroup, TrainerOptions, TrainOptions, build_trainer
from transferkit.engine.data import raw_loader
from transferkit.errors import ConfigError
from transferkit.models.heads import ClassifierHead
from transferkit.models.transfer_model import TransferModel

STUDENT_LR = 1e-4  # AdamW on the backbone; the head (already fitted by the probe) at HEAD_LR_SCALE times that
HEAD_LR_SCALE = 10.0
STUDENT_BATCH = 32


@dataclass
class SoftLabelTarget:
    """Rows of class probabilities as targets: the engine's TrainingTarget for a student of a teacher.

    Example:
        >>> target = SoftLabelTarget(output_names=["great", "other"])
        >>> round(float(target.loss(torch.zeros(1, 2), torch.tensor([[0.5, 0.5]]))), 4)
        0.6931
    """

    output_names: list[str]
    activation: str = field(default="softmax", init=False)

    def encode(self, labels: Sequence[str]) -> torch.Tensor:
        raise ConfigError("A distillation student trains on probabilities, not on label names.")

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(outputs, targets.to(outputs.dtype))  # probability targets: soft cross-entropy

    def validation_scores(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        return {
            "val_loss": self.loss(outputs, targets),
            "val_accuracy": (outputs.argmax(dim=-1) == targets.argmax(dim=-1)).float().mean(),
        }


def finetune_student(
    backbone: Backbone,
    head: ClassifierHead,
    inputs: list[str],
    soft: np.ndarray,
    *,
    class_names: list[str],
    epochs: int,
    run_dir: Path,
    seed: int = 0,
    lr: float = STUDENT_LR,
    batch_size: int = STUDENT_BATCH,
) -> TransferModel:
    """Train backbone and head together on `soft` (one probability row per input) for `epochs`; returns the model."""
    if epochs < 1:
        raise ConfigError(f"--epochs fine-tunes the student for that many epochs; got {epochs}.")
    model = TransferModel(backbone, head, class_names)
    groups = [LayerGroup("backbone", backbone), LayerGroup("head", head, lr_scale=HEAD_LR_SCALE)]
    options = TrainOptions(optimizer="adamw", lr=lr, weight_decay=0.01, schedule="cosine", warmup_epochs=0.1)
    module = ClassifierModule(model, groups=groups, options=options, target=SoftLabelTarget(list(class_names)))
    targets = torch.as_tensor(np.asarray(soft, dtype=np.float32))
    loader = raw_loader(backbone, inputs, targets, batch_size=batch_size, shuffle=True, seed=seed)
    trainer = build_trainer(
        run_dir=run_dir, options=TrainerOptions(max_epochs=epochs, seed=seed, checkpoint=False), name="student_logs"
    )
    trainer.fit(module, train_dataloaders=loader)
    return model.cpu().eval()
