"""The Python API behind every CLI command: fit, predict, evaluate, demo.

Example:
    >>> import transferkit
    >>> result = transferkit.fit("reviews.csv", text_column="review", label_column="score")  # doctest: +SKIP
    >>> transferkit.predict(result.model_dir, ["new_reviews.csv"], output="predictions.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd

from transferkit.artifacts import load_model, read_manifest, save_model
from transferkit.backbones import DEFAULT_BACKBONES, backbone_entry, create_backbone
from transferkit.config import RunSpec, flat_to_dotted
from transferkit.data import LabeledData, Splits, load_labeled, split_data, validate_labeled
from transferkit.data.audio import load_audio_inputs
from transferkit.data.feature_tables import load_tabular_table
from transferkit.data.images import load_image_inputs
from transferkit.data.text_tables import TABLE_SUFFIXES, load_text_table
from transferkit.data.validation import describe_bad_items
from transferkit.errors import ConfigError, DataError
from transferkit.evaluation import classification_metrics, write_run_report
from transferkit.evaluation.metrics import class_pr_auc
from transferkit.imbalance.advice import imbalance_summary
from transferkit.imbalance.threshold import apply_threshold, check_threshold_option, threshold_record
from transferkit.model_card import model_card
from transferkit.models.feature_model import FeatureModel
from transferkit.models.transfer_model import TransferModel
from transferkit.run_folder import default_run_name, inherited_run_name, run_log, write_atomic, write_json
from transferkit.strategies import get_strategy
from transferkit.strategies.choice import choose_for_run
from transferkit.workflows.baselines import run_baselines
from transferkit.workflows.run_setup import open_run_dir, resume_spec


@dataclass
class FitResult:
    """What `fit` produced: the run folder, the saved model folder, the metrics and the model itself."""

    run_dir: Path
    model_dir: Path
    metrics: dict[str, Any]
    spec: RunSpec
    model: TransferModel


def resolve_spec(data: str | Path | None, config: RunSpec | str | Path | None, options: dict[str, Any]) -> RunSpec:
    """Config file (or object), then flat options / dotted keys, then the DATA argument, in that order."""
    if isinstance(config, RunSpec):
        spec = config
    elif config is not None:
        spec = RunSpec.from_yaml(config)
    else:
        spec = RunSpec()
    overrides = flat_to_dotted(options)
    if data is not None:
        overrides["data.path"] = str(data)
    spec = spec.with_overrides(overrides)
    if spec.data.path is None:
        raise ConfigError("No data given; pass DATA (an image folder, a CSV / JSONL file or builtin:NAME).")
    return spec


def _load_split_file(path: str | None, spec: RunSpec, *, classes: list[str], what: str) -> LabeledData | None:
    if path is None:
        return None
    data = load_labeled(
        path,
        text_column=spec.data.text_column,
        label_column=spec.data.label_column,
        tabular=is_tabular(spec),
        feature_columns=spec.data.feature_columns,
    )
    validate_labeled_extra(data, spec, classes=classes, what=what)
    return data


def validate_labeled_extra(data: LabeledData, spec: RunSpec, *, classes: list[str], what: str) -> None:
    if data.bad_items and not spec.data.skip_bad_files:
        raise DataError(
            f"{len(data.bad_items)} unusable item(s) in {data.source}: {describe_bad_items(data.bad_items)}. "
            "Fix or remove them, or pass --skip-bad-files."
        )
    unknown = sorted(set(data.labels or []) - set(classes))
    if unknown:
        raise DataError(
            f"The {what} data {data.source} has label(s) {', '.join(unknown)} that the training data "
            f"lacks; the model can only predict {', '.join(classes)}."
        )


def is_tabular(spec: RunSpec) -> bool:
    """A table is read as feature columns when --feature-columns is given or the backbone is a tabular one."""
    if spec.data.feature_columns:
        return True
    return bool(spec.backbone.spec) and backbone_entry(spec.backbone.spec).modality == "tabular"


def prepare_splits(spec: RunSpec) -> tuple[Splits, dict[str, Any]]:
    """Load, validate and split the data a spec names; returns the splits and the data summary."""
    data = load_labeled(
        spec.data.path,
        text_column=spec.data.text_column,
        label_column=spec.data.label_column,
        split_column=spec.data.split_column,
        tabular=is_tabular(spec),
        feature_columns=spec.data.feature_columns,
    )
    report = validate_labeled(data, skip_bad_files=spec.data.skip_bad_files)
    classes = data.class_names
    splits = split_data(
        data,
        valid_fraction=spec.data.valid_fraction,
        test_fraction=spec.data.test_fraction,
        seed=spec.run.seed,
        limit=spec.data.limit,
        test_limit=spec.data.test_limit,
        valid_data=_load_split_file(spec.data.valid_path, spec, classes=classes, what="validation"),
        test_data=_load_split_file(spec.data.test_path, spec, classes=classes, what="test"),
    )
    if len(splits.train.class_names) < 2:
        raise DataError(f"The training split of {data.source} has a single class; add examples of other classes.")
    summary = report.to_dict() | {"splits": splits.summary()}
    return splits, summary


def _check_backbone_modality(backbone_spec: str, modality: str) -> None:
    entry = backbone_entry(backbone_spec)
    if entry.modality != modality:
        raise ConfigError(
            f"The 'backbone' option '{backbone_spec}' is a {entry.modality} model but the data is {modality}; "
            f"pick a {modality} backbone such as '{DEFAULT_BACKBONES[modality]}'."
        )


def fit(
    data: str | Path | None = None,
    *,
    config: RunSpec | str | Path | None = None,
    resume: str | Path | None = None,
    **options: Any,
) -> FitResult:
    """Train a transfer model on labelled data and write a run folder.

    Args:
        data: An image folder (one sub-folder per class), a CSV / JSONL / Parquet file, or ``builtin:NAME``.
        config: A RunSpec or a YAML file; `options` override it.
        resume: A run folder to continue from its last checkpoint (after a crash), with its own config.
        **options: Flat options (``backbone="bundled:minilm"``, ``epochs=20``, ``text_column="review"``)
            or dotted config keys (``**{"optim.lr": 0.5}``).

    Returns:
        FitResult with run_dir (config.yaml, metrics.json, fit.log, model/), the metrics and the model.

    Example:
        >>> result = fit("builtin:fine-food", limit=300)  # doctest: +SKIP
        >>> result.metrics["test"]["accuracy"]  # doctest: +SKIP
    """
    started = time.perf_counter()
    if resume is not None:
        spec = resume_spec(resume, other_options=bool(data or config or options))
    else:
        spec = resolve_spec(data, config, options)
    L.seed_everything(spec.run.seed, workers=True, verbose=False)
    splits, data_summary = prepare_splits(spec)
    modality = splits.train.modality
    backbone_spec = spec.backbone.spec or DEFAULT_BACKBONES[modality]
    _check_backbone_modality(backbone_spec, modality)
    name = spec.run.name or inherited_run_name() or default_run_name(spec.data.path, backbone_spec, spec.strategy.name)
    spec = spec.with_overrides({"backbone.spec": backbone_spec, "run.name": name})
    run_dir = Path(resume) if resume is not None else open_run_dir(spec)
    with run_log(run_dir) as log:
        log.info("data %s: %s", spec.data.path, data_summary)
        check_threshold_option(
            spec.imbalance.threshold, num_classes=len(splits.train.class_names), has_valid=bool(splits.valid)
        )
        column_map = {"column_map": spec.backbone.column_map} if spec.backbone.column_map else {}
        if column_map and modality != "tabular":
            raise ConfigError("The 'column-map' option renames table columns; it applies to tabular backbones only.")
        backbone = create_backbone(backbone_spec, max_length=spec.backbone.max_length, **column_map)
        if modality == "tabular":  # scikit-learn preprocessing, fitted on the training rows only
            backbone.fit_preprocessing(splits.train.inputs)
        strategy = get_strategy(spec.strategy.name)
        result = strategy.fit(backbone=backbone, train=splits.train, valid=splits.valid, spec=spec, run_dir=run_dir)
        if result.details.get("global_rank", 0):  # an extra process of a multi-process run: the primary reports
            return FitResult(
                run_dir=run_dir, model_dir=run_dir / "model", metrics={"global_rank": 1}, spec=spec, model=result.model
            )
        fitted = time.perf_counter()
        metrics: dict[str, Any] = {"data": data_summary}
        probas: dict[str, np.ndarray] = {}
        class_names = result.model.class_names
        evaluated = {name: split for name, split in (("valid", splits.valid), ("test", splits.test)) if split}
        for split_name, split in evaluated.items():
            probas[split_name] = strategy.predict_proba(result, split, spec)
        metrics["imbalance"] = imbalance_summary(splits.train.class_counts, spec.imbalance)
        threshold = None
        if spec.imbalance.threshold == "auto":  # tuned on validation rows; test rows only measure it
            threshold = threshold_record(class_names, splits.train.class_counts, splits.valid.labels, probas["valid"])
            metrics["threshold"] = threshold
        for split_name, split in evaluated.items():
            metrics[split_name] = classification_metrics(
                split.labels, probas[split_name], class_names, threshold=threshold
            )
            if len(class_names) == 2:
                minority = metrics["imbalance"]["minority_class"]
                metrics[split_name]["minority_pr_auc"] = class_pr_auc(
                    split.labels, probas[split_name], class_names, minority
                )
        if metrics["imbalance"]["suggestion"]:
            log.info("suggestion: %s", metrics["imbalance"]["suggestion"])
        if spec.run.baseline != "none":
            metrics["baselines"] = run_baselines(
                choice=spec.run.baseline,
                spec=spec,
                splits=splits,
                probas=probas,
                class_names=class_names,
                run_dir=run_dir,
            )
        if "selection" in result.details:  # strategy auto: the choice that made the model
            metrics["selection"] = result.details.pop("selection")
        elif spec.run.select:  # an explicit strategy with --select: the same choice, reported only
            metrics["selection"] = choose_for_run(spec=spec, train=splits.train)
        metrics["backbone"] = {
            "spec": backbone_spec,
            "parameters": backbone.num_parameters,
            "weights": backbone.weights_cfg.to_dict(),
        }
        metrics["strategy"] = {"name": spec.strategy.name, **result.details}
        metrics["history"] = result.history
        metrics["seconds"] = {"fit": round(fitted - started, 2), "total": round(time.perf_counter() - started, 2)}
        model_dir = save_model(
            result.model,
            run_dir / "model",
            backbone_trained=result.backbone_trained,
            metadata={
                "text_column": spec.data.text_column,
                "run": name,
                "modality": modality,
                **({"feature_columns": backbone.input_columns} if modality == "tabular" else {}),
                **({"threshold": threshold} if threshold else {}),
            },
            card=model_card(metrics=metrics, spec=spec, class_names=class_names, modality=modality),
        )
        write_json(run_dir / "metrics.json", metrics)
        write_run_report(run_dir, metrics=metrics, spec=spec, splits=splits, probas=probas, class_names=class_names)
        log.info("metrics written to %s", run_dir / "metrics.json")
    return FitResult(run_dir=run_dir, model_dir=model_dir, metrics=metrics, spec=spec, model=result.model)


def _as_model(model: TransferModel | FeatureModel | str | Path) -> tuple[TransferModel | FeatureModel, dict[str, Any]]:
    if isinstance(model, TransferModel | FeatureModel):
        return model, {}
    return load_model(model), read_manifest(model)["metadata"]


def _text_inputs(paths: list[Path], text_column: str) -> list[str]:
    texts: list[str] = []
    for path in paths:
        if not path.is_file():
            raise DataError(f"Input {path} does not exist; pass CSV / JSONL / TXT files of texts.")
        if path.suffix.lower() == ".txt":
            texts.extend(line for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        elif path.suffix.lower() in TABLE_SUFFIXES:
            table = load_text_table(path, text_column=text_column, label_column=None)
            if table.bad_items:
                raise DataError(f"Unusable rows in {path}: {describe_bad_items(table.bad_items)}.")
            texts.extend(table.inputs)
        else:
            raise DataError(f"{path} is not a text input; use .txt (one text per line), .csv, .tsv or .jsonl.")
    return texts


def model_columns(model: TransferModel | FeatureModel) -> list[str]:
    """The table columns a tabular model reads (after its column map)."""
    return list(model.backbone.input_columns)


def _tabular_inputs(paths: list[Path], columns: list[str]) -> list[str]:
    rows: list[str] = []
    for path in paths:
        table = load_tabular_table(path, label_column=None, feature_columns=columns)
        if table.bad_items:
            raise DataError(f"Unusable rows in {path}: {describe_bad_items(table.bad_items)}.")
        rows.extend(table.inputs)
    return rows


def predict(
    model: TransferModel | FeatureModel | str | Path,
    inputs: list[str | Path] | None = None,
    *,
    texts: list[str] | None = None,
    output: str | Path | None = None,
    text_column: str | None = None,
    batch_size: int = 32,
    skip_bad_files: bool = False,
    runtime: str = "torch",
    onnx_path: str | Path | None = None,
) -> pd.DataFrame:
    """Predict labels and per-class probabilities for files / folders (`inputs`) or raw `texts`.

    Returns a DataFrame with columns ``input``, ``label`` and ``prob_<class>`` per class, also written
    to `output` as CSV when given. ``runtime="onnx"`` runs the exported graph (`onnx_path`, default
    model.onnx in the model folder, from `transferkit export`) through onnxruntime; the model folder
    still supplies the preprocessing (tokenizer, image transform, classic features).

    Example:
        >>> predict("runs/demo/model", texts=["Stale and overpriced."])  # doctest: +SKIP
    """
    if runtime not in ("torch", "onnx"):
        raise ConfigError(f"The 'runtime' option must be one of torch, onnx. Got {runtime!r}.")
    folder = None if isinstance(model, TransferModel | FeatureModel) else Path(model)
    model, metadata = _as_model(model)
    modality = model.modality
    if texts is not None:
        if modality != "text":
            raise ConfigError(f"texts= is for text models; this {modality} model takes files or folders as inputs.")
        items = list(texts)
    elif modality in ("image", "audio"):
        loader = load_image_inputs if modality == "image" else load_audio_inputs
        items, bad = loader(list(inputs or []))
        if bad and not skip_bad_files:
            raise DataError(
                f"{len(bad)} unusable input(s): {describe_bad_items(bad)}. Remove them or pass --skip-bad-files."
            )
    elif modality == "tabular":
        items = _tabular_inputs(
            [Path(p) for p in inputs or []], metadata.get("feature_columns") or model_columns(model)
        )
    else:
        items = _text_inputs([Path(p) for p in inputs or []], text_column or metadata.get("text_column", "text"))
    if not items:
        raise DataError("No inputs to predict; pass files, a folder, or a CSV of texts.")
    if runtime == "onnx":
        from transferkit.export import onnx_predict_proba

        if onnx_path is None and folder is None:
            raise ConfigError("runtime='onnx' needs onnx_path= when the model is passed in memory.")
        path = Path(onnx_path) if onnx_path is not None else folder / "model.onnx"
        proba = onnx_predict_proba(model, items, path=path, batch_size=batch_size)
    else:
        proba = model.predict_proba(items, batch_size=batch_size)
    # A threshold tuned at fit time (--threshold auto) decides binary labels; else the most probable class.
    predicted = apply_threshold(proba, model.class_names, metadata.get("threshold"))
    frame = pd.DataFrame({"input": items, "label": [model.class_names[i] for i in predicted]})
    for position, name in enumerate(model.class_names):
        frame[f"prob_{name}"] = proba[:, position]
    if output is not None:
        write_atomic(Path(output), frame.to_csv(index=False))
    return frame


def evaluate(
    model: TransferModel | FeatureModel | str | Path,
    data: str | Path,
    *,
    text_column: str | None = None,
    label_column: str = "label",
    output: str | Path | None = None,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Metrics of a saved model on labelled data (same formats as `fit`).

    Example:
        >>> evaluate("runs/demo/model", "test.csv", text_column="review", label_column="score")  # doctest: +SKIP
    """
    model, metadata = _as_model(model)
    tabular = model.modality == "tabular"
    labeled = load_labeled(
        data,
        text_column=text_column or metadata.get("text_column", "text"),
        label_column=label_column,
        tabular=tabular,
        feature_columns=(metadata.get("feature_columns") or model_columns(model)) if tabular else None,
    )
    if labeled.bad_items:
        raise DataError(f"Unusable items in {labeled.source}: {describe_bad_items(labeled.bad_items)}.")
    if not len(labeled):
        raise DataError(f"{labeled.source} holds no examples to evaluate.")
    unknown = sorted(set(labeled.labels or []) - set(model.class_names))
    if unknown:
        raise DataError(
            f"{labeled.source} has label(s) {', '.join(unknown)} the model does not know; it predicts "
            f"{', '.join(model.class_names)}. Check --label-column."
        )
    if labeled.split is not None:  # builtin sets: evaluate on their test rows
        labeled = labeled.subset([i for i, s in enumerate(labeled.split) if s == "test"]) or labeled
    proba = model.predict_proba(labeled.inputs, batch_size=batch_size)
    metrics = classification_metrics(
        labeled.labels, np.asarray(proba), model.class_names, threshold=metadata.get("threshold")
    )
    if output is not None:
        write_json(Path(output), metrics)
    return metrics


DEMO_TRAINING_REVIEWS = 400


def demo(
    *, output_dir: str | Path = "runs", limit: int = DEMO_TRAINING_REVIEWS, seed: int = 0, **options: Any
) -> FitResult:
    """The embedded default job: sentiment of real Amazon fine-food reviews with bundled MiniLM.

    Trains on `limit` labelled reviews (stratified sample of the 4,000 training reviews, 15% of them
    for validation) and evaluates on the 1,000 test reviews.
    """
    return fit(
        "builtin:fine-food",
        backbone="bundled:minilm",
        strategy="probe",
        limit=limit,
        seed=seed,
        output_dir=str(output_dir),
        **options,
    )
