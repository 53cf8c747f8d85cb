"""`transferkit suggest [runs/X] DATA --n 50`: the next rows to label, written as a CSV to fill in.

With a run (or a model folder) its model's probabilities drive uncertainty (entropy, margin) and BADGE; with no
run there are no probabilities and k-center greedy (diversity on the embeddings alone) makes the cold start.
The default with a run, `schedule`, runs TypiClust until the run's data and the pool hold
SWITCH_LABELS_PER_CLASS labels of every class, then cluster-margin (metrics.json: labels_per_class).
Rows of DATA that already have a label, or that the run trained or was scored on (its config.yaml's data), are
never suggested and count as covered for k-center greedy; fill in the label column of to_label.csv and take it
back with `transferkit fit runs/X --add-labels to_label.csv` (transferkit.labelling.add_labels).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transferkit.artifacts import load_model, read_manifest
from transferkit.config import RunSpec
from transferkit.errors import ArtifactError, ConfigError, TransferKitError
from transferkit.labelling.active import STRATEGIES, UNCERTAINTY, entropy, margin, select
from transferkit.labelling.pool import Pool, embed, pool_backbone, read_pool
from transferkit.labelling.report import examples_table, labelling_run, summary_table, write_page
from transferkit.run_folder import write_atomic, write_json
from transferkit.workflows.fit import prepare_splits

logger = logging.getLogger("transferkit")
SUGGESTIONS_FILE = "to_label.csv"


@dataclass(frozen=True)
class SuggestRun:
    """A finished suggestion: its run folder, metrics.json's content and the rows to label."""

    run_dir: Path
    metrics: dict[str, Any]
    suggestions: pd.DataFrame


def model_folder(run: str | Path) -> Path:
    """runs/X/model for a run folder, or the folder itself when it is a model folder."""
    path = Path(run)
    for candidate in (path / "model", path):
        if (candidate / "model.json").is_file() or (candidate / "manifest.json").is_file():
            return candidate
    raise ArtifactError(f"{path} holds no saved model; pass a run folder (runs/NAME) or its model/ folder.")


def model_outputs(model: Any, pool: Pool, *, trained: bool, cache_dir, batch_size: int) -> tuple[np.ndarray, ...]:
    """The pool's embeddings (the model's own backbone, cached) and the model's probabilities for every row."""
    backbone = model.backbone
    if backbone is None:
        raise ConfigError("This model uses no pretrained backbone (a classic baseline); suggest needs embeddings.")
    features = embed(backbone, pool.inputs, cache_dir=cache_dir, batch_size=batch_size, use_cache=not trained)
    if not trained and hasattr(model, "predict_proba_features"):  # a frozen backbone: the head alone, on the cache
        return features, model.predict_proba_features(features)
    return features, model.predict_proba(pool.inputs, batch_size=batch_size)


