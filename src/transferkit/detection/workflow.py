"""`fit --task detection`: read and check the boxes, train a torchvision detector over a pretrained backbone
through the Lightning engine, score the held-out split with COCO metrics, save the model folder and report."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L

from transferkit.config import RunSpec, register_task_name
from transferkit.detection.data import DetectionSplits, load_splits
from transferkit.detection.detectors import DetectorConfig, backbone_family, build_detector
from transferkit.detection.model_io import save_detection_model
from transferkit.detection.training import DetectorModule, TrainPlan, detection_strategy, evaluate_model, loaders
from transferkit.errors import ConfigError
from transferkit.run_folder import (
    default_run_name,
    inherited_run_name,
    is_primary_process,
    open_spec_run_folder,
    run_log,
    write_json,
)

logger = logging.getLogger("transferkit")
register_task_name("detection")  # also when this module is used without the workflows' routes (benchmarks)

DEFAULT_BACKBONE = "bundled:mobilenet_v2"
DEFAULT_SIZE = 320
DEFAULT_EPOCHS = 12
DEFAULT_LR = 1e-3
DEFAULT_BATCH = 8
MIN_SIZE = 64


@dataclass
class DetectionFitResult:
    """What a detection fit produced; the same fields as the core FitResult that the CLI prints."""

    run_dir: Path
    model_dir: Path
    metrics: dict[str, Any]
    spec: RunSpec
    model: Any
    task: Any = None


def detection_spec(spec: RunSpec) -> RunSpec:
    """The spec with the detection defaults filled in (written into config.yaml, so a rerun repeats it)."""
    overrides: dict[str, Any] = {}
    if spec.backbone.spec is None:
        overrides["backbone.spec"] = DEFAULT_BACKBONE
    if spec.backbone.image_size is None:
        overrides["backbone.image_size"] = DEFAULT_SIZE
    if spec.optim.epochs is None:
        overrides["optim.epochs"] = DEFAULT_EPOCHS
    if spec.run.name is None and inherited_run_name():  # a process Lightning launched for DDP: the primary's folder
        overrides["run.name"] = inherited_run_name()
    elif spec.run.name is None:
        strategy = detection_strategy(spec.strategy.name)
        overrides["run.name"] = default_run_name(
            spec.data.path or "data",
            f"{spec.strategy.detector}-{overrides.get('backbone.spec', spec.backbone.spec)}",
            strategy,
        )
    return spec.with_overrides(overrides)


def plan_for(spec: RunSpec, *, pretrained: bool = True) -> TrainPlan:
    weight_decay = spec.optim.weight_decay
    return TrainPlan(
        strategy=detection_strategy(spec.strategy.name) if pretrained else "full",
        epochs=int(spec.optim.epochs or DEFAULT_EPOCHS),
        lr=float(spec.optim.lr or DEFAULT_LR),
        weight_decay=1e-4 if weight_decay == "auto" else float(weight_decay),
        pretrained=pretrained,
        unfreeze=spec.strategy.unfreeze,
        train_bn=spec.strategy.train_bn,
        schedule="constant" if spec.optim.schedule == "constant" else "cosine",
    )


def splits_for(spec: RunSpec) -> DetectionSplits:
    return load_splits(
        str(spec.data.path),
        format=spec.data.format,
        skip_bad=spec.data.skip_bad_files,
        test_path=spec.data.test_path,
        valid_path=spec.data.valid_path,
        valid_fraction=spec.data.valid_fraction,
        test_fraction=spec.data.test_fraction,
        limit=spec.data.limit,
        seed=spec.run.seed,
        size=int(spec.backbone.image_size or DEFAULT_SIZE),
    )


def detector_config(spec: RunSpec, classes: list[str]) -> DetectorConfig:
    size = int(spec.backbone.image_size or DEFAULT_SIZE)
    if size < MIN_SIZE:
        raise ConfigError(f"--image-size {size} is too small for a detector (stride 64); use at least {MIN_SIZE}.")
    return DetectorConfig(
        detector=spec.strategy.detector,
        backbone=str(spec.backbone.spec),
        num_classes=len(classes),
        min_size=size,
        max_size=size,
        multiscale=spec.augment.policy == "strong" and spec.strategy.detector != "ssdlite",
    )


def train_detector(
    spec: RunSpec, splits: DetectionSplits, *, run_dir: Path, pretrained: bool = True, checkpoint: bool = True
) -> tuple[Any, DetectorModule, float]:
    """Build and train the detector; returns (model, Lightning module, training seconds)."""
    from lightning.pytorch.callbacks import EarlyStopping

    from transferkit.engine.trainer import build_trainer, fit_with_resume
    from transferkit.strategies.options import trainer_options_for

    L.seed_everything(spec.run.seed, workers=True, verbose=False)
    config = detector_config(spec, splits.train.classes)
    model = build_detector(config, pretrained=pretrained)
    module = DetectorModule(model, plan_for(spec, pretrained=pretrained))
    train_loader, valid_loader = loaders(
        splits.train,
        splits.valid,
        batch_size=spec.optim.batch_size or DEFAULT_BATCH,
        policy=spec.augment.policy,
        seed=spec.run.seed,
    )
    callbacks = []
    if spec.optim.early_stopping and valid_loader is not None:
        callbacks.append(EarlyStopping(monitor="val_map50", mode="max", patience=spec.optim.early_stopping))
    # The strategies' own options (devices, precision, --max-minutes...); early stopping is the callback above (mAP)
    options = trainer_options_for(spec, epochs=module.plan.epochs, has_valid=False, checkpoint=checkpoint)
    trainer = build_trainer(run_dir=run_dir, options=options, callbacks=callbacks)
    started = time.perf_counter()
    fit_with_resume(trainer, module, run_dir=run_dir, train_loader=train_loader, valid_loader=valid_loader)
    return model, module, time.perf_counter() - started


# Long: the fit sequence in order (claim, train, score, save, report), each step one call.
def fit_detection(spec: RunSpec, *, resume: str | Path | None = None) -> DetectionFitResult:
    """Train and evaluate a detector as `spec` says; the run folder holds model/, metrics.json and report.html.

    Example::

        fit_detection(RunSpec.from_dict({"data": {"path": "builtin:stamp-scenes", "task": "detection"}}))
    """
    started = time.perf_counter()
    spec = detection_spec(spec)
    detection_strategy(spec.strategy.name)  # options, backbone and every box checked before anything is written
    backbone_family(str(spec.backbone.spec))
    splits = splits_for(spec)
    config = detector_config(spec, splits.train.classes)
    folder = open_spec_run_folder(spec, resume=resume)
    run_dir = folder.path
    with folder.in_progress(), run_log(run_dir) as log:
        log.info("detection data %s: %s", spec.data.path, splits.summary())
        for line in splits.train.warnings:
            log.warning("%s", line)
        model, module, seconds = train_detector(spec, splits, run_dir=run_dir)
        if not is_primary_process():  # an extra DDP process: the primary scores and saves
            return DetectionFitResult(run_dir, run_dir / "model", {"global_rank": 1}, spec, model)
        metrics: dict[str, Any] = {
            "task": {"name": "detection", "classes": splits.train.classes},
            "data": splits.summary(),
            "strategy": {
                "chosen": module.plan.strategy,
                "detector": config.detector,
                "processes": module.trainer.world_size,  # DDP: each trained its shard of every epoch
                "steps": module.trainer.global_step,
            },
            "backbone": {"spec": config.backbone, "image_size": config.min_size},
            "timing": {"train_seconds": round(seconds, 2), "epochs": module.plan.epochs},
        }
        for name, split in (("valid", splits.valid), ("test", splits.test)):
            if split is not None:
                metrics[name] = evaluate_model(model, split, batch_size=spec.backbone.batch_size) | {
                    "num_examples": len(split)
                }
        model_dir = save_detection_model(
            model,
            run_dir / "model",
            classes=splits.train.classes,
            config=config,
            metadata={"backbone_spec": config.backbone, "trained_on": spec.data.path, "strategy": module.plan.strategy},
        )
        metrics["timing"]["total_seconds"] = round(time.perf_counter() - started, 2)
        write_json(run_dir / "metrics.json", metrics)
        if spec.run.report and splits.test is not None:
            from transferkit.detection.report import write_detection_report

            write_detection_report(run_dir, model=model, data=splits.test, metrics=metrics)
    return DetectionFitResult(run_dir=run_dir, model_dir=model_dir, metrics=metrics, spec=spec, model=model)
