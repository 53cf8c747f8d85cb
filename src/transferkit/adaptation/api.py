"""The Python API of domain adaptation: `shift` (how far apart two domains are) and `adapt` (close the gap)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import yaml
from sklearn.model_selection import train_test_split

from transferkit.adaptation.domain_shift import ShiftReport, domain_classifier_accuracy, measure_shift, project
from transferkit.adaptation.inputs import Domain, batch_norm_layers, embed, embed_with_domain_statistics, load_domain
from transferkit.adaptation.methods import AdaptationProblem, AdaptedHead, available_methods, get_method
from transferkit.adaptation.training import TrainConfig
from transferkit.adaptation.unsupervised_validation import VALIDATORS, unsupervised_risk
from transferkit.artifacts import save_model
from transferkit.backbones import create_backbone
from transferkit.backbones.base import Backbone
from transferkit.backbones.tabular import TabularBackbone
from transferkit.errors import ConfigError, DataError
from transferkit.evaluation import classification_metrics
from transferkit.modalities import get_modality
from transferkit.models.transfer_model import TransferModel
from transferkit.run_folder import RunFolder, run_log, unique_run_name, write_atomic, write_json


def _subsample(domain: Domain, limit: int | None, seed: int) -> Domain:
    if limit is None or len(domain) <= limit:
        return domain
    pick = np.sort(np.random.default_rng(seed).choice(len(domain), limit, replace=False))
    return replace(
        domain,
        inputs=[domain.inputs[i] for i in pick] if domain.matrix is None else [],
        labels=None if domain.labels is None else [domain.labels[i] for i in pick],
        matrix=None if domain.matrix is None else domain.matrix[pick],
    )


def _backbone(spec: str | None, domain: Domain, max_length: int | None) -> Backbone | None:
    if domain.matrix is not None:  # numeric columns are their own embedding
        return None
    spec = spec or get_modality(domain.modality).default_backbone
    return create_backbone(spec, **({"max_length": max_length} if max_length else {}))


def _read_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k: options[k] for k in ("text_column", "label_column", "numeric_columns")}


def _load_pair(source: str | Path, target: str | Path, options: dict[str, Any]) -> tuple[Domain, Domain]:
    domains = (load_domain(source, **_read_options(options)), load_domain(target, **_read_options(options)))
    if domains[0].modality != domains[1].modality:
        raise DataError(
            f"The source {domains[0].source} is {domains[0].modality} data but the target "
            f"{domains[1].source} is {domains[1].modality} data; both domains must be the same kind."
        )
    return tuple(_subsample(d, options.get("limit"), options.get("seed", 0)) for d in domains)


def shift(
    source: str | Path,
    target: str | Path,
    *,
    backbone: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    numeric_columns: list[str] | None = None,
    limit: int | None = 1000,
    max_length: int | None = None,
    batch_size: int = 32,
    cache_dir: str | None = None,
    seed: int = 0,
    output: str | Path | None = None,
) -> ShiftReport:
    """Measure the shift between two datasets on a backbone's embeddings (or on numeric columns).

    Args:
        source: The data a model is trained on (image folder, CSV / JSONL, or a table with numeric_columns).
        target: The data it will meet (same kind; labels optional and only used for the per-class report).
        backbone: Backbone spec; the default for the data's modality when None.
        numeric_columns: For tables: the shared numeric columns to compare.
        limit: At most this many random examples per domain (embedding is the slow part).
        output: Write the report as JSON here.

    Returns:
        A ShiftReport: domain-classifier accuracy, proxy A-distance, MMD with p-value, per-class
        statistics and a plain-words verdict.

    Example::

        shift("data/fonts", "data/mnist").severity  # 'severe'
    """
    options = dict(text_column=text_column, label_column=label_column, numeric_columns=numeric_columns)
    source_domain, target_domain = _load_pair(source, target, options | {"limit": limit, "seed": seed})
    model = _backbone(backbone, source_domain, max_length)
    report = measure_shift(
        source=embed(model, source_domain, batch_size=batch_size, cache_dir=cache_dir),
        target=embed(model, target_domain, batch_size=batch_size, cache_dir=cache_dir),
        source_labels=source_domain.labels,
        target_labels=target_domain.labels,
        seed=seed,
    )
    if output is not None:
        write_json(Path(output), report.to_dict())
    return report


@dataclass
class AdaptResult:
    """What `adapt` produced: the run folder, the chosen method, all candidates' scores and the saved model."""

    run_dir: Path
    model_dir: Path
    method: str
    metrics: dict[str, Any]
    candidates: list[dict[str, Any]]


