"""Predict with a saved model (any size of input list) and evaluate it on labelled data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transferkit.artifacts import load_model, read_manifest
from transferkit.data import load_labeled
from transferkit.data.audio import load_audio_inputs
from transferkit.data.feature_tables import load_tabular_table
from transferkit.data.images import load_image_inputs
from transferkit.data.text_tables import TABLE_SUFFIXES, load_text_table
from transferkit.data.validation import describe_bad_items
from transferkit.errors import ConfigError, DataError
from transferkit.evaluation import classification_metrics
from transferkit.imbalance.threshold import apply_threshold
from transferkit.models.feature_model import FeatureModel
from transferkit.models.transfer_model import TransferModel
from transferkit.run_folder import write_output


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

    Example::

        predict("runs/demo/model", texts=["Stale and overpriced."])
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
        write_output(Path(output), frame.to_csv(index=False))
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

    Example::

        evaluate("runs/demo/model", "test.csv", text_column="review", label_column="score")
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
        write_output(Path(output), json.dumps(metrics, indent=2) + "\n")
    return metrics
