"""`fit --zero-shot` and `fit --drop-suspect`: the labelling loop's options of `fit`, orchestrated above it.

`--zero-shot "great: ..., other: ..."` runs the usual fit, then scores the zero-shot classifier (no labels) on the
same test split and records it beside the model in metrics.json and report.html: what the labels bought.
`--add-labels FILE` (transferkit.labelling.add_labels) takes a filled-in to_label.csv back into a new run.
`--drop-suspect` audits the training (and validation) labels on cached embeddings, then fits twice on the same
validation and test rows, with every row (`runs/NAME/all`) and without the flagged ones (`runs/NAME/clean`), and
reports both in `runs/NAME` (metrics.json, issues.csv, report.html).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transferkit.backbones import create_backbone
from transferkit.config import RunSpec
from transferkit.data import LabeledData
from transferkit.errors import ConfigError
from transferkit.labelling.add_labels import Added, fit_adding_labels, fit_on_splits
from transferkit.labelling.audit import audit_embeddings
from transferkit.labelling.audit_run import ISSUES_FILE, audit_sections, issues_frame
from transferkit.labelling.pool import Pool, embed
from transferkit.labelling.report import append_section, labelling_run, summary_table, write_page
from transferkit.labelling.zero_shot import parse_label_descriptions, synthetic_examples
from transferkit.labelling.zero_shot_run import classify, score, section
from transferkit.modalities import get_modality
from transferkit.run_folder import write_atomic, write_json
from transferkit.workflows.fit import FitResult, prepare_splits, resolve_spec
from transferkit.workflows.fit import fit as fit_run

SEED_MAX_PER_CLASS = 16  # auto seeding's limit (the reviews benchmark: it helped at 2-16 labels per class)
INPUT, LABEL = "input", "label"  # the columns of the split files --drop-suspect writes


def fit(
    data: str | Path | None = None,
    *,
    config: RunSpec | str | Path | None = None,
    resume: str | Path | None = None,
    **options: Any,
) -> FitResult:
    """`transferkit.workflows.fit.fit`, with --zero-shot and --drop-suspect handled here (see the module)."""
    if resume is not None:
        return fit_run(data, config=config, resume=resume, **options)
    if options.get("add_labels") or options.get("run.add_labels"):  # DATA may be a run folder: resolved there
        return fit_adding_labels(data, config, options, fit=fit)
    spec = resolve_spec(data, config, options)
    if spec.run.add_labels:  # given in a config file
        return fit_adding_labels(None, spec, {}, fit=fit)
    if spec.run.drop_suspect:
        return fit_dropping_suspects(spec)
    if spec.run.zero_shot:
        return fit_with_zero_shot(spec)
    return fit_run(config=spec)


def _text_splits(spec: RunSpec):
    splits, _summary = prepare_splits(spec)
    if splits.train.modality != "text":
        raise ConfigError(f"--zero-shot embeds class descriptions: it needs text data, not {splits.train.modality}.")
    return splits


def fit_with_zero_shot(spec: RunSpec) -> FitResult:
    """Fit, then score the zero-shot classifier on the test split (the validation split without one)."""
    descriptions = parse_label_descriptions(spec.run.zero_shot or "")
    splits = _text_splits(spec)  # the same seed and options: the very rows fit scores its model on
    scored_on = splits.test or splits.valid
    if scored_on is None:
        raise ConfigError("--zero-shot scores on the test or validation split; this run holds out neither.")
    seeded = seeding(spec, splits.train, descriptions)
    if seeded:  # SetFit's synthetic examples join the training rows (benchmarks/zero_shot_seed.py: where it helps)
        texts, targets = synthetic_examples(descriptions)
        names = list(descriptions)
        added = Added(inputs=texts, labels=[names[target] for target in targets])
        result = fit_on_splits(spec, splits, added, fit=fit_run, after={"run.zero_shot_seed": "off"})
    else:
        result = fit_run(config=spec)
    backbone_spec = result.spec.backbone.spec or get_modality("text").default_backbone
    backbone = create_backbone(backbone_spec, max_length=spec.backbone.max_length)  # the pretrained weights
    proba = classify(backbone, scored_on.inputs, descriptions, method="similarity", cache_dir=spec.backbone.cache_dir)
    record = score(proba, list(scored_on.labels or []), list(descriptions)) or {}
    record |= {"split": "test" if splits.test else "valid", "descriptions": descriptions, "method": "similarity"}
    record["seeded_rows"] = len(synthetic_examples(descriptions)[0]) if seeded else 0
    record["trained_accuracy"] = (result.metrics.get("test") or result.metrics.get("valid") or {}).get("accuracy")
    result.metrics["zero_shot"] = record
    write_json(result.run_dir / "metrics.json", result.metrics)
    line = (
        "" if record.get("trained_accuracy") is None else f"<p>The trained model: {record['trained_accuracy']:.3f}.</p>"
    )
    if seeded:
        line += (
            f"<p>Trained with {record['seeded_rows']} synthetic sentences from the descriptions (--zero-shot-seed).</p>"
        )
    append_section(result.run_dir / "report.html", section(record or None, descriptions, method="similarity") + line)
    return result


def seeding(spec: RunSpec, train: LabeledData, descriptions: dict[str, str]) -> bool:
    """Whether --zero-shot's synthetic sentences join the training rows: --zero-shot-seed on, or auto with at most
    SEED_MAX_PER_CLASS labelled rows in the smallest class (measured to help up to there)."""
    if spec.run.zero_shot_seed == "off":
        return False
    unknown = sorted(set(descriptions) - set(train.class_names))
    if unknown:
        if spec.run.zero_shot_seed == "on":
            raise ConfigError(
                f"--zero-shot names {', '.join(unknown)}, not a class of the training data "
                f"({', '.join(train.class_names)}); seeding needs the class names: rename them or pass "
                "--zero-shot-seed off."
            )
        return False
    counts = pd.Series(list(train.labels or [])).value_counts()
    return spec.run.zero_shot_seed == "on" or int(counts.min()) <= SEED_MAX_PER_CLASS


def _write_split(path: Path, part: LabeledData) -> Path:
    write_atomic(path, pd.DataFrame({INPUT: part.inputs, LABEL: part.labels}).to_csv(index=False))
    return path


def _child_spec(spec: RunSpec, *, run_dir: Path, name: str, files: dict[str, Path | None]) -> RunSpec:
    """The spec of one of the two fits: the written split files, the same options otherwise."""
    overrides = {
        "data.path": str(files["train"]),
        "data.text_column": INPUT,
        "data.label_column": LABEL,
        "data.test_path": str(files["test"]) if files["test"] else None,
        "data.valid_path": str(files["valid"]) if files["valid"] else None,
        "run.output_dir": str(run_dir),
        "run.name": name,
    }
    values = spec.with_overrides(overrides).model_dump()
    values["data"] |= {"split_column": None, "limit": None, "test_limit": None}
    values["run"] |= {"drop_suspect": False, "zero_shot": None, "overwrite": False}
    if not files["test"]:
        values["data"]["test_fraction"] = 0.0
    if not files["valid"]:
        values["data"]["valid_fraction"] = 0.0
    return RunSpec.from_dict(values, source="--drop-suspect")


# Long: audit, two fits and the comparison report, in the order they run.
def fit_dropping_suspects(spec: RunSpec) -> FitResult:
    """Audit the labelled rows, fit with all of them and without the flagged ones; report both."""
    splits, summary = prepare_splits(spec)
    if summary["task"]["name"] != "classification" or splits.train.modality not in ("text", "image"):
        raise ConfigError("--drop-suspect audits single-label classification of texts or images.")
    labelled = splits.train  # validation and test rows stay as they are: both fits are scored on them
    backbone_spec = spec.backbone.spec or get_modality(labelled.modality).default_backbone
    backbone = create_backbone(backbone_spec, max_length=spec.backbone.max_length)
    name = spec.run.name or f"drop-suspect-{Path(str(spec.data.path)).stem}"
    options = {"data": spec.data.path, "backbone": backbone_spec, "seed": spec.run.seed}
    with labelling_run(
        "drop-suspect", name=name, output_dir=spec.run.output_dir, overwrite=spec.run.overwrite, options=options
    ) as run_dir:
        features = embed(
            backbone, labelled.inputs, cache_dir=spec.backbone.cache_dir, batch_size=spec.backbone.batch_size
        )
        class_names = labelled.class_names
        targets = np.array([class_names.index(value) for value in labelled.labels or []])
        texts = labelled.inputs if labelled.modality == "text" else None  # a TF-IDF model joins the probe
        audited = audit_embeddings(features, targets, class_names=class_names, seed=spec.run.seed, texts=texts)
        flagged = {int(row) for row in audited.issues["row"]}
        clean = labelled.subset([index for index in range(len(labelled)) if index not in flagged])
        files = {
            "valid": _write_split(run_dir / "valid.csv", splits.valid) if splits.valid else None,
            "test": _write_split(run_dir / "test.csv", splits.test) if splits.test else None,
        }
        results = {}
        for child, part in (("all", labelled), ("clean", clean)):
            files["train"] = _write_split(run_dir / f"train_{child}.csv", part)
            results[child] = fit_run(config=_child_spec(spec, run_dir=run_dir, name=child, files=files))
        pool = Pool(
            labelled.modality, labelled.inputs, list(labelled.labels or []), "train", list(range(len(labelled)))
        )
        write_atomic(run_dir / ISSUES_FILE, issues_frame(pool, audited, text_column=INPUT).to_csv(index=False))
        record = comparison(results, flagged=len(flagged), rows=len(labelled))
        write_json(run_dir / "metrics.json", {"task": "drop-suspect", **record, "audit": audited.summary})
        parts = [
            summary_table(record | {"all run": str(results["all"].run_dir), "clean run": str(results["clean"].run_dir)})
        ]
        parts += audit_sections(pool, audited, {"backbone": backbone_spec, **audited.summary})
        write_page(run_dir, title="Fit without suspect labels", parts=parts)
    chosen = results["clean"]
    chosen.metrics["drop_suspect"] = record | {"run_dir": str(run_dir)}
    write_json(chosen.run_dir / "metrics.json", chosen.metrics)
    append_section(chosen.run_dir / "report.html", f"<h2>--drop-suspect</h2><p>{html.escape(record['line'])}</p>")
    return chosen


def comparison(results: dict[str, FitResult], *, flagged: int, rows: int) -> dict[str, Any]:
    """Both runs' held-out accuracy (test, else validation) and the line that compares them."""
    scores = {}
    for child, result in results.items():
        held_out = result.metrics.get("test") or result.metrics.get("valid") or {}
        scores[child] = held_out.get("accuracy")
    line = f"Dropped {flagged} of {rows} training rows flagged by the audit"
    if None not in scores.values():
        line += f": accuracy {scores['all']:.4f} with every row, {scores['clean']:.4f} without the flagged ones."
    return {
        "flagged_rows": flagged,
        "training_rows": rows,
        "accuracy_all": scores["all"],
        "accuracy_clean": scores["clean"],
        "line": line,
    }