def _parse_methods(method: str | list[str], has_target_labels: bool) -> list[str]:
    names = method if isinstance(method, list) else [m.strip() for m in method.split(",") if m.strip()]
    if names == ["auto"]:
        names = [m for m in available_methods() if has_target_labels or not get_method(m).needs_target_labels]
    for name in names:
        if get_method(name).needs_target_labels and not has_target_labels:
            raise ConfigError(f"The '{name}' method trains on labelled target examples; pass --target-labels FILE.")
    return names


def _class_indices(labels: list[str], classes: list[str], where: str) -> np.ndarray:
    unknown = sorted(set(labels) - set(classes))
    if unknown:
        raise DataError(
            f"{where} has label(s) {', '.join(unknown)} that the source lacks; the model can only "
            f"predict {', '.join(classes)}."
        )
    return np.array([classes.index(label) for label in labels])


@dataclass
class _Prepared:
    problem: AdaptationProblem
    classes: list[str]
    target_labels: list[str] | None


def _prepare(
    xs: np.ndarray,
    xt: np.ndarray,
    source: Domain,
    target: Domain,
    labelled: tuple | None,
    valid_fraction: float,
    seed: int,
) -> _Prepared:
    classes = sorted(set(source.labels))
    ys = _class_indices(source.labels, classes, source.source)
    train, valid = train_test_split(np.arange(len(ys)), test_size=valid_fraction, random_state=seed, stratify=ys)
    problem = AdaptationProblem(
        source=xs[train],
        source_targets=ys[train],
        valid=xs[valid],
        valid_targets=ys[valid],
        target=xt,
        num_classes=len(classes),
    )
    if labelled is not None:
        features, domain = labelled
        problem.labelled_target = features
        problem.labelled_target_targets = _class_indices(domain.labels, classes, domain.source)
    if target.labels is not None:
        _class_indices(target.labels, classes, target.source)
    return _Prepared(problem, classes, target.labels)


def _evaluate(adapted: AdaptedHead, prepared: _Prepared, validator: str, seed: int) -> dict[str, Any]:
    problem = prepared.problem
    valid_proba = adapted.predict_source(problem.valid)
    row: dict[str, Any] = {
        "estimated_target_risk": unsupervised_risk(
            valid_probabilities=valid_proba,
            valid_targets=problem.valid_targets,
            valid_features=adapted.source_hidden(problem.valid),
            target_features=adapted.target_hidden(problem.target),
            validator=validator,
            seed=seed,
        ),
        "source_valid_accuracy": float((valid_proba.argmax(1) == problem.valid_targets).mean()),
    }
    if prepared.target_labels is not None:
        proba = adapted.predict_target(problem.target)
        row["target"] = classification_metrics(prepared.target_labels, proba, prepared.classes)
    return row