# Long: the public call carries every option of the command (run, data, strategy, run folder).
def suggest(
    run: str | Path | None,
    data: str | Path,
    *,
    n: int = 50,
    strategy: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    backbone: str | None = None,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
    skip_bad_files: bool = False,
    name: str | None = None,
    output_dir: str | Path = "runs",
    overwrite: bool = False,
) -> SuggestRun:
    """Choose `n` unlabelled rows of `data` to label next; write runs/NAME/to_label.csv and report.html.

    Example::

        picked = suggest("runs/reviews", "pool.csv", n=50, text_column="review", label_column="score")
        picked.suggestions.head()
    """
    strategy = strategy or ("schedule" if run is not None else "kcenter")  # the benchmark's best with labels
    if strategy not in STRATEGIES:
        raise ConfigError(f"Unknown --strategy '{strategy}'; choose one of {', '.join(STRATEGIES)}.")
    if run is None and strategy in UNCERTAINTY:
        raise ConfigError(f"--strategy {strategy} needs a trained run; with no run use kcenter or random.")
    if n < 1:
        raise ConfigError(f"--n is how many rows to suggest, at least 1; got {n}.")
    pool = read_pool(data, text_column=text_column, label_column=label_column, skip_bad_files=skip_bad_files)
    if not len(pool.unlabelled):
        raise ConfigError(f"Every row of {pool.source} has a label in '{label_column}'; nothing is left to suggest.")
    model, trained, folder, known, run_labels = None, False, None, 0, {}
    if run is not None:
        folder = model_folder(run)
        model = load_model(folder)
        trained = bool((read_manifest(folder).get("backbone") or {}).get("trained"))
        if model.modality != pool.modality:
            raise ConfigError(f"The model in {folder} reads {model.modality}; {pool.source} holds {pool.modality}.")
        run_labels = known_rows(folder)
        known = mark_known(pool, run_labels)
        if not len(pool.unlabelled):
            raise ConfigError(f"Every row of {pool.source} is labelled or already in {run}'s data; nothing to suggest.")
    settings = {"run": None if run is None else str(run), "data": str(data), "n": n, "strategy": strategy}
    settings |= {"text_column": text_column, "label_column": label_column, "seed": seed}
    with labelling_run("suggest", name=name, output_dir=output_dir, overwrite=overwrite, options=settings) as run_dir:
        started = time.perf_counter()
        if model is not None:
            features, proba = model_outputs(model, pool, trained=trained, cache_dir=cache_dir, batch_size=batch_size)
        else:
            backbone_model = pool_backbone(backbone, pool.modality)
            features, proba = embed(backbone_model, pool.inputs, cache_dir=cache_dir, batch_size=batch_size), None
        counts = None if model is None else class_counts(pool, run_labels, model.class_names)
        picked = select(
            strategy, n=n, embeddings=features, labelled=pool.labelled, proba=proba, seed=seed, class_counts=counts
        )
        table = suggestions_frame(pool, picked, proba=proba, model=model, text_column=text_column, label=label_column)
        metrics = {
            "task": "suggest",
            "strategy": strategy,
            "model": None if folder is None else str(folder),
            "pool_rows": len(pool.inputs),
            "labelled_rows": len(pool.labelled),
            "already_in_run": known,
            "suggested": len(picked),
            "labels_per_class": None if counts is None else dict(zip(model.class_names, counts.tolist(), strict=True)),
            "seconds": round(time.perf_counter() - started, 2),
        }
        write_atomic(run_dir / SUGGESTIONS_FILE, table.drop(columns=["row"]).to_csv(index=False))
        write_json(run_dir / "metrics.json", metrics)
        columns = [column for column in ("model_guess", "confidence", "margin", "entropy") if column in table]
        parts = [summary_table(metrics), f"<h2>Rows to label ({SUGGESTIONS_FILE})</h2>"]
        parts.append(examples_table(table, pool.inputs, modality=pool.modality, columns=columns))
        write_page(run_dir, title=f"Rows to label next ({strategy})", parts=parts)
        logger.info("suggest: %d rows by %s written to %s", len(picked), strategy, run_dir / SUGGESTIONS_FILE)
    return SuggestRun(run_dir=run_dir, metrics=metrics, suggestions=table)


def known_rows(model_dir: Path) -> dict[str, str]:
    """The inputs the model's run trained or was scored on, with their labels (from the run's config.yaml: after
    `fit --add-labels` they include the rows taken back), so a suggestion never asks for them again."""
    config = next((p / "config.yaml" for p in (model_dir, model_dir.parent) if (p / "config.yaml").is_file()), None)
    if config is None:
        return {}
    try:
        splits, _summary = prepare_splits(RunSpec.from_yaml(config))
    except TransferKitError as exc:  # the run's data moved or changed: suggest from the pool's own labels
        logger.warning("suggest: the data of %s could not be read (%s); only the pool's labels count", config, exc)
        return {}
    parts = [part for part in (splits.train, splits.valid, splits.test) if part is not None]
    pairs = (zip(part.inputs, part.labels or [], strict=False) for part in parts)
    return {" ".join(item.split()): str(label) for pair in pairs for item, label in pair}


def class_counts(pool: Pool, run_labels: dict[str, str], class_names: list[str]) -> np.ndarray:
    """Labels per class (in `class_names` order) that the run's data and the pool hold, each input once: what
    the schedule's switch from TypiClust to margin sampling reads."""
    labels = dict(run_labels)
    labels |= {" ".join(pool.inputs[i].split()): pool.labels[i] for i in pool.labelled.tolist()}
    return np.array([sum(label == name for label in labels.values()) for name in class_names], dtype=int)


def mark_known(pool: Pool, known: dict[str, str]) -> int:
    """Give the pool's unlabelled rows that the run already has their label there; returns how many."""
    marked = 0
    for index, item in enumerate(pool.inputs):
        key = " ".join(item.split())  # as known_rows keys them: a CSV round trip may change spacing
        if pool.labels[index] is None and key in known:
            pool.labels[index] = known[key]
            marked += 1
    return marked


def suggestions_frame(
    pool: Pool, picked: np.ndarray, *, proba: np.ndarray | None, model: Any, text_column: str, label: str
) -> pd.DataFrame:
    """to_label.csv: the source row, the input (under the pool's own column name), an empty label column to
    fill in, and with a model its guess and how unsure it is."""
    frame = pd.DataFrame({"row": picked, "source_row": [pool.rows[int(i)] for i in picked]})
    frame[text_column] = [pool.inputs[int(i)] for i in picked]
    frame[label] = ""
    if proba is not None and model is not None:
        chosen = proba[picked]
        frame["model_guess"] = [model.class_names[int(k)] for k in chosen.argmax(axis=1)]
        frame["confidence"] = chosen.max(axis=1).round(4)
        frame["margin"] = margin(chosen).round(4) if chosen.shape[1] > 1 else 1.0
        frame["entropy"] = entropy(chosen).round(4)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame
