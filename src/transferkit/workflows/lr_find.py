"""Learning-rate range test (`transferkit lr-find`): loss vs learning rate over a short exponential sweep.

It builds the same model, layer groups and data as `fit` with the chosen fine-tuning strategy, runs
Lightning's lr finder (`Tuner.lr_find`), and suggests the rate at the steepest loss descent.
During the sweep every group shares one rate; groups keep their frozen / trainable state.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L

from transferkit.backbones import create_backbone
from transferkit.config import RunSpec
from transferkit.engine import TrainerOptions, build_trainer
from transferkit.errors import ConfigError
from transferkit.modalities import get_modality
from transferkit.run_folder import check_output, write_output
from transferkit.strategies import get_strategy
from transferkit.strategies.finetune import FineTuneStrategy
from transferkit.workflows.fit import check_backbone_modality, prepare_splits, resolve_spec


@dataclass
class LRFindResult:
    """The sweep (learning rates and smoothed losses), the suggested rate and the files written."""

    lrs: list[float]
    losses: list[float]
    suggestion: float | None
    csv_path: Path | None
    plot_path: Path | None


def lr_find(
    data: str | Path | None = None,
    *,
    config: RunSpec | str | Path | None = None,
    output: str | Path | None = "lr-find.csv",
    min_lr: float = 1e-7,
    max_lr: float = 1.0,
    steps: int = 60,
    **options: Any,
) -> LRFindResult:
    """Sweep the learning rate of a fine-tuning strategy and suggest one.

    Args:
        data: Same as `transferkit.fit`.
        config: A RunSpec or YAML file; `options` override it (``strategy`` must fine-tune; default two-stage).
        output: CSV of (lr, loss); a PNG plot goes beside it when matplotlib is installed. None writes nothing.
        min_lr: Start of the sweep.
        max_lr: End of the sweep.
        steps: Optimiser steps in the sweep.

    Example::

        result = lr_find("builtin:fine-food", limit=200, max_length=64)
        result.suggestion  # 0.00012
    """
    options.setdefault("strategy", "two-stage")
    if output is not None:
        check_output(output)
    spec = resolve_spec(data, config, options)
    strategy = get_strategy(spec.strategy.name)
    if not isinstance(strategy, FineTuneStrategy):
        raise ConfigError(
            f"lr-find sweeps minibatch training; the '{spec.strategy.name}' strategy fits its head by L-BFGS, which "
            "needs no learning rate. Pass --strategy finetune, two-stage, gradual, bitfit, lora or contrastive."
        )
    L.seed_everything(spec.run.seed, workers=True, verbose=False)
    splits, _ = prepare_splits(spec)
    backbone_spec = spec.backbone.spec or get_modality(splits.train.modality).default_backbone
    check_backbone_modality(backbone_spec, splits.train.modality)
    spec = spec.with_overrides({"backbone.spec": backbone_spec, "run.devices": 1})
    backbone = create_backbone(backbone_spec, max_length=spec.backbone.max_length)
    from lightning.pytorch.tuner import Tuner

    with tempfile.TemporaryDirectory(prefix="transferkit-lr-find-") as scratch:
        run_dir = Path(scratch)
        prepared = strategy.prepare(backbone=backbone, train=splits.train, valid=None, spec=spec, run_dir=run_dir)
        trainer_options = TrainerOptions(max_epochs=max(1, steps), seed=spec.run.seed, checkpoint=False)
        trainer = build_trainer(run_dir=run_dir, options=trainer_options)
        finder = Tuner(trainer).lr_find(
            prepared.module,
            train_dataloaders=prepared.train_loader,
            min_lr=min_lr,
            max_lr=max_lr,
            num_training=steps,
            update_attr=False,
        )
    if finder is None:
        raise ConfigError("The lr finder did not run (no training batches); check the data.")
    lrs = [float(v) for v in finder.results["lr"]]
    losses = [float(v) for v in finder.results["loss"]]
    suggestion = finder.suggestion()
    csv_path = plot_path = None
    if output is not None:
        csv_path = Path(output)
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        write_output(
            csv_path, "lr,loss\n" + "".join(f"{lr:.6g},{loss:.6g}\n" for lr, loss in zip(lrs, losses, strict=True))
        )
        plot_path = _plot(finder, csv_path.with_suffix(".png"))
    return LRFindResult(lrs, losses, None if suggestion is None else float(suggestion), csv_path, plot_path)


def _plot(finder: Any, path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        return None
    figure = finder.plot(suggest=True, show=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    write_output(path, buffer.getvalue())
    return path