# Long: its 24 keyword options and their documentation are 55 of its lines; the body is under 30.
def adapt(
    *,
    source: str | Path,
    target: str | Path,
    target_labels: str | Path | None = None,
    method: str | list[str] = "dann",
    weight: float | list[float] | None = None,
    backbone: str | None = None,
    validator: str = "dev",
    epochs: int = 40,
    lr: float = 1e-3,
    valid_fraction: float = 0.2,
    text_column: str = "text",
    label_column: str = "label",
    numeric_columns: list[str] | None = None,
    limit: int | None = None,
    max_length: int | None = None,
    batch_size: int = 32,
    cache_dir: str | None = None,
    adabn_backbone: bool = True,
    output_dir: str | Path = "runs",
    name: str | None = None,
    overwrite: bool = False,
    seed: int = 0,
) -> AdaptResult:
    """Adapt a classifier from labelled source data to unlabelled (or few-label) target data.

    Every candidate (method x weight) trains a head on the backbone's cached embeddings; the one with
    the lowest unsupervised target-risk estimate (`validator`: DEV or IWV, from labelled source
    validation rows) is saved. Labels in TARGET are never used for training: when present they are
    reported next to the estimate. Only `target_labels` (a few labelled target examples) train, and
    only the ``finetune`` method.

    Args:
        source: Labelled source data (image class folders, CSV / JSONL, or a table with numeric_columns).
        target: Target data, labelled or not (a flat image folder or a CSV without label column).
        target_labels: A few labelled target examples in the same format, for ``finetune``.
        method: A method, a comma-separated list, or ``auto`` (all that apply). See `available_methods()`.
        weight: Alignment weight (DANN / CORAL / MMD), confidence threshold (self-training); a list makes a grid.
        validator: ``dev`` or ``iwv``: how candidates are ranked without target labels.
        adabn_backbone: For ``adabn`` on images with a BatchNorm backbone, also re-estimate the backbone's statistics.

    Returns:
        AdaptResult with the run folder (config.yaml, metrics.json, fit.log, model/), the chosen method and
        every candidate's estimated risk (and target metrics when TARGET has labels).

    Example::

        result = adapt(source="fonts/", target="mnist/", method="auto", epochs=30)
        result.candidates[0]["estimated_target_risk"]
    """
    started = time.perf_counter()
    options = {k: v for k, v in locals().items() if k != "started"}
    if validator not in VALIDATORS:
        raise ConfigError(f"The 'validator' option must be one of {', '.join(VALIDATORS)}. Got '{validator}'.")
    if not 0.05 <= valid_fraction <= 0.5:
        raise ConfigError(f"The 'valid-fraction' option must lie in [0.05, 0.5]. Got {valid_fraction}.")
    source_domain, target_domain, labelled_domain = _load_domains(options)
    methods = _parse_methods(method, labelled_domain is not None)
    weights = weight if isinstance(weight, list) else [weight]
    model = _backbone(backbone, source_domain, max_length)
    embed_options = {"batch_size": batch_size, "cache_dir": cache_dir}
    xs, xt = embed(model, source_domain, **embed_options), embed(model, target_domain, **embed_options)
    labelled = None if labelled_domain is None else (embed(model, labelled_domain, **embed_options), labelled_domain)
    prepared = _prepare(xs, xt, source_domain, target_domain, labelled, valid_fraction, seed)

    run_name = name or unique_run_name("adapt", Path(str(source)).stem, "to", Path(str(target)).stem)
    folder = RunFolder.claim(output_dir, run_name, overwrite=overwrite, kind="adapt")
    run_dir = folder.path
    write_atomic(run_dir / "config.yaml", yaml.safe_dump({"adapt": _plain(options)}, sort_keys=False))
    with folder.in_progress(), run_log(run_dir) as log:  # an overwritten run is dropped only on success
        domains = (source_domain, target_domain)
        candidates, fitted = _train_candidates(methods, weights, prepared, model, domains, options, log=log)
        best = int(np.argmin([row["estimated_target_risk"] for row in candidates]))
        adapted, tuned = fitted[best]
        metrics = _summary(candidates, best, validator, prepared, adapted, started)
        model_dir = _save(adapted, tuned, prepared.classes, run_dir, source_domain, options, candidates[best])
        write_json(run_dir / "metrics.json", metrics)
        _write_report(run_dir, metrics, backbone=model.spec if model is not None else "numeric columns")
        log.info("chose %s; metrics written to %s", candidates[best]["method"], run_dir / "metrics.json")
    return AdaptResult(
        run_dir=run_dir, model_dir=model_dir, method=candidates[best]["method"], metrics=metrics, candidates=candidates
    )


