"""Predict with a saved model (any size of input list) and evaluate it on labelled data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transferkit.artifacts import load_model, read_manifest
from transferkit.data import load_labeled
from transferkit.data.validation import describe_bad_items
from transferkit.errors import ConfigError, DataError
from transferkit.modalities.inputs import read_prediction_inputs
from transferkit.models.predictor import Predictor
from transferkit.run_folder import check_output, write_output
from transferkit.tasks import ClassificationTask, Task, task_from_manifest
from transferkit.workflows.routes import route_for_model


def _as_model(model: Predictor | str | Path, *, allow_download: bool = False) -> tuple[Predictor, Task, dict[str, Any]]:
    """The model, its task and its metadata; a model in memory is single-label classification of its classes.

    A model folder loads from local files and caches only unless `allow_download` (its backbone's weights
    may then be fetched from their hub)."""
    if not isinstance(model, str | Path):
        return model, ClassificationTask(class_names=model.class_names), {}
    manifest = read_manifest(Path(model))
    loaded = load_model(model, allow_download=allow_download)
    return loaded, task_from_manifest(manifest), manifest.get("metadata") or {}


def model_columns(model: Predictor, metadata: dict[str, Any] | None = None) -> list[str] | None:
    """The table columns a tabular model reads (after its column map); None for a model that reads no table."""
    saved = (metadata or {}).get("feature_columns")
    return list(saved or getattr(model.backbone, "input_columns", None) or []) or None


def predict(
    model: Predictor | str | Path,
    inputs: list[str | Path] | None = None,
    *,
    texts: list[str] | None = None,
    output: str | Path | None = None,
    text_column: str | None = None,
    batch_size: int = 32,
    skip_bad_files: bool = False,
    runtime: str = "torch",
    onnx_path: str | Path | None = None,
    allow_download: bool = False,
    limit: int | None = None,
) -> pd.DataFrame:
    """Predict labels and per-class probabilities for files / folders (`inputs`) or raw `texts`.

    Returns a DataFrame with column ``input`` and the task's columns (classification: ``label`` by its decision
    policy, argmax or the threshold tuned at fit time, and ``prob_<class>`` per class), also written
    to `output` as CSV when given. ``runtime="onnx"`` runs the exported graph (`onnx_path`, default
    model.onnx in the model folder, from `transferkit export`) through onnxruntime; the model folder
    still supplies the preprocessing (tokenizer, image transform, classic features). A model folder's backbone
    loads from local files and caches only unless `allow_download`. `limit` predicts only the first N inputs.

    Example::

        predict("runs/demo/model", texts=["Stale and overpriced."])
    """
    if runtime not in ("torch", "onnx"):
        raise ConfigError(f"The 'runtime' option must be one of torch, onnx. Got {runtime!r}.")
    if (route := route_for_model(model)) is not None and route.predict is not None:  # detection, language models
        return route.predict(model, inputs, texts=texts, output=output, batch_size=batch_size)
    if output is not None:
        check_output(output)
    folder = Path(model) if isinstance(model, str | Path) else None
    model, task, metadata = _as_model(model, allow_download=allow_download)
    modality = model.modality
    if texts is not None:
        if modality != "text":
            raise ConfigError(f"texts= is for text models; this {modality} model takes files or folders as inputs.")
        items = list(texts)
    else:
        items = read_prediction_inputs(
            modality,
            list(inputs or []),
            text_column=text_column or metadata.get("text_column", "text"),
            feature_columns=model_columns(model, metadata),
            skip_bad_files=skip_bad_files,
        )
    if not items:
        raise DataError("No inputs to predict; pass files, a folder, or a CSV of texts.")
    items = items[:limit] if limit is not None else items
    if runtime == "onnx":
        from transferkit.export import onnx_predict_proba

        if onnx_path is None and folder is None:
            raise ConfigError("runtime='onnx' needs onnx_path= when the model is passed in memory.")
        path = Path(onnx_path) if onnx_path is not None else folder / "model.onnx"
        proba = onnx_predict_proba(model, items, path=path, batch_size=batch_size)
    else:
        proba = model.predict_proba(items, batch_size=batch_size)
    frame = pd.DataFrame({"input": items, **task.prediction_columns(np.asarray(proba))})
    if output is not None:
        write_output(Path(output), frame.to_csv(index=False))
    return frame


def evaluate(
    model: Predictor | str | Path,
    data: str | Path,
    *,
    text_column: str | None = None,
    label_column: str = "label",
    output: str | Path | None = None,
    batch_size: int = 32,
    allow_download: bool = False,
) -> dict[str, Any]:
    """Metrics of a saved model on labelled data (same formats as `fit`); `allow_download` as for `predict`.

    Example::

        evaluate("runs/demo/model", "test.csv", text_column="review", label_column="score")
    """
    if (route := route_for_model(model)) is not None and route.evaluate is not None:  # detection, language models
        return route.evaluate(model, data, output=output, batch_size=batch_size)
    if output is not None:
        check_output(output)
    model, task, metadata = _as_model(model, allow_download=allow_download)
    columns = model_columns(model, metadata)
    labeled = load_labeled(
        data,
        text_column=text_column or metadata.get("text_column", "text"),
        label_column=label_column,
        tabular=columns is not None,
        feature_columns=columns,
    )
    if labeled.bad_items:
        raise DataError(f"Unusable items in {labeled.source}: {describe_bad_items(labeled.bad_items)}.")
    if not len(labeled):
        raise DataError(f"{labeled.source} holds no examples to evaluate.")
    unknown = task.unknown_labels(labeled.labels or [])
    if unknown:
        raise DataError(
            f"{labeled.source} has label(s) {', '.join(unknown)} the model does not know; it predicts "
            f"{', '.join(model.class_names)}. Check --label-column."
        )
    if labeled.split is not None:  # builtin sets: evaluate on their test rows
        labeled = labeled.subset([i for i, s in enumerate(labeled.split) if s == "test"]) or labeled
    proba = model.predict_proba(labeled.inputs, batch_size=batch_size)
    metrics = task.metrics(labeled.labels or [], np.asarray(proba))
    if output is not None:
        write_output(Path(output), json.dumps(metrics, indent=2) + "\n")
    return metrics
