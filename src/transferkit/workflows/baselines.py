"""Baselines that say whether transfer helped: a classic model and the same network trained from scratch.

- classic: TF-IDF + logistic regression for text, raw pixels + logistic regression for images,
  histogram gradient boosting (scikit-learn) on the columns for tables.
- scratch: the same backbone architecture, randomly initialised, trained end to end by the `finetune`
  strategy with the run's epochs (the same budget), lr 1e-3 unless the run sets one.

`run_baselines` evaluates each on the run's test split (the validation split when there is no test
split) and reports the transfer gain: transfer accuracy minus baseline accuracy with a paired bootstrap
95% interval; NEGATIVE TRANSFER is flagged when the whole interval lies below zero.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np

from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.data.splits import Splits
from transferkit.evaluation.gain import transfer_gain
from transferkit.evaluation.metrics import classification_metrics
from transferkit.models.classic import ClassicBaseline, classic_recipe

BaselineChoice = Literal["none", "scratch", "classic", "both"]
SCRATCH_LR = 1e-3


def random_backbone(spec: RunSpec, *, seed: int):
    """The run's backbone architecture with every layer re-initialised (and its own embedding-cache identity)."""
    import torch

    from transferkit.backbones import create_backbone

    backbone = create_backbone(spec.backbone.spec, max_length=spec.backbone.max_length)
    torch.manual_seed(seed)
    for module in backbone.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    backbone.weights_cfg = dataclasses.replace(
        backbone.weights_cfg, source=f"random initialisation (seed {seed})", checksum=f"random-init-{seed}"
    )
    return backbone


def scratch_spec(spec: RunSpec, *, cache_dir: str) -> RunSpec:
    """The run's spec turned into end-to-end training from random initialisation with the same epochs."""
    values = spec.with_strategy("finetune", source="scratch baseline").model_dump()  # drops LoRA's options etc.
    values["strategy"] |= {"name": "finetune", "unfreeze": None, "l2sp": 0.0, "lr_decay": 1.0, "head_lr_scale": 1.0}
    optim = values["optim"]
    if optim["optimizer"] == "lbfgs":
        optim["optimizer"] = "auto"
    if spec.strategy.name == "probe":  # the probe's lr and epochs are L-BFGS settings: use fine-tuning defaults
        optim["lr"], optim["epochs"] = None, None
    optim["lr"] = optim["lr"] or SCRATCH_LR
    values["backbone"]["cache_dir"] = cache_dir
    values["run"] |= {"devices": 1, "num_nodes": 1}
    return RunSpec.from_dict(values, source="scratch baseline")


def scratch_baseline_proba(
    *, spec: RunSpec, train: LabeledData, valid: LabeledData | None, evaluate_on: LabeledData, run_dir: Path
) -> np.ndarray:
    """Train the run's architecture from random initialisation and return its probabilities on `evaluate_on`.

    Checkpoints and the random-feature cache live in a temporary folder inside `run_dir`, removed afterwards.
    """
    from transferkit.strategies import get_strategy

    with tempfile.TemporaryDirectory(dir=run_dir, prefix=".baseline-scratch-") as work:
        baseline_spec = scratch_spec(spec, cache_dir=str(Path(work) / "cache"))
        backbone = random_backbone(baseline_spec, seed=spec.run.seed)
        strategy = get_strategy("finetune")
        result = strategy.fit(backbone=backbone, train=train, valid=valid, spec=baseline_spec, run_dir=Path(work))
        return strategy.predict_proba(result, evaluate_on, baseline_spec)


def run_baselines(
    *,
    choice: BaselineChoice,
    spec: RunSpec,
    splits: Splits,
    probas: dict[str, np.ndarray],
    class_names: list[str],
    run_dir: Path,
) -> dict[str, Any]:
    """Fit the chosen baselines on the training split and compare them with the transfer model.

    They are evaluated on the test split (the validation split when there is none), whose transfer
    probabilities are `probas["test"]` (or `probas["valid"]`). Returns
    ``{"split": "test", "examples": n, "classic": {"description", "metrics", "gain"}, "scratch": {...}}``.
    """
    split_name = "test" if "test" in probas else "valid"
    if choice == "none" or split_name not in probas:
        return {}
    evaluate_on = splits.test if split_name == "test" else splits.valid
    train, seed = splits.train, spec.run.seed
    results: dict[str, Any] = {"split": split_name, "examples": len(evaluate_on)}
    for name in ["classic", "scratch"] if choice == "both" else [choice]:
        if name == "classic":
            model = ClassicBaseline(modality=train.modality, seed=seed).fit(train.inputs, train.labels or [])
            proba = model.predict_proba(evaluate_on.inputs, class_names=class_names)
            description = classic_recipe(train.modality).description
        else:
            proba = scratch_baseline_proba(
                spec=spec, train=train, valid=splits.valid, evaluate_on=evaluate_on, run_dir=run_dir
            )
            description = f"{spec.backbone.spec} from random initialisation, trained end to end"
        labels = evaluate_on.labels or []
        results[name] = {
            "description": description,
            "metrics": classification_metrics(labels, proba, class_names, seed=seed),
            "gain": transfer_gain(labels, probas[split_name], proba, class_names, seed=seed),
        }
    return results
