"""``contrastive``: SetFit-style few-shot transfer without SetFit's pair sampling.

Stage 1 fine-tunes the backbone so that embeddings of one class point the same way and those of different
classes are orthogonal (`transferkit.engine.contrastive.pairwise_cosine_loss`, scored on every pair of
each batch). Stage 2 is the probe: the L-BFGS logistic-regression head, L2 by cross-validation, fitted on
the tuned backbone's embeddings made unit length (the pair loss shaped their directions only). The saved
model is an ordinary backbone + head.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from transferkit.backbones.base import Backbone
from transferkit.config import OptimConfig, RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.engine.contrastive import ContrastiveModule
from transferkit.errors import ConfigError
from transferkit.models.target import TrainingTarget
from transferkit.models.transfer_model import TransferModel
from transferkit.strategies.base import StrategyResult, register_strategy
from transferkit.strategies.finetune import FineTuneStrategy, Prepared, TwoStageStrategy, group_records, raw_loaders
from transferkit.strategies.probe import ProbeStrategy
from transferkit.strategies.regularizers import L2SP

# Default training length (`ContrastiveStrategy.epochs_for`). Fine-food reviews, 32 per class, 5 draws,
# constant lr: 8 epochs (each pair met ~2 times) 0.755 test accuracy vs SetFit's 0.770; 16 epochs (~4 times) 0.769.
PAIR_MEETINGS = 4
MAX_DEFAULT_STEPS = 256  # about SetFit's own update count at 32 examples per class
# SetFit's recipe: warm up over the first tenth of training, then decay (cosine here). 32 per class, 5 draws,
# unit-length head: 0.774 test accuracy vs 0.769 at a constant lr (SetFit: 0.770).
WARMUP_FRACTION = 0.1


@register_strategy
class ContrastiveStrategy(FineTuneStrategy):
    """Contrastive body tuning (SetFit's objective, all in-batch pairs), then the probe head on the tuned body.

    Made for a few labelled examples; benchmarks/vs_setfit.py measures it against SetFit with the same
    MiniLM body. The learning rates follow two-stage: 1e-4, 1e-5 on images.
    """

    name = "contrastive"
    # At least 8 epochs: 16 reviews (batch 16) gave 0.642 / 0.655 / 0.676 test accuracy after 4 epochs and
    # 0.710 / 0.660 / 0.697 after 8 (three draws); 32 reviews 0.693 / 0.695 after 4, 0.727 / 0.646 after 8.
    # More rows need more epochs (see `epochs_for`).
    default_epochs = 8
    # SetFit's batch; with the same encodes per epoch, smaller batches mean more updates: 32 reviews, 8 epochs
    # reached 0.667 test accuracy at batch 64 (8 steps) and 0.727 at batch 16 (16 steps).
    default_batch_size = 16
    learning_rate_for = TwoStageStrategy.learning_rate_for
    image_lr = TwoStageStrategy.image_lr

    def epochs_for(self, rows: int, batch_size: int) -> int:
        """Default epochs: enough for every pair of training rows to share a batch ~PAIR_MEETINGS times.

        The pairs grow with the square of the rows but each epoch scores only the pairs inside its batches,
        so a fixed epoch count covers ever fewer of them (SetFit samples pairs in proportion instead). At
        most MAX_DEFAULT_STEPS updates, never fewer than `default_epochs`.
        """
        full, rest = divmod(rows, batch_size)
        pairs_per_epoch = full * math.comb(batch_size, 2) + math.comb(rest, 2)
        wanted = math.ceil(PAIR_MEETINGS * math.comb(rows, 2) / max(1, pairs_per_epoch))
        steps_per_epoch = full + (rest > 0)
        return max(self.default_epochs, min(wanted, MAX_DEFAULT_STEPS // max(1, steps_per_epoch)))

    def check_options(self, backbone: Backbone, spec: RunSpec) -> None:
        super().check_options(backbone, spec)
        optim = spec.optim
        if optim.mixup or optim.cutmix:
            raise ConfigError("The 'mixup' and 'cutmix' options mix labels, which pairs cannot use; set them to 0.")
        if optim.monitor == "val_accuracy" and (optim.early_stopping or optim.schedule == "plateau"):
            raise ConfigError(
                "The contrastive stage has no accuracy to watch (it trains embeddings, not a classifier); "
                "set --monitor val_loss."
            )
        if spec.imbalance.loss != "cross-entropy" or spec.optim.label_smoothing:
            raise ConfigError(
                "The 'loss' and 'label_smoothing' options shape a classifier's loss; the contrastive strategy "
                "trains on pairs. Use --class-weight or --resample for imbalance instead."
            )

    def fit(
        self,
        *,
        backbone: Backbone,
        train: LabeledData,
        valid: LabeledData | None,
        spec: RunSpec,
        run_dir: Path,
        target: TrainingTarget | None = None,
    ) -> StrategyResult:
        target = self.target_for(target, spec, train)
        prepared = self.prepare(backbone=backbone, train=train, valid=valid, spec=spec, run_dir=run_dir, target=target)
        history, details, rank = self.train_prepared(prepared, spec=spec, run_dir=run_dir)
        for parameter in backbone.parameters():
            parameter.requires_grad_(False)
        # The feature cache holds the pretrained backbone's embeddings: the tuned one embeds afresh.
        run_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=run_dir, prefix=".tuned-features-") as cache_dir:
            head_spec = spec.model_copy(
                update={
                    "optim": OptimConfig(),
                    "backbone": spec.backbone.model_copy(update={"cache_dir": cache_dir}),
                }
            )
            head, head_history, head_details = ProbeStrategy().train_head(
                backbone=backbone,
                train=train,
                valid=valid,
                spec=head_spec,
                run_dir=run_dir,
                checkpoint=False,
                normalize=True,
                uniform_scale=True,
                target=target,
            )
            head_details.pop("feature_cache", None)  # a temporary cache: its hit counts say nothing
        model = self.finalize(TransferModel(backbone.cpu().eval(), head, target.output_names))
        return StrategyResult(
            model=model,
            backbone_trained=True,
            history=history,
            global_rank=rank,
            extra=details | {"head": {**head_details, "epochs": len(head_history)}},
        )

    def prepare(
        self,
        *,
        backbone: Backbone,
        train: LabeledData,
        valid: LabeledData | None,
        spec: RunSpec,
        run_dir: Path,
        target: TrainingTarget | None = None,
    ) -> Prepared:
        """Stage 1: the pair loss over the backbone's layer groups (what `fit` trains and lr-find sweeps)."""
        self.check_options(backbone, spec)
        target = self.target_for(target, spec, train)
        if len(target.output_names) < 2:
            raise ConfigError("The contrastive strategy needs at least two classes in the training data.")
        optim = spec.optim
        groups = self.backbone_plan(backbone, spec)
        batch_size = optim.batch_size or self.default_batch_size
        train_loader, valid_loader, training_rows = raw_loaders(
            backbone, train, valid, spec, batch_size=batch_size, target=target
        )
        epochs = optim.epochs or self.epochs_for(training_rows, batch_size)
        options = self.minibatch_options(
            spec,
            backbone,
            has_valid=valid_loader is not None,
            default_schedule="cosine",
            default_warmup_epochs=WARMUP_FRACTION * epochs,
        )
        module = ContrastiveModule(
            backbone,
            groups=groups,
            options=options,
            regularizers=[L2SP(groups, alpha=spec.strategy.l2sp)] if spec.strategy.l2sp else [],
            frozen_root=backbone,
            train_bn=spec.strategy.train_bn,
        )
        details = {
            "stage1": "contrastive (pairwise cosine, SetFit's objective)",
            "optimizer": options.optimizer,
            "lr": options.base_lr,
            "weight_decay": options.weight_decay,
            "training_rows": training_rows,
            "batch_size": batch_size,
            "groups": group_records(groups),
        }
        details |= {"epochs": epochs, "schedule": options.schedule, "warmup_epochs": options.warmup_epochs}
        return Prepared(backbone, module, train_loader, valid_loader, epochs, details)
