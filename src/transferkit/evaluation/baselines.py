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
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.data.splits import Splits
from transferkit.errors import NotFittedError
from transferkit.evaluation.metrics import BOOTSTRAP_SAMPLES, classification_metrics, label_indices

BaselineChoice = Literal["none", "scratch", "classic", "both"]
PIXEL_SIZE = 32
SCRATCH_LR = 1e-3
C_GRID = np.logspace(-2, 2, 5)
CLASSIC_DESCRIPTIONS = {
    "text": "TF-IDF + logistic regression",
    "image": "pixels + logistic regression",
    "tabular": "gradient boosting (scikit-learn HistGradientBoostingClassifier)",
}


def _pixels(paths: list[str], size: int = PIXEL_SIZE) -> np.ndarray:
    """Grey-scale pixels of each image, resized to size x size, scaled to [0, 1], one row per image."""
    from transferkit.data.images import open_rgb

    rows = []
    for path in paths:
        grey = open_rgb(path).convert("L").resize((size, size))
        rows.append(np.asarray(grey, dtype=np.float32).ravel() / 255.0)
    return np.stack(rows)


def table_matrix(rows: Any) -> Any:
    """The feature table of tabular inputs: a DataFrame / 2-D array as is, else one row per item.

    Items may be sequences of values, mappings of column -> value, or JSON strings of either. Text columns
    become pandas categories, which the gradient-boosting baseline splits on natively.
    """
    import json

    import pandas as pd

    if isinstance(rows, np.ndarray):
        return rows.astype(float)
    frame = rows if isinstance(rows, pd.DataFrame) else None
    if frame is None:
        items = [json.loads(row) if isinstance(row, str) else row for row in rows]
        frame = pd.DataFrame(items if items and isinstance(items[0], dict) else [list(item) for item in items])
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[column]):
            continue
        numbers = pd.to_numeric(frame[column], errors="coerce")  # numbers written as text ("52000") stay numbers
        if numbers.notna().sum() == frame[column].notna().sum():
            frame[column] = numbers
        else:
            frame[column] = frame[column].astype("category")
    return frame


def _folds(labels: list[str], seed: int) -> StratifiedKFold:
    smallest = min(np.unique(labels, return_counts=True)[1])
    return StratifiedKFold(int(max(2, min(3, smallest))), shuffle=True, random_state=seed)


class ClassicBaseline:
    """TF-IDF (word 1-2 grams) or raw pixels, then logistic regression with its L2 strength chosen by 3-fold CV;
    for tables (modality "tabular"), histogram gradient boosting on the columns (missing values allowed).

    Example:
        >>> model = ClassicBaseline(modality="text").fit(["good", "bad", "great", "awful"], ["+", "-", "+", "-"])
        >>> model.predict_proba(["good"]).shape
        (1, 2)
    """

    def __init__(self, *, modality: str, seed: int = 0) -> None:
        self.modality = modality
        self.seed = seed

    def _features(self) -> Any:
        if self.modality == "text":
            return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        return StandardScaler()

    def _inputs(self, inputs: Any) -> Any:
        if self.modality == "tabular":
            return table_matrix(inputs)
        return inputs if self.modality == "text" else _pixels(inputs)

    def fit(self, inputs: Any, labels: list[str]) -> ClassicBaseline:
        if self.modality == "tabular":
            # Gradient boosting's defaults are strong on small tables; categories split natively, NaN allowed.
            booster = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=self.seed)
            self.pipeline_ = make_pipeline(booster).fit(self._inputs(inputs), labels)
            self.classes_ = list(self.pipeline_.classes_)
            return self
        solver = "liblinear" if len(set(labels)) == 2 else "lbfgs"  # liblinear: fast on sparse binary problems
        classifier = GridSearchCV(
            LogisticRegression(solver=solver, max_iter=2000),
            {"C": C_GRID},
            cv=_folds(labels, self.seed),
            scoring="neg_log_loss",
        )
        self.pipeline_ = make_pipeline(self._features(), classifier).fit(self._inputs(inputs), labels)
        self.classes_ = list(self.pipeline_.classes_)
        return self

    def predict_proba(self, inputs: Any, *, class_names: list[str] | None = None) -> np.ndarray:
        """Probabilities with columns in `class_names` order (default: sorted training classes)."""
        if not hasattr(self, "pipeline_"):
            raise NotFittedError("ClassicBaseline.predict_proba was called before fit; call fit(inputs, labels) first.")
        proba = self.pipeline_.predict_proba(self._inputs(inputs))
        names = class_names or self.classes_
        out = np.zeros((len(inputs), len(names)))
        for column, name in enumerate(self.classes_):
            out[:, names.index(name)] = proba[:, column]
        return out


def transfer_gain(
    labels: list[str],
    transfer_proba: np.ndarray,
    baseline_proba: np.ndarray,
    class_names: list[str],
    *,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    """Transfer accuracy minus baseline accuracy on the same examples, with a paired bootstrap 95% interval.

    Example:
        >>> gain = transfer_gain(["a", "b"], np.eye(2), np.eye(2)[::-1], ["a", "b"])
        >>> gain["gain"], gain["negative_transfer"]
        (1.0, False)
    """
    y_true = label_indices(labels, class_names)
    difference = (np.asarray(transfer_proba).argmax(1) == y_true).astype(float) - (
        np.asarray(baseline_proba).argmax(1) == y_true
    )
    draws = np.random.default_rng(seed).integers(0, len(y_true), size=(samples, len(y_true)))
    low, high = np.percentile(difference[draws].mean(axis=1), [2.5, 97.5])
    return {
        "metric": "accuracy",
        "gain": float(difference.mean()),
        "low": float(low),
        "high": float(high),
        "negative_transfer": bool(high < 0),
        "significant": bool(low > 0 or high < 0),
    }


def _random_backbone(spec: RunSpec, *, seed: int):
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
    values = spec.model_dump()
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
        backbone = _random_backbone(baseline_spec, seed=spec.run.seed)
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
            description = CLASSIC_DESCRIPTIONS.get(train.modality, "pixels + logistic regression")
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


def gain_summary(metrics: dict[str, Any]) -> list[str]:
    """One line per baseline of a run's metrics: its accuracy, the transfer gain with its interval, the verdict.

    Example:
        >>> gain_summary({"baselines": {}})
        []
    """
    lines = []
    for name, entry in (metrics.get("baselines") or {}).items():
        if not isinstance(entry, dict):
            continue
        gain = entry["gain"]
        verdict = (
            "NEGATIVE TRANSFER" if gain["negative_transfer"] else ("helped" if gain["low"] > 0 else "no clear gain")
        )
        lines.append(
            f"{name} baseline ({entry['description']}): accuracy {entry['metrics']['accuracy']:.3f}; transfer gain "
            f"{gain['gain']:+.3f} [95% CI {gain['low']:+.3f}, {gain['high']:+.3f}]: {verdict}"
        )
    return lines
