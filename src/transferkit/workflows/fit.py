"""The fit workflow: resolve the options, load and split the data, train, evaluate, save the run folder."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np

from transferkit.artifacts import save_model
from transferkit.backbones import backbone_entry, create_backbone
from transferkit.config import RunSpec, flat_to_dotted
from transferkit.data import LabeledData, Splits, load_labeled, split_data, validate_labeled
from transferkit.data.strata import split_by_keys
from transferkit.data.table_kind import inferred_table_line
from transferkit.data.validation import describe_bad_items
from transferkit.embedding_cache import embed_runtime, resolve_runtime
from transferkit.errors import ConfigError, DataError
from transferkit.evaluation import write_run_report
from transferkit.evaluation.calibration import temperature_record
from transferkit.modalities import get_modality
from transferkit.model_card import model_card
from transferkit.models.predictor import Predictor
from transferkit.run_folder import default_run_name, inherited_run_name, run_log, write_json
from transferkit.strategies import Strategy, StrategyResult, get_strategy
from transferkit.strategies.auto import AutoStrategy
from transferkit.strategies.choice import choose_for_run
from transferkit.tasks import Task, get_task, infer_task
from transferkit.tasks.checks import check_label_cells
from transferkit.workflows.baselines import run_baselines
from transferkit.workflows.routes import route_for
from transferkit.workflows.run_setup import open_run_dir, resume_spec


@dataclass
class FitResult:
    """What `fit` produced: the run folder, the saved model folder, the metrics, the model and its task."""

    run_dir: Path
    model_dir: Path
    metrics: dict[str, Any]
    spec: RunSpec
    model: Predictor
    task: Task | None = None


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


def _load_split_file(path: str | None, spec: RunSpec, *, classes: list[str] | None, what: str) -> LabeledData | None:
    if path is None:
        return None
    data = load_labeled(
        path,
        text_column=spec.data.text_column,
        label_column=spec.data.label_column,
        tabular=is_tabular(spec),
        feature_columns=spec.data.feature_columns,
        **label_set_options(spec),
    )
    validate_labeled_extra(data, spec, classes=classes, what=what)
    return data


def label_set_options(spec: RunSpec) -> dict[str, Any]:
    """The readers' multi-label options: several 0/1 label columns and the separator of label sets."""
    return {"label_columns": spec.data.label_columns, "label_separator": spec.data.label_separator}


def validate_labeled_extra(data: LabeledData, spec: RunSpec, *, classes: list[str] | None, what: str) -> None:
    """Refuse unusable items, and (`classes` given: single-label classification) labels the training data lacks."""
    if data.bad_items and not spec.data.skip_bad_files:
        raise DataError(
            f"{len(data.bad_items)} unusable item(s) in {data.source}: {describe_bad_items(data.bad_items)}. "
            "Fix or remove them, or pass --skip-bad-files."
        )
    unknown = sorted(set(data.labels or []) - set(classes)) if classes is not None else []
    if unknown:
        raise DataError(
            f"The {what} data {data.source} has label(s) {', '.join(unknown)} that the training data "
            f"lacks; the model can only predict {', '.join(classes)}."
        )


def is_tabular(spec: RunSpec) -> bool:
    """A table is read as feature columns when --feature-columns is given or the backbone is a tabular one."""
    if spec.data.feature_columns:
        return True
    if spec.backbone.spec:
        return backbone_entry(spec.backbone.spec).modality == "tabular"
    return inferred_table(spec) is not None  # no backbone and no text column: a table of features


def inferred_table(spec: RunSpec) -> str | None:
    """The line saying the data was read as feature columns because it has no text column, else None."""
    if spec.data.feature_columns or spec.backbone.spec:
        return None
    return inferred_table_line(spec.data.path, text_column=spec.data.text_column, label_column=spec.data.label_column)


