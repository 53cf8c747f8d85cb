"""`transferkit audit DATA`: embed once (cached), audit the labels, write issues.csv and report.html."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from transferkit.errors import DataError
from transferkit.labelling.audit import DUPLICATE_SIMILARITY, FILTERS, AuditResult, audit_embeddings
from transferkit.labelling.audit_finetune import FINETUNE_EPOCHS, FINETUNE_FOLDS, finetuned_out_of_fold
from transferkit.labelling.audit_lm import MiddleLayerMean, lm_out_of_fold
from transferkit.labelling.pool import Pool, embed, joined, pool_backbone, read_pool
from transferkit.labelling.report import examples_table, labelling_run, summary_table, write_page
from transferkit.run_folder import write_atomic, write_json

logger = logging.getLogger("transferkit")
ISSUES_FILE = "issues.csv"
AUDIT_MODELS = ("frozen", "finetune")


@dataclass(frozen=True)
class AuditRun:
    """A finished audit: its run folder, metrics.json's content and the audit's tables."""

    run_dir: Path
    metrics: dict[str, Any]
    result: AuditResult


def labelled_part(pool: Pool) -> tuple[Pool, list[int]]:
    """The labelled rows of a pool (the audit scores only those) and their positions in it."""
    keep = [int(index) for index in pool.labelled]
    if len(keep) < 4:
        raise DataError(f"{pool.source} has {len(keep)} labelled row(s); an audit needs labels (--label-column).")
    split = None if pool.split is None else [pool.split[index] for index in keep]
    part = Pool(
        pool.modality,
        [pool.inputs[i] for i in keep],
        [pool.labels[i] for i in keep],
        pool.source,
        [pool.rows[i] for i in keep],
        split,
    )
    return part, keep


# Long: the public call carries every option of the command (data, backbone, audit settings, run folder).
def audit(
    data: str | Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    test_data: str | Path | None = None,
    backbone: str | None = None,
    filter_by: str = "both",
    folds: int = 5,
    model: str = "frozen",
    finetune_folds: int = FINETUNE_FOLDS,
    epochs: int = FINETUNE_EPOCHS,
    lm: str | None = None,
    lm_layer: int | None = None,
    duplicate_threshold: float = DUPLICATE_SIMILARITY,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
    max_length: int = 128,
    skip_bad_files: bool = False,
    devices: int = 1,
    name: str | None = None,
    output_dir: str | Path = "runs",
    overwrite: bool = False,
) -> AuditRun:
    """Audit the labels of `data` (and near-duplicates leaking into `test_data`); write a run folder. `devices` > 1
    embeds the rows the cache lacks over that many processes (Lightning Fabric).

    Example::

        run = audit("reviews.csv", text_column="review", label_column="score")
        run.result.issues.head()  # row, given, suggested, confidence, label_quality
    """
    if model not in AUDIT_MODELS:
        raise DataError(f"--model must be one of {', '.join(AUDIT_MODELS)}; got {model!r}.")
    if filter_by not in FILTERS:
        raise DataError(f"--filter-by must be one of {', '.join(FILTERS)}; got {filter_by!r}.")
    if not 0.5 <= duplicate_threshold <= 1.0:
        raise DataError(f"--duplicate-threshold is a cosine similarity in [0.5, 1]; got {duplicate_threshold}.")
    options = dict(text_column=text_column, label_column=label_column, skip_bad_files=skip_bad_files)
    pool = read_pool(data, **options)
    if test_data is not None:
        pool = joined(pool, read_pool(test_data, **options))
    pool, _positions = labelled_part(pool)
    class_names = pool.class_names
    if lm is not None and pool.modality != MiddleLayerMean.modality:  # the LM reads what it reads; before any loads
        raise DataError(f"--lm adds a language model's features to a text audit; {pool.source} is {pool.modality}.")
    if len(class_names) < 2:
        raise DataError(f"{pool.source} has a single class ({class_names[0]}); an audit needs two or more.")
    encoder = pool_backbone(backbone, pool.modality, max_length=max_length)
    settings = {"data": str(data), "test_data": None if test_data is None else str(test_data), **options}
    settings |= {"backbone": encoder.spec, "filter_by": filter_by, "folds": folds, "seed": seed, "model": model}
    if model == "finetune":
        settings |= {"finetune_folds": finetune_folds, "epochs": epochs}
    if lm is not None:
        settings |= {"lm": lm, "lm_layer": lm_layer}
    with labelling_run("audit", name=name, output_dir=output_dir, overwrite=overwrite, options=settings) as run_dir:
        started = time.perf_counter()
        features = embed(encoder, pool.inputs, cache_dir=cache_dir, batch_size=batch_size, devices=devices)
        labels = pool.encoded(class_names)
        extra = {}
        if lm is not None:  # a language model's middle-layer features: one more frozen probe, on the same folds
            extra |= lm_out_of_fold(
                pool.inputs, labels, spec=lm, layer=lm_layer, folds=folds, seed=seed, cache_dir=cache_dir
            )
        if model == "finetune":  # fresh pretrained copies of the backbone, one fine-tuned per fold
            extra |= {
                f"fine-tuned {encoder.spec}": finetuned_out_of_fold(
                    lambda: pool_backbone(backbone, pool.modality, max_length=max_length),
                    pool.inputs,
                    labels,
                    features,
                    class_names=class_names,
                    work_dir=run_dir,
                    folds=finetune_folds,
                    epochs=epochs,
                    seed=seed,
                    batch_size=batch_size,
                )
            }
        result = audit_embeddings(
            features,
            labels,
            class_names=class_names,
            split=pool.split,
            filter_by=filter_by,
            folds=folds,
            seed=seed,
            duplicate_threshold=duplicate_threshold,
            texts=pool.inputs if pool.modality == "text" else None,  # a TF-IDF model joins the embedding probe
            extra=extra,
        )
        metrics = {
            "task": "audit",
            "backbone": encoder.spec,
            "audit_model": model,
            "classes": class_names,
            **result.summary,
        }
        metrics["seconds"] = round(time.perf_counter() - started, 2)
        write_outputs(run_dir, pool=pool, result=result, metrics=metrics, text_column=text_column)
        logger.info("audit: %d likely label errors in %d rows", len(result.issues), len(pool.inputs))
    return AuditRun(run_dir=run_dir, metrics=metrics, result=result)


def issues_frame(pool: Pool, result: AuditResult, *, text_column: str) -> pd.DataFrame:
    """issues.csv: one row per finding (label, near_duplicate, outlier) with the source row and the input."""
    frames = []
    if len(result.issues):
        frames.append(result.issues.assign(issue="label"))
    if len(result.duplicates):
        duplicates = result.duplicates.rename(columns={"other": "other_row"})
        leak = duplicates["leak"] if "leak" in duplicates else pd.Series(False, index=duplicates.index)
        frames.append(duplicates.assign(issue=leak.map({True: "leak", False: "near_duplicate"})))
    if len(result.outliers):
        frames.append(result.outliers.assign(issue="outlier"))
    if not frames:
        return pd.DataFrame(columns=["issue", "source_row", text_column])
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "issue", table.pop("issue"))
    table.insert(1, "source_row", [pool.rows[int(row)] for row in table["row"]])
    if pool.split is not None:  # DATA and --test-data: which file source_row (and other_row) is in
        table.insert(2, "file", [pool.split[int(row)] for row in table["row"]])
        if "other_row" in table:
            table["other_file"] = [None if pd.isna(r) else pool.split[int(r)] for r in table["other_row"]]
    table[text_column] = [pool.inputs[int(row)] for row in table["row"]]
    if "other_row" in table:
        table["other_row"] = [None if pd.isna(row) else pool.rows[int(row)] for row in table["other_row"]]
    return table.drop(columns=["row", "leak"], errors="ignore")


def write_outputs(run_dir: Path, *, pool: Pool, result: AuditResult, metrics: dict, text_column: str) -> None:
    write_atomic(run_dir / ISSUES_FILE, issues_frame(pool, result, text_column=text_column).to_csv(index=False))
    write_json(run_dir / "metrics.json", metrics)
    write_page(run_dir, title="Label audit", parts=audit_sections(pool, result, metrics))


def audit_sections(pool: Pool, result: AuditResult, metrics: dict[str, Any]) -> list[str]:
    """The report's sections: summary, likely label errors, near-duplicates and leaks, outliers, confused pairs."""
    shown = {key: metrics.get(key) for key in ("rows", "label_issues", "near_duplicate_pairs", "leaking_pairs")}
    shown |= {"outliers": metrics["outliers"], "cross-validated probe accuracy": metrics["cross_validated_accuracy"]}
    parts = [f"<p class='note'>Backbone {metrics['backbone']}; rows and CSV columns in {ISSUES_FILE}.</p>"]
    parts += [summary_table(shown), "<h2>Likely label errors</h2>"]
    columns = ["given", "suggested", "confidence", "label_quality"]
    parts.append(examples_table(result.issues, pool.inputs, modality=pool.modality, columns=columns))
    parts.append("<h2>Near-duplicates (and leaks between train and test)</h2>")
    duplicates = result.duplicates.assign(other_input=[pool.inputs[int(o)][:120] for o in result.duplicates.other])
    columns = ["other", "similarity", *(["leak"] if "leak" in duplicates else []), "other_input"]
    parts.append(examples_table(duplicates, pool.inputs, modality=pool.modality, columns=columns))
    parts.append("<h2>Outliers</h2>")
    parts.append(examples_table(result.outliers, pool.inputs, modality=pool.modality, columns=["outlier_score"]))
    parts.append("<h2>Classes confused with each other</h2>")
    parts.append(result.confused.to_html(index=False, float_format=lambda value: f"{value:.4f}"))
    return parts