def _train_candidates(
    methods: list[str],
    weights: list[float | None],
    prepared: _Prepared,
    model: Backbone | None,
    domains: tuple[Domain, Domain],
    options: dict[str, Any],
    *,
    log: Any,
) -> tuple[list[dict[str, Any]], list[tuple[AdaptedHead, Backbone | None]]]:
    """Every (method x weight) candidate: its metrics row, and its adapted head with the backbone it runs on."""
    # AdaBN may re-estimate the backbone's BatchNorm statistics too (among registered backbones: image ones)
    backbone_adabn = options["adabn_backbone"] and model is not None and bool(batch_norm_layers(model))
    candidates: list[dict[str, Any]] = []
    fitted: list[tuple[AdaptedHead, Backbone | None]] = []
    for name in methods:
        problem, tuned = prepared.problem, model
        if name == "adabn" and backbone_adabn:
            tuned = create_backbone(model.spec)
            problem = _adabn_problem(prepared, tuned, *domains, options)
        for row, adapted in _train_method(name, weights, replace(prepared, problem=problem), options):
            log.info("candidate %s", {k: v for k, v in row.items() if k != "target"})
            candidates.append(row)
            fitted.append((adapted, tuned))
    return candidates, fitted


def _load_domains(options: dict[str, Any]) -> tuple[Domain, Domain, Domain | None]:
    """The labelled source, the target, and the optional few labelled target examples of an `adapt` call."""
    source_domain, target_domain = _load_pair(options["source"], options["target"], options)
    if source_domain.labels is None:
        raise DataError(
            f"The source {source_domain.source} has no labels; adaptation needs labelled source data "
            "(class sub-folders, or a --label-column)."
        )
    target_labels = options["target_labels"]
    if target_labels is None:
        return source_domain, target_domain, None
    labelled_domain = load_domain(target_labels, **_read_options(options))
    if labelled_domain.labels is None:
        raise DataError(f"--target-labels {target_labels} has no labels; give class folders or a label column.")
    return source_domain, target_domain, labelled_domain


def _train_method(
    name: str, weights: list[float | None], prepared: _Prepared, options: dict[str, Any]
) -> list[tuple[dict[str, Any], AdaptedHead]]:
    """One candidate per weight of adaptation method `name`: its metrics row and its adapted head."""
    method = get_method(name)
    trained = []
    for value in weights:
        config = TrainConfig(
            weight=method.default_weight if value is None else value, epochs=options["epochs"], lr=options["lr"]
        )
        L.seed_everything(options["seed"], verbose=False)
        adapted = method.fit(prepared.problem, config)
        row = {
            "method": name,
            "weight": config.weight,
            **_evaluate(adapted, prepared, options["validator"], options["seed"]),
            **adapted.details,
        }
        trained.append((row, adapted))
    return trained


def _adabn_problem(
    prepared: _Prepared, backbone: Backbone, source: Domain, target: Domain, options: dict[str, Any]
) -> AdaptationProblem:
    """Embeddings with BatchNorm statistics re-estimated per domain; the backbone ends on the target's."""
    embed_options = {"batch_size": options["batch_size"], "cache_dir": options["cache_dir"]}
    xs = embed_with_domain_statistics(backbone, source, **embed_options)
    xt = embed_with_domain_statistics(backbone, target, **embed_options)
    redone = _prepare(xs, xt, source, target, None, options["valid_fraction"], options["seed"]).problem
    # Labelled target rows (finetune) keep their plain embeddings: AdaBN does not train on them.
    redone.labelled_target = prepared.problem.labelled_target
    redone.labelled_target_targets = prepared.problem.labelled_target_targets
    return redone