def prepare_splits(spec: RunSpec) -> tuple[Splits, dict[str, Any]]:
    """Load, validate and split the data a spec names; returns the splits and the data summary."""
    data = load_labeled(
        spec.data.path,
        text_column=spec.data.text_column,
        label_column=spec.data.label_column,
        split_column=spec.data.split_column,
        tabular=is_tabular(spec),
        feature_columns=spec.data.feature_columns,
        **label_set_options(spec),
    )
    report = validate_labeled(data, skip_bad_files=spec.data.skip_bad_files)
    task_name, inferred = resolve_task_name(spec, data)
    check_label_cells(data, spec=spec, task=task_name)
    task_class = get_task(task_name)
    classes = data.class_names if task_name == "classification" else None  # the other tasks check their own
    keys = task_class.split_keys(data, spec=spec)
    splitter = split_data if keys is None else partial(split_by_keys, keys=keys)
    splits = splitter(
        data,
        valid_fraction=spec.data.valid_fraction,
        test_fraction=spec.data.test_fraction,
        seed=spec.run.seed,
        limit=spec.data.limit,
        test_limit=spec.data.test_limit,
        valid_data=_load_split_file(spec.data.valid_path, spec, classes=classes, what="validation"),
        test_data=_load_split_file(spec.data.test_path, spec, classes=classes, what="test"),
    )
    if classes is not None and len(splits.train.class_names) < 2:
        raise DataError(f"The training split of {data.source} has a single class; add examples of other classes.")
    summary = task_class.data_summary(report.to_dict() | {"splits": splits.summary()}, splits, spec=spec)
    summary["task"] = {"name": task_name, **({"inferred": inferred} if inferred else {})}
    return splits, summary


def resolve_task_name(spec: RunSpec, data: LabeledData) -> tuple[str, str | None]:
    """The run's task: --task, or for auto the one the labels describe (with why)."""
    if spec.data.task != "auto":
        return spec.data.task, None
    return infer_task(
        data.labels or [], separator=spec.data.label_separator, label_columns=bool(spec.data.label_columns)
    )


