"""Fine-tuning strategies: the backbone trains inside the LightningModule on raw batches.

- ``finetune``: all layer groups (or the last N with ``unfreeze``) and a new head.
- ``two-stage`` (LP-FT): stage 1 is the probe (a head on cached features), stage 2 fine-tunes from it.
- ``gradual`` (ULMFiT): the head alone first, then one more layer group per epoch, from the top down.
- ``bitfit``: biases only (and the head).

All combine with layer-wise learning-rate decay (``lr_decay``) and the L2-SP penalty (``l2sp``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch.utils.data import DataLoader

from transferkit.augmentation.pipeline import training_dataset_and_collate
from transferkit.backbones.base import Backbone
from transferkit.config import OptimConfig, RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.embedding_cache import extract_features, processes
from transferkit.engine import ClassifierModule, HistoryCallback, LayerGroup, build_trainer, fit_with_resume
from transferkit.engine.data import raw_loader
from transferkit.engine.module import TrainOptions
from transferkit.engine.targets import SingleLabelTarget
from transferkit.errors import ConfigError
from transferkit.imbalance.sampling import INDEX_METHODS, BalancedBatchSampler, check_resample, resample_indices
from transferkit.models.heads import ClassifierHead
from transferkit.models.target import TrainingTarget
from transferkit.models.transfer_model import TransferModel
from transferkit.strategies.base import Strategy, StrategyResult, register_strategy
from transferkit.strategies.options import train_options, trainer_options_for
from transferkit.strategies.probe import ProbeStrategy
from transferkit.strategies.regularizers import L2SP

FINETUNE_EPOCHS = 4
IMAGE_FROZEN_GROUPS = 3  # two-stage on images: see TwoStageStrategy
FINETUNE_WEIGHT_DECAY = 0.01


@dataclass
class Prepared:
    """Everything a fine-tuning run needs before `trainer.fit` (also used by lr-find)."""

    model: torch.nn.Module  # what trains: backbone + head, or the backbone alone (contrastive's stage 1)
    module: ClassifierModule
    train_loader: DataLoader
    valid_loader: DataLoader | None
    epochs: int
    details: dict[str, Any]


def group_records(groups: list[LayerGroup]) -> list[dict[str, Any]]:
    """The layer groups as metrics.json lists them."""
    return [{"name": g.name, "lr_scale": round(g.lr_scale, 6), "unfreeze_epoch": g.unfreeze_epoch} for g in groups]


def imbalance_plan(
    inputs: list[str], targets: torch.Tensor, spec: RunSpec
) -> tuple[list[str], torch.Tensor, BalancedBatchSampler | None]:
    """Training rows after random over / undersampling, or a balanced-batch sampler; SMOTE-like methods refuse."""
    method = spec.imbalance.resample
    check_resample(method, on_features=False)
    if method in INDEX_METHODS:
        picked = resample_indices(targets.numpy(), method, seed=spec.run.seed)
        return [inputs[i] for i in picked], targets[torch.as_tensor(picked)], None
    if method == "balanced-batches":
        if spec.run.devices > 1:
            raise ConfigError("--resample balanced-batches runs on one device; use oversample with --devices > 1.")
        return inputs, targets, BalancedBatchSampler(targets, seed=spec.run.seed)
    return inputs, targets, None


def raw_loaders(
    backbone: Backbone,
    train: LabeledData,
    valid: LabeledData | None,
    spec: RunSpec,
    *,
    batch_size: int,
    target: TrainingTarget,
) -> tuple[DataLoader, DataLoader | None, int]:
    """Loaders of raw backbone batches for fine-tuning: the training rows after resampling and augmentation,
    the validation rows as they are (None without them), and how many training rows there are."""
    class_names = target.output_names
    loader_args = {"batch_size": batch_size, "seed": spec.run.seed, "devices": spec.run.devices}
    train_inputs, train_targets, sampler = imbalance_plan(train.inputs, target.encode(train.labels or []), spec)
    # Augmentation keeps each view's class name (tasks other than single-label classification refuse --augment).
    names = [class_names[i] for i in train_targets.tolist()] if train_targets.dim() == 1 else list(train.labels or [])
    augmented = training_dataset_and_collate(backbone, train_inputs, train_targets, names, spec)
    if sampler is not None and augmented is not None:
        raise ConfigError("--resample balanced-batches and --augment cannot be combined in fine-tuning yet.")
    train_loader = raw_loader(
        backbone, train_inputs, train_targets, shuffle=True, augmented=augmented, sampler=sampler, **loader_args
    )
    valid_loader = None
    if valid is not None and len(valid):
        valid_loader = raw_loader(
            backbone, valid.inputs, target.encode(valid.labels or []), shuffle=False, **loader_args
        )
    return train_loader, valid_loader, len(train_inputs)


def is_bias(name: str, parameter: torch.nn.Parameter) -> bool:
    return name.endswith("bias")


@register_strategy
class FineTuneStrategy(Strategy):
    """Fine-tune the last `unfreeze` layer groups (default: all) with a new head at `head_lr_scale` (10x)."""

    name = "finetune"
    default_lr: ClassVar[float] = 1e-4
    default_batch_size: ClassVar[int] = 64
    default_epochs: ClassVar[int] = FINETUNE_EPOCHS
    new_head_lr_scale: ClassVar[float] = 10.0
    gradual: ClassVar[bool] = False
    param_filter: ClassVar[Any] = None

    # --- planning -----------------------------------------------------------------------------------
    def initial_head(
        self,
        *,
        backbone: Backbone,
        train: LabeledData,
        valid: LabeledData | None,
        spec: RunSpec,
        run_dir: Path,
        target: TrainingTarget,
    ) -> tuple[ClassifierHead, dict[str, Any]]:
        """A new head that centres and scales its input by statistics of the pretrained embeddings (cached)."""
        features, _ = extract_features(
            backbone,
            train.inputs,
            cache_dir=spec.backbone.cache_dir,
            batch_size=spec.backbone.batch_size,
            description="Embedding training data",
            **processes(spec.run),  # shared over --devices here; the Trainer's DDP processes then read the cache
        )
        head = ClassifierHead(
            in_features=backbone.num_features,
            num_classes=len(target.output_names),
            kind=spec.strategy.head,
            hidden_dim=spec.strategy.hidden_dim,
            dropout=spec.strategy.dropout,
            activation=target.activation,
        )
        # One scale for every dimension: per-dimension scales estimated from few examples blow up the
        # shifts of low-variance dimensions once the backbone starts moving.
        head.fit_scaling(torch.as_tensor(features), uniform=True)
        return head, {}

    def learning_rate_for(self, backbone: Backbone) -> float:
        """The base lr when --lr is not given (the same for every backbone unless a strategy says otherwise)."""
        return self.default_lr

    def default_unfreeze(self, backbone: Backbone, count: int) -> int:
        """How many of the `count` layer groups train when --unfreeze is not given: all of them."""
        return count

    def head_lr_scale(self, spec: RunSpec) -> float:
        return spec.strategy.head_lr_scale or self.new_head_lr_scale

    def plan(self, *, backbone: Backbone, head: ClassifierHead, spec: RunSpec) -> list[LayerGroup]:
        """Layer groups from input to output: the top `unfreeze` train, group k below the head at lr x decay^k."""
        return [*self.backbone_plan(backbone, spec), LayerGroup("head", head, lr_scale=self.head_lr_scale(spec))]

    def backbone_plan(self, backbone: Backbone, spec: RunSpec) -> list[LayerGroup]:
        """The backbone's part of `plan`: its layer groups with their lr scales and unfreezing epochs."""
        modules = backbone.layer_groups()
        count = len(modules)
        unfreeze = min(spec.strategy.unfreeze or self.default_unfreeze(backbone, count), count)
        backbone_decay = 0.0 if spec.strategy.l2sp else None
        groups = []
        for index, module in enumerate(modules):
            depth = count - index  # 1 for the group just below the head
            start = None if depth > unfreeze else (depth if self.gradual else 0)
            groups.append(
                LayerGroup(
                    f"backbone.{index}",
                    module,
                    lr_scale=spec.strategy.lr_decay**depth,
                    unfreeze_epoch=start,
                    param_filter=self.param_filter,
                    weight_decay=backbone_decay,
                )
            )
        return groups

    def check_options(self, backbone: Backbone, spec: RunSpec) -> None:
        """Refuse options this strategy cannot honour, naming the option and the fix."""
        optim = spec.optim
        if optim.optimizer == "lbfgs":
            raise ConfigError(
                f"The 'optimizer' option lbfgs is for the probe (full-batch on cached features); the {self.name} "
                "strategy trains on minibatches: use adamw, adam, sgd or rmsprop."
            )
        if (optim.mixup or optim.cutmix) and backbone.modality != "image":
            raise ConfigError("The 'mixup' and 'cutmix' options mix images; set them to 0 for text data.")

    def minibatch_options(self, spec: RunSpec, backbone: Backbone, *, has_valid: bool, **defaults: Any) -> TrainOptions:
        """TrainOptions for minibatch training: AdamW and FINETUNE_WEIGHT_DECAY unless the spec sets them."""
        optim = spec.optim
        return train_options(
            spec,
            optimizer="adamw" if optim.optimizer == "auto" else optim.optimizer,
            weight_decay=FINETUNE_WEIGHT_DECAY if optim.weight_decay == "auto" else float(optim.weight_decay),
            has_valid=has_valid,
            default_lr=self.learning_rate_for(backbone),
            **defaults,
        )

    def finalize(self, model: TransferModel) -> TransferModel:
        """Hook for strategies that change the backbone's structure for training (LoRA merges here)."""
        return model

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
        optim = spec.optim
        self.check_options(backbone, spec)
        target = self.target_for(target, spec, train)
        class_names = target.output_names
        head, details = self.initial_head(
            backbone=backbone, train=train, valid=valid, spec=spec, run_dir=run_dir, target=target
        )
        model = TransferModel(backbone, head, class_names)
        groups = self.plan(backbone=backbone, head=head, spec=spec)
        has_valid = valid is not None and len(valid) > 0
        options = self.minibatch_options(spec, backbone, has_valid=has_valid, class_counts=train.class_counts)
        backbone_groups = [group for group in groups if group.name != "head"]
        regularizers = [L2SP(backbone_groups, alpha=spec.strategy.l2sp)] if spec.strategy.l2sp else []
        module = ClassifierModule(
            model,
            groups=groups,
            options=options,
            num_classes=len(class_names),
            regularizers=regularizers,
            frozen_root=backbone,
            train_bn=spec.strategy.train_bn,
            target=target,
        )
        train_loader, valid_loader, training_rows = raw_loaders(
            backbone, train, valid, spec, batch_size=spec.optim.batch_size or self.default_batch_size, target=target
        )
        details |= {
            "imbalance": {
                "resample": spec.imbalance.resample,
                "class_weights": options.class_weights,
                "loss": options.loss,
                "training_rows": training_rows,
            },
            "optimizer": options.optimizer,
            "lr": options.base_lr,
            "weight_decay": options.weight_decay,
            "groups": group_records(groups),
            "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        }
        epochs = optim.epochs or self.default_epochs
        return Prepared(model, module, train_loader, valid_loader, epochs, details)

    # --- training -----------------------------------------------------------------------------------
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
        prepared = self.prepare(backbone=backbone, train=train, valid=valid, spec=spec, run_dir=run_dir, target=target)
        history, details, rank = self.train_prepared(prepared, spec=spec, run_dir=run_dir)
        model = self.finalize(prepared.model.cpu()).eval()
        return StrategyResult(model=model, backbone_trained=True, history=history, global_rank=rank, extra=details)

    def train_prepared(
        self, prepared: Prepared, *, spec: RunSpec, run_dir: Path
    ) -> tuple[list[dict[str, float]], dict[str, Any], int]:
        """Run the prepared module on Lightning (a checkpoint every epoch, resumed from the last one if any);
        returns the per-epoch history, the prepared details with the epochs run, and the process's rank."""
        history = HistoryCallback()
        options = trainer_options_for(
            spec, epochs=prepared.epochs, has_valid=prepared.valid_loader is not None, checkpoint=True
        )
        trainer = build_trainer(run_dir=run_dir, options=options, callbacks=[history])
        fit_with_resume(
            trainer,
            prepared.module,
            run_dir=run_dir,
            train_loader=prepared.train_loader,
            valid_loader=prepared.valid_loader,
        )
        details = prepared.details | {"epochs_run": trainer.current_epoch}
        return history.epochs, details, trainer.global_rank


@register_strategy
class TwoStageStrategy(FineTuneStrategy):
    """LP-FT: the probe trains the head on cached features (stage 1), then the backbone fine-tunes from there.

    Starting from a trained head keeps the first fine-tuning steps from wrecking pretrained features
    with gradients of a random head (Kumar et al., 2022). Stage 1 takes seconds and reruns on resume.
    """

    name = "two-stage"
    new_head_lr_scale = 1.0
    # Starting from a trained head, image backbones need a gentler step: on 100 digits (10 per class)
    # EfficientNet-Lite0 / MobileNetV2 reached 0.77 / 0.84 test accuracy at 1e-5 but 0.70 / 0.48 at 1e-4,
    # below their probes (0.71 / 0.87). MiniLM on reviews was measured best at 1e-4 and keeps it.
    image_lr: ClassVar[float] = 1e-5

    # On images the lowest groups (stem and first stages, at the highest resolutions) stay frozen: they hold
    # generic edges, barely move at lr 1e-5, and their backward pass is the costliest of the network.
    # EfficientNet-Lite0 on 100 digits, 4 epochs: all 8 groups 31.2 s / 0.823 test accuracy, lowest two
    # frozen 27.8 s / 0.823, lowest three 14.9 s / 0.820 (the 112 px expansion of blocks.1 dominates).
    image_frozen_groups: ClassVar[int] = IMAGE_FROZEN_GROUPS

    def learning_rate_for(self, backbone: Backbone) -> float:
        return self.image_lr if backbone.modality == "image" else self.default_lr

    def default_unfreeze(self, backbone: Backbone, count: int) -> int:
        if backbone.modality == "image":
            return max(1, count - self.image_frozen_groups)
        return count

    def initial_head(
        self,
        *,
        backbone: Backbone,
        train: LabeledData,
        valid: LabeledData | None,
        spec: RunSpec,
        run_dir: Path,
        target: TrainingTarget,
    ) -> tuple[ClassifierHead, dict[str, Any]]:
        stage1 = spec.model_copy(
            update={"optim": OptimConfig(epochs=spec.strategy.stage1_epochs, batch_size=spec.optim.batch_size)}
        )
        if isinstance(target, SingleLabelTarget):  # stage 1's optimiser options start afresh: no label smoothing
            target = replace(target, label_smoothing=stage1.optim.label_smoothing)
        requires_grad = [p.requires_grad for p in backbone.parameters()]
        head, history, details = ProbeStrategy().train_head(
            backbone=backbone,
            train=train,
            valid=valid,
            spec=stage1,
            run_dir=run_dir,
            checkpoint=False,
            target=target,
            # One common scale, as for a new head: per-dimension scales of few examples magnify the shifts of
            # low-variance dimensions once the backbone moves (EfficientNet-Lite0 on 100 digits: 0.37 -> 0.70).
            uniform_scale=True,
        )
        for parameter, flag in zip(backbone.parameters(), requires_grad, strict=True):
            parameter.requires_grad_(flag)
        stage1_valid = history[-1].get("val_accuracy") if history else None
        return head.train(), {"stage1": {**details, "val_accuracy": stage1_valid, "epochs": len(history)}}


@register_strategy
class GradualStrategy(FineTuneStrategy):
    """ULMFiT-style gradual unfreezing: epoch 0 trains the head, epoch k also the top k layer groups."""

    name = "gradual"
    gradual = True


@register_strategy
class BitFitStrategy(FineTuneStrategy):
    """BitFit (Ben Zaken et al., 2022): only the backbone's bias terms train, with the head."""

    name = "bitfit"
    default_lr = 1e-3
    param_filter = staticmethod(is_bias)