def _summary(
    candidates: list[dict[str, Any]],
    best: int,
    validator: str,
    prepared: _Prepared,
    adapted: AdaptedHead,
    started: float,
) -> dict[str, Any]:
    problem = prepared.problem
    chosen = candidates[best]
    metrics: dict[str, Any] = {
        "chosen": {
            "method": chosen["method"],
            "weight": chosen["weight"],
            "validator": validator,
            "estimated_target_risk": chosen["estimated_target_risk"],
        },
        "source_valid_accuracy": chosen["source_valid_accuracy"],
        "domain_accuracy": {
            "embeddings": domain_classifier_accuracy(*project(problem.source, problem.target)),
            "adapted_features": domain_classifier_accuracy(
                adapted.source_hidden(problem.source), adapted.target_hidden(problem.target)
            ),
        },
        "candidates": [{k: (v["accuracy"] if k == "target" else v) for k, v in row.items()} for row in candidates],
        "data": {
            "source_train": len(problem.source),
            "source_valid": len(problem.valid),
            "target": len(problem.target),
            "classes": prepared.classes,
        },
    }
    if "target" in chosen:
        metrics["target"] = chosen["target"]
    metrics["seconds"] = round(time.perf_counter() - started, 2)
    return metrics


def _write_report(run_dir: Path, metrics: dict[str, Any], *, backbone: str) -> None:
    """report.html / report.md like `fit`'s: the chosen method, labelled-target metrics, every candidate."""
    from transferkit.evaluation.report import write_report

    chosen = metrics["chosen"]
    shown: dict[str, Any] = {
        "strategy": {"name": f"adapt: {chosen['method']} (weight {chosen['weight']})"},
        "backbone": {"spec": backbone},
        "seconds": {"total": metrics["seconds"]},
    }
    if "target" in metrics:  # labelled target rows, never trained on: the honest check of the estimate
        shown["test"] = metrics["target"]
    header = ["method", "weight", f"estimated target risk ({chosen['validator']})", "source valid accuracy"]
    has_target = any("target" in row for row in metrics["candidates"])
    header += ["target accuracy"] if has_target else []
    rows = [
        [row["method"], row["weight"], row["estimated_target_risk"], row["source_valid_accuracy"]]
        + ([row.get("target")] if has_target else [])
        for row in metrics["candidates"]
    ]
    domain = metrics["domain_accuracy"]
    shift_rows = [["backbone embeddings", domain["embeddings"]], ["adapted features", domain["adapted_features"]]]
    write_report(
        run_dir,
        metrics=shown,
        config_yaml=(run_dir / "config.yaml").read_text(encoding="utf-8"),
        title=f"transferkit adaptation report: {run_dir.name}",
        extra_sections=[
            ("Candidates (lowest estimated target risk is saved)", header, rows),
            ("Domain classifier accuracy (0.5 = domains indistinguishable)", ["features", "accuracy"], shift_rows),
        ],
    )


def _plain(options: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in options.items()}


def numeric_columns_backbone(columns: list[str], matrix: np.ndarray) -> TabularBackbone:
    """A ``tabular:columns`` backbone that passes `columns` through unchanged (the adapted head standardises).

    So an adapted table model is an ordinary saved model: `predict` / `evaluate` read a CSV with these
    columns; a missing value is filled with the source column's median.
    """
    medians = np.nanmedian(matrix, axis=0)
    numeric = {c: {"median": float(m), "mean": 0.0, "scale": 1.0} for c, m in zip(columns, medians, strict=True)}
    return TabularBackbone(
        spec="tabular:columns",
        kind="columns",
        preprocessor={"columns": list(columns), "numeric": numeric, "categorical": {}},
    )


def _save(
    adapted: AdaptedHead,
    backbone: Backbone | None,
    classes: list[str],
    run_dir: Path,
    source: Domain,
    options: dict[str, Any],
    chosen: dict[str, Any],
) -> Path:
    metadata = {
        "run": run_dir.name,
        "modality": source.modality,
        "text_column": options["text_column"],
        "adapted": {
            "method": chosen["method"],
            "weight": chosen["weight"],
            "source": str(options["source"]),
            "target": str(options["target"]),
        },
    }
    if backbone is None:  # numeric table: the columns themselves are the embedding
        backbone = numeric_columns_backbone(options["numeric_columns"], source.matrix)
        metadata.update(modality="tabular", feature_columns=backbone.input_columns)
    trained = chosen["method"] == "adabn" and bool(batch_norm_layers(backbone)) and options["adabn_backbone"]
    return save_model(
        TransferModel(backbone, adapted.target_model_head(), classes),
        run_dir / "model",
        backbone_trained=trained,
        metadata=metadata,
    )