def check_backbone_modality(backbone_spec: str, modality: str) -> None:
    entry = backbone_entry(backbone_spec)
    if entry.modality != modality:
        raise ConfigError(
            f"The 'backbone' option '{backbone_spec}' is a {entry.modality} model but the data is {modality}; "
            f"pick a {modality} backbone such as '{get_modality(modality).default_backbone}'."
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

    Example::

        result = fit("builtin:fine-food", limit=300)
        result.metrics["test"]["accuracy"]
    """
    started = time.perf_counter()
    if resume is not None:
        spec = resume_spec(resume, other_options=bool(data or config or options))
    else:
        spec = resolve_spec(data, config, options)
    if (route := route_for(spec.data.task)) is not None:  # detection, language models: their own workflow
        return route.fit(spec, resume=resume)
    L.seed_everything(spec.run.seed, workers=True, verbose=False)
    inferred = inferred_table(spec)  # before the backbone is filled in: what the data was read as, when inferred
    splits, data_summary = prepare_splits(spec)
    spec = spec.with_overrides({"data.task": data_summary["task"]["name"]})  # auto: the task the labels describe
    spec = complete_spec(spec, modality=splits.train.modality)
    task = get_task(spec.data.task).from_training(splits.train, spec=spec)
    folder = open_run_dir(spec, resume=resume)
    run_dir = folder.path
    with folder.in_progress(), run_log(run_dir) as log:  # an overwritten run is dropped only on success
        log.info("data %s: %s", spec.data.path, data_summary)
        task.check(spec=spec, train=splits.train, valid=splits.valid)
        backbone = build_backbone(spec, splits)
        strategy = budgeted(get_strategy(spec.strategy.name), started=started, splits=splits)
        target = task.training_target(spec=spec, train=splits.train)
        result = strategy.fit(
            backbone=backbone, train=splits.train, valid=splits.valid, spec=spec, run_dir=run_dir, target=target
        )
        if result.secondary_process:  # an extra process of a multi-process run: the primary reports
            return FitResult(
                run_dir=run_dir, model_dir=run_dir / "model", metrics={"global_rank": 1}, spec=spec, model=result.model
            )
        fitted = time.perf_counter()
        metrics, probas = evaluate_run(
            task=task, strategy=strategy, result=result, spec=spec, splits=splits, data_summary=data_summary
        )
        evaluated = time.perf_counter()  # scoring the held-out rows: auto kept a reserve for it in its budget
        if (metrics.get("imbalance") or {}).get("suggestion"):
            log.info("suggestion: %s", metrics["imbalance"]["suggestion"])
        metrics |= run_records(spec=spec, splits=splits, result=result, probas=probas, task=task, run_dir=run_dir)
        if inferred:
            metrics["inferred"] = inferred
            log.info("%s", inferred)
        metrics |= calibration_and_holdout(spec=spec, splits=splits, result=result, probas=probas, task=task, log=log)
        metrics["backbone"] = {
            "spec": spec.backbone.spec,
            "parameters": backbone.num_parameters,
            "weights": backbone.weights_cfg.to_dict(),
            # bf16 on CPUs that have it (text): a rerun elsewhere may embed in fp32, 1e-5 apart
            "embedding_runtime": resolve_runtime(backbone, embed_runtime()),
        }
        metrics["strategy"] = {"name": spec.strategy.name, **result.record()}
        metrics["history"] = result.history
        seconds = {"fit": fitted - started, "evaluate": evaluated - fitted, "total": time.perf_counter() - started}
        metrics["seconds"] = {name: round(value, 2) for name, value in seconds.items()}
        model_dir = save_run(
            run_dir, spec=spec, result=result, task=task, metrics=metrics, splits=splits, probas=probas
        )
        log.info("metrics written to %s", run_dir / "metrics.json")
    return FitResult(run_dir=run_dir, model_dir=model_dir, metrics=metrics, spec=spec, model=result.model, task=task)


def budgeted(strategy: Strategy, *, started: float, splits: Splits) -> Strategy:
    """The strategy; strategy auto's budget (--budget-minutes) counts from `started`, the start of the whole fit, and
    keeps back what scoring the validation and test rows after the fit will cost."""
    if isinstance(strategy, AutoStrategy):
        strategy.budget_from(
            started, held_out=[row for part in (splits.valid, splits.test) if part for row in part.inputs]
        )
    return strategy


def complete_spec(spec: RunSpec, *, modality: str) -> RunSpec:
    """The spec with its backbone (the modality's default unless given) and its run name filled in."""
    backbone_spec = spec.backbone.spec or get_modality(modality).default_backbone
    check_backbone_modality(backbone_spec, modality)
    name = spec.run.name or inherited_run_name() or default_run_name(spec.data.path, backbone_spec, spec.strategy.name)
    return spec.with_overrides({"backbone.spec": backbone_spec, "run.name": name})


def build_backbone(spec: RunSpec, splits: Splits):
    """The run's pretrained backbone; a tabular one fits its preprocessing on the training rows only."""
    modality = splits.train.modality
    column_map = {"column_map": spec.backbone.column_map} if spec.backbone.column_map else {}
    if column_map and modality != "tabular":
        raise ConfigError("The 'column-map' option renames table columns; it applies to tabular backbones only.")
    backbone = create_backbone(spec.backbone.spec, max_length=spec.backbone.max_length, **column_map)
    if modality == "tabular":  # scikit-learn preprocessing, fitted on the training rows only
        backbone.fit_preprocessing(splits.train.inputs)
    return backbone


def evaluate_run(
    *, task: Task, strategy: Strategy, result: StrategyResult, spec: RunSpec, splits: Splits, data_summary: dict
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The model's outputs on the validation and test splits, and the task's metrics of them (the task tunes
    its decision policy on the validation outputs first)."""
    evaluated = {name: split for name, split in (("valid", splits.valid), ("test", splits.test)) if split}
    probas = {name: strategy.predict_proba(result, split, spec) for name, split in evaluated.items()}
    metrics: dict[str, Any] = {"data": data_summary}
    metrics |= task.fit_metrics(spec=spec, train=splits.train, evaluated=evaluated, probas=probas)
    return metrics, probas


def run_records(
    *,
    spec: RunSpec,
    splits: Splits,
    result: StrategyResult,
    probas: dict[str, np.ndarray],
    task: Task,
    run_dir: Path,
) -> dict[str, Any]:
    """metrics.json's baselines (--baseline) and selection (strategy auto's choice, or --select's report)."""
    records: dict[str, Any] = {}
    if spec.run.baseline != "none":
        records["baselines"] = run_baselines(
            choice=spec.run.baseline,
            spec=spec,
            splits=splits,
            probas=probas,
            class_names=task.output_names,
            run_dir=run_dir,
        )
    if result.selection is not None:  # strategy auto: the choice that made the model
        records["selection"] = result.selection
    elif spec.run.select:  # an explicit strategy with --select: the same choice, reported only
        records["selection"] = choose_for_run(spec=spec, train=splits.train)
    return records


def calibration_and_holdout(
    *, spec: RunSpec, splits: Splits, result: StrategyResult, probas: dict[str, np.ndarray], task: Task, log: Any
) -> dict[str, Any]:
    """metrics.json's temperature scaling (applied to the saved model unless --no-calibrate: the metrics already
    computed are the model's own) and, when a split could not be carved, what estimates the accuracy instead."""
    records: dict[str, Any] = {}
    if (scaling := temperature_scaling_record(spec=spec, splits=splits, probas=probas, task=task)) is not None:
        records["temperature_scaling"] = scaling | {"applied": spec.run.calibrate}
        if spec.run.calibrate:
            task.calibrate(scaling["temperature"])
    if splits.not_carved:  # too few rows to hold any out: say so
        records["holdout"] = holdout_record(splits, result=result, spec=spec)
        log.info("%s", records["holdout"]["line"])
    return records


def temperature_scaling_record(
    *, spec: RunSpec, splits: Splits, probas: dict[str, np.ndarray], task: Task
) -> dict[str, Any] | None:
    """Single-label runs with validation and test splits: temperature scaling fitted on the validation outputs,
    with the test ECE and log loss before and after (applied to the saved model unless --no-calibrate)."""
    if spec.data.task != "classification" or splits.valid is None or splits.test is None or "test" not in probas:
        return None
    names = list(task.output_names)

    def encoded(part: LabeledData) -> np.ndarray:
        return np.array([names.index(label) for label in part.labels or []])

    fit_on, score_on = (encoded(splits.valid), probas["valid"]), (encoded(splits.test), probas["test"])
    return temperature_record(fit_on, score_on, fitted_on="validation")


def no_estimate_reason(selection: dict[str, Any] | None, spec: RunSpec) -> str:
    """Why nothing held out and no cross-validated score stands in for a test score, and what to do about it."""
    if spec.strategy.name != "auto" or selection is None:
        return "pass --test-data, or use --strategy auto or probe for a cross-validated one"
    if not selection.get("folds"):  # loading and embedding took the budget: auto saved its fallback unscored
        return "the budget ran out before any cross-validation fold (raise --budget-minutes), or pass --test-data"
    return f"{selection.get('chosen')} was not cross-validated (the recorded prior chose it); pass --test-data"


def holdout_record(splits: Splits, *, result: StrategyResult, spec: RunSpec) -> dict[str, Any]:
    """Which splits were not carved and why, and (no test split) the cross-validated accuracy that stands in for
    a test score: strategy auto's score of its choice, or the probe's on the same folds."""
    why = "; ".join(f"no {what} split: {reason}" for what, reason in splits.not_carved.items())
    if "test" not in splits.not_carved:
        line = f"No validation split ({why}); the test split scores the model."
        return {"not_carved": dict(splits.not_carved), "estimate": None, "line": line}
    selection = result.selection
    if selection is None and spec.strategy.name == "probe":
        selection = choose_for_run(spec=spec, train=splits.train) | {"chosen": "probe"}
    score = ((selection or {}).get("scores") or {}).get((selection or {}).get("chosen"))
    estimate = None
    metric = (selection or {}).get("metric", "accuracy")  # r2: strategy auto on a number
    if score is not None:
        estimate = {metric: round(score["mean"], 4), "std": round(score["std"], 4), "folds": len(score["folds"])}
    line = f"Held out nothing ({why}); every labelled row trained the model."
    if estimate:
        line += (
            f" {'R²' if metric == 'r2' else 'Accuracy'} estimated by {estimate['folds']}-fold cross-validation: "
            f"{estimate[metric]:.3f}."
        )
    else:
        line += f" No accuracy estimate: {no_estimate_reason(selection, spec)}."
    return {"not_carved": dict(splits.not_carved), "estimate": estimate, "line": line}


def save_run(
    run_dir: Path,
    *,
    spec: RunSpec,
    result: StrategyResult,
    task: Task,
    metrics: dict[str, Any],
    splits: Splits,
    probas: dict[str, np.ndarray],
) -> Path:
    """The model folder (with its task and model card), metrics.json and the report; returns the model folder."""
    modality = splits.train.modality
    backbone = result.model.backbone
    threshold = task.state().get("threshold")
    model_dir = save_model(
        result.model,
        run_dir / "model",
        backbone_trained=result.backbone_trained,
        metadata={
            "text_column": spec.data.text_column,
            "run": spec.run.name,
            "modality": modality,
            **({"feature_columns": backbone.input_columns} if modality == "tabular" and backbone else {}),
            **({"threshold": threshold} if threshold else {}),  # also in the task's state; read by older versions
        },
        card=model_card(metrics=metrics, spec=spec, task=task, modality=modality),
        task=task,
        # held-out inputs (validation first; never training rows) for export's parity check without --check
        examples=(splits.valid or splits.test).inputs if (splits.valid or splits.test) else None,
    )
    write_json(run_dir / "metrics.json", metrics)
    if not spec.run.report:  # --no-report (the scikit-learn estimators' temporary runs)
        return model_dir
    write_run_report(
        run_dir,
        metrics=metrics,
        spec=spec,
        splits=splits,
        probas=probas,
        class_names=task.output_names,
        task_sections=task.report_sections,
        mistakes=task.name == "classification",
    )
    return model_dir
