"""The task's decision rule, applied to the graph's outputs as `transferkit predict` applies it.

classification: argmax, or a tuned binary threshold, on temperature-scaled probabilities when calibrated;
multilabel: sigmoid outputs against per-label thresholds;
regression: the standardised output back in the label's units (with the conformal interval when one was tuned).
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_MULTILABEL_THRESHOLD = 0.5


def calibrated(proba: np.ndarray, state: dict[str, Any]) -> np.ndarray:
    """Probabilities temperature-scaled as a calibrated task reports them (fit --calibrate); else unchanged."""
    temperature = state.get("temperature")
    if not temperature:
        return proba
    logits = np.log(np.clip(proba, 1e-12, 1.0)) / float(temperature)
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


def class_indices(proba: np.ndarray, state: dict[str, Any]) -> np.ndarray:
    """Predicted class indices: the tuned threshold's class where its probability reaches it, else argmax."""
    predicted = proba.argmax(axis=1)
    threshold = state.get("threshold")
    if not threshold:
        return predicted
    column = state["class_names"].index(threshold["class"])
    return np.where(proba[:, column] >= threshold["value"], column, 1 - column)


def label_cuts(state: dict[str, Any]) -> np.ndarray:
    """Each label's decision threshold (0.5 where none was tuned)."""
    tuned = state.get("thresholds")
    if not tuned:
        return np.full(len(state["label_names"]), DEFAULT_MULTILABEL_THRESHOLD)
    return np.asarray(tuned["thresholds"], dtype=np.float64)


def regression_values(outputs: np.ndarray, state: dict[str, Any]) -> np.ndarray:
    """Values in the label's units from the standardised outputs."""
    return outputs.reshape(len(outputs), -1)[:, 0].astype(np.float64) * float(state["scale"]) + float(state["mean"])


def output_names(task: dict[str, Any]) -> list[str]:
    """The graph's output columns: class names, label names, or ["value"]."""
    state = task["state"]
    return {"classification": lambda: state["class_names"], "multilabel": lambda: state["label_names"]}.get(
        task["name"], lambda: ["value"]
    )()


def decisions(outputs: np.ndarray, task: dict[str, Any]) -> list[dict[str, Any]]:
    """One JSON-ready prediction per row of `outputs`.

    Example:
        >>> task = {"name": "classification", "state": {"class_names": ["bad", "good"], "threshold": None}}
        >>> decisions(np.array([[0.2, 0.8]]), task)[0]["label"]
        'good'
    """
    name, state = task["name"], task["state"]
    if name == "regression":
        values = regression_values(outputs, state)
        interval = state.get("interval")
        rows = [{"value": float(v)} for v in values]
        if interval:
            for row in rows:
                row |= {"low": row["value"] - interval["halfwidth"], "high": row["value"] + interval["halfwidth"]}
        return rows
    names = output_names(task)
    if name == "classification":
        outputs = calibrated(np.asarray(outputs, dtype=np.float64), state)
    scores = [dict(zip(names, map(float, row), strict=True)) for row in outputs]
    if name == "multilabel":
        chosen = np.asarray(outputs) >= label_cuts(state)
        return [
            {"labels": [names[i] for i in np.flatnonzero(row)], "probabilities": score}
            for row, score in zip(chosen, scores, strict=True)
        ]
    indices = class_indices(np.asarray(outputs), state)
    return [{"label": names[int(i)], "probabilities": score} for i, score in zip(indices, scores, strict=True)]
