"""`transferkit zero-shot DATA --labels "great: ..., other: ..."` and `fit --zero-shot`: classify with no labels.

The run writes predictions.csv (each row's class and probabilities) and, where DATA has labels, the zero-shot
accuracy against the majority rate; `fit --zero-shot` scores the same classifier on fit's test split beside the
trained model, so a run shows what its labels bought.
"""

from __future__ import annotations

import html
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transferkit.backbones.base import Backbone
from transferkit.errors import ConfigError
from transferkit.labelling.pool import Pool, embed, pool_backbone, read_pool
from transferkit.labelling.report import examples_table, labelling_run, summary_table, write_page
from transferkit.labelling.zero_shot import METHODS, parse_label_descriptions, synthetic_examples, zero_shot_proba
from transferkit.run_folder import write_atomic, write_json

logger = logging.getLogger("transferkit")
PREDICTIONS_FILE = "predictions.csv"


@dataclass(frozen=True)
class ZeroShotRun:
    run_dir: Path
    metrics: dict[str, Any]
    predictions: pd.DataFrame


def classify(
    backbone: Backbone,
    inputs: list[str],
    descriptions: dict[str, str],
    *,
    method: str = "similarity",
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
) -> np.ndarray:
    """Zero-shot probabilities of `inputs` over the classes of `descriptions` (in their order)."""
    if backbone.modality != "text":
        raise ConfigError(
            f"Zero-shot classification embeds label descriptions: it needs text, not {backbone.modality}."
        )
    features = embed(backbone, inputs, cache_dir=cache_dir, batch_size=batch_size)
    if method == "synthetic":
        texts, targets = synthetic_examples(descriptions)
        class_features = embed(backbone, texts, cache_dir=cache_dir, batch_size=batch_size)
        return zero_shot_proba(features, class_features, method=method, synthetic_targets=targets)
    class_features = embed(backbone, list(descriptions.values()), cache_dir=cache_dir, batch_size=batch_size)
    return zero_shot_proba(features, class_features, method=method)


def score(proba: np.ndarray, labels: list[str | None], class_names: list[str]) -> dict[str, Any] | None:
    """Accuracy of the zero-shot predictions on the rows whose label is one of `class_names`, beside the majority
    rate of those rows (what always answering the commonest class scores); None when no row can be scored."""
    rows = [index for index, label in enumerate(labels) if label in class_names]
    if not rows:
        return None
    truth = np.array([class_names.index(labels[index]) for index in rows])
    predicted = proba[rows].argmax(axis=1)
    majority = float(np.bincount(truth, minlength=len(class_names)).max() / len(truth))
    accuracy = float((predicted == truth).mean())
    return {"accuracy": round(accuracy, 4), "majority_rate": round(majority, 4), "scored_rows": len(rows)}


# Long: the public call carries every option of the command (data, labels, method, run folder).
def zero_shot(
    data: str | Path,
    *,
    labels: str,
    text_column: str = "text",
    label_column: str = "label",
    method: str = "similarity",
    backbone: str | None = None,
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
    max_length: int = 128,
    skip_bad_files: bool = False,
    name: str | None = None,
    output_dir: str | Path = "runs",
    overwrite: bool = False,
) -> ZeroShotRun:
    """Classify the texts of `data` from label descriptions alone; write predictions.csv and report.html.

    Example::

        run = zero_shot("reviews.csv", labels="great: praise for the product, other: a complaint",
                        text_column="review", label_column="score")
        run.metrics["zero_shot"]  # accuracy and majority rate, where the data has labels
    """
    if method not in METHODS:
        raise ConfigError(f"--method must be one of {', '.join(METHODS)}; got {method!r}.")
    descriptions = parse_label_descriptions(labels)
    pool = read_pool(data, text_column=text_column, label_column=label_column, skip_bad_files=skip_bad_files)
    model = pool_backbone(backbone, pool.modality, max_length=max_length)
    settings = {"data": str(data), "labels": descriptions, "method": method, "backbone": model.spec}
    settings |= {"text_column": text_column, "label_column": label_column}
    with labelling_run("zero-shot", name=name, output_dir=output_dir, overwrite=overwrite, options=settings) as run_dir:
        started = time.perf_counter()
        class_names = list(descriptions)
        proba = classify(model, pool.inputs, descriptions, method=method, cache_dir=cache_dir, batch_size=batch_size)
        table = predictions_frame(pool, proba, class_names, text_column=text_column)
        metrics = {"task": "zero-shot", "method": method, "backbone": model.spec, "classes": class_names}
        metrics["rows"] = len(pool.inputs)
        metrics["zero_shot"] = score(proba, pool.labels, class_names)
        metrics["seconds"] = round(time.perf_counter() - started, 2)
        write_atomic(run_dir / PREDICTIONS_FILE, table.drop(columns=["row"]).to_csv(index=False))
        write_json(run_dir / "metrics.json", metrics)
        write_page(run_dir, title="Zero-shot classification", parts=report_parts(pool, table, metrics, descriptions))
        logger.info("zero-shot: %d rows classified (%s)", len(pool.inputs), metrics["zero_shot"])
    return ZeroShotRun(run_dir=run_dir, metrics=metrics, predictions=table)


def predictions_frame(pool: Pool, proba: np.ndarray, class_names: list[str], *, text_column: str) -> pd.DataFrame:
    frame = pd.DataFrame({"row": np.arange(len(pool.inputs)), "source_row": pool.rows, text_column: pool.inputs})
    frame["label"] = [class_names[index] for index in proba.argmax(axis=1)]
    for index, name in enumerate(class_names):
        frame[f"prob_{name}"] = proba[:, index].round(4)
    if any(label is not None for label in pool.labels):
        frame["given"] = pool.labels
    return frame


def section(result: dict[str, Any] | None, descriptions: dict[str, str], *, method: str) -> str:
    """The zero-shot section of a report: the descriptions, and the accuracy against the majority rate."""
    items = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in descriptions.items())
    line = "No row has one of these labels, so nothing is scored."
    if result is not None:
        verdict = "above" if result["accuracy"] > result["majority_rate"] else "not above"
        line = (
            f"Zero-shot accuracy {result['accuracy']:.3f} on {result['scored_rows']} labelled rows, {verdict} the "
            f"majority rate {result['majority_rate']:.3f}."
        )
    return f"<h2>Zero-shot ({html.escape(method)})</h2><ul>{items}</ul><p>{line}</p>"


def report_parts(pool: Pool, table: pd.DataFrame, metrics: dict[str, Any], descriptions: dict[str, str]) -> list[str]:
    parts = [section(metrics["zero_shot"], descriptions, method=metrics["method"])]
    parts.append(summary_table({"backbone": metrics["backbone"], "rows": metrics["rows"]}))
    least_sure = table.assign(confidence=table.filter(like="prob_").max(axis=1)).sort_values("confidence")
    columns = ["label", "confidence", *(["given"] if "given" in table else [])]
    parts += [
        "<h2>Least sure predictions</h2>",
        examples_table(least_sure, pool.inputs, modality="text", columns=columns),
    ]
    return parts
