"""Rank candidate backbones on the user's own labelled data by transferability scores.

Each candidate embeds the labelled (non-test) data once, through the on-disk feature cache; the
scores in `transferkit.ranking.scores` then run on those embeddings in seconds, instead of
fine-tuning every candidate. Cost is measured alongside: parameters, embedding time, single-input
latency and peak memory, so a `Budget` can rule candidates out.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.special
import torch
from torch import nn

from transferkit.backbones import backbone_entry, create_backbone, list_backbones
from transferkit.backbones.base import Backbone, Batch
from transferkit.config import RunSpec
from transferkit.embedding_cache import extract_features, processes
from transferkit.errors import BackboneError, ConfigError, MissingDependencyError
from transferkit.ranking.budget import Budget
from transferkit.ranking.confirm import (
    DEFAULT_CONFIRM_STRATEGY,
    DEFAULT_CONFIRM_VALID_FRACTION,
    Confirmation,
    best_confirmed,
    check_confirm_options,
    confirm_candidates,
    confirm_caveats,
)
from transferkit.ranking.measure import PeakMemory, measure_latency, parse_params, weights_mb
from transferkit.ranking.scores import SCORES
from transferkit.workflows.fit import prepare_splits, resolve_spec


class SourceLogitsView(Backbone):
    """A backbone seen through its source classifier: `forward` returns the pretraining logits.

    Lets `extract_features` cache source predictions (for LEEP / NCE) like embeddings, under their own key.
    """

    def __init__(self, backbone: Backbone) -> None:
        super().__init__()
        self.inner = backbone
        self.spec = f"{backbone.spec}#source-logits"
        self.modality = backbone.modality
        self.weights_cfg = backbone.weights_cfg
        self.num_features = 0

    def load_batch(self, inputs: list[str]) -> Batch:
        return self.inner.load_batch(inputs)

    def forward_features(self, batch: Batch) -> torch.Tensor:
        return self.inner.forward_features(batch)

    def pool(self, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        return self.inner.pool(features, batch)

    def layer_groups(self) -> list[nn.Module]:
        return self.inner.layer_groups()

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.inner.source_logits(batch)


def has_source_classifier(backbone: Backbone) -> bool:
    return callable(getattr(backbone, "source_logits", None))


def _linear_source_head(backbone: Backbone, sample: list[str]) -> nn.Module | None:
    """The source classifier as a module on the pooled embedding, if the backbone has one that checks out.

    timm models map their pre-logits embedding to the source logits with `get_classifier()`; this is
    verified on `sample` against `source_logits`, so LEEP / NCE reuse the cached embeddings instead of
    running the backbone a second time. Anything else gets None (and a full second pass).
    """
    model = getattr(backbone, "model", None)
    get_classifier = getattr(model, "get_classifier", None)
    if not callable(get_classifier):
        return None
    head = get_classifier()
    if not isinstance(head, nn.Module):
        return None
    with torch.inference_mode():
        batch = backbone.load_batch(sample)
        expected = backbone.source_logits(batch)
        try:
            actual = head(backbone(batch))
        except RuntimeError:  # shapes do not line up: not a linear head on the embedding
            return None
    if actual.shape != expected.shape or not torch.allclose(actual, expected, rtol=1e-3, atol=1e-3):
        return None
    return head


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of source-head logits (scipy's, shifted for stability)."""
    return scipy.special.softmax(logits, axis=1)


def source_logits(backbone: Backbone, inputs: list[str], features: np.ndarray, spec: RunSpec) -> np.ndarray:
    """Source-classifier logits of `inputs`: from the cached embeddings when the head allows, else a cached pass."""
    backbone.eval()
    head = _linear_source_head(backbone, inputs[:2])
    if head is not None:
        with torch.inference_mode():
            return head(torch.from_numpy(features)).float().numpy()
    logits, _ = extract_features(
        SourceLogitsView(backbone),
        inputs,
        cache_dir=spec.backbone.cache_dir,
        batch_size=spec.backbone.batch_size,
        description=f"Source predictions of {backbone.spec}",
    )
    return logits


@dataclass
class CandidateScore:
    """One row of the ranking table: a candidate backbone's scores and measured cost.

    Scores are None where they do not apply (LEEP / NCE without a source classifier) or the candidate failed.
    """

    spec: str
    params_m: float | None = None
    num_features: int | None = None
    scores: dict[str, float | None] = field(default_factory=dict)
    embed_seconds: float | None = None
    cache_hits: int = 0
    latency_ms: float | None = None
    peak_memory_mb: float | None = None
    weights_mb: float | None = None
    score_seconds: float | None = None
    over_budget: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def memory_mb(self) -> float | None:
        """Memory the budget judges: the measured RSS rise, but never less than the weights themselves
        (a backbone loaded into memory freed by an earlier candidate shows a smaller rise)."""
        known = [value for value in (self.peak_memory_mb, self.weights_mb) if value is not None]
        return max(known) if known else None

    @property
    def usable(self) -> bool:
        return self.error is None and not self.over_budget

    def to_dict(self) -> dict[str, Any]:
        """The fields plus `memory_mb`, the figure the printed table and the budget use."""
        return {**asdict(self), "memory_mb": self.memory_mb}


@dataclass
class Ranking:
    """The ranking table: `rows` best first by `by` (usable rows first), and the recommended pick.

    With `confirm`, `confirmed` holds the top candidates fine-tuned on the same rows; the pick is then the best
    validation accuracy among them (`picked_by` says which), and `score_pick` keeps the scores' own choice.
    """

    rows: list[CandidateScore]
    by: str
    recommended: str | None
    budget: Budget
    data: dict[str, Any]
    seconds: float
    caveats: list[str] = field(default_factory=list)
    confirmed: list[Confirmation] = field(default_factory=list)
    score_pick: str | None = None
    picked_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "recommended": self.recommended,
            "picked_by": self.picked_by or self.by,
            "score_pick": self.score_pick,
            "caveats": self.caveats,
            "budget": self.budget.to_dict(),
            "data": self.data,
            "seconds": round(self.seconds, 3),
            "rows": [row.to_dict() for row in self.rows],
            "confirmed": [item.to_dict() for item in self.confirmed],
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per candidate: spec, each score as a column, then the cost columns."""
        records = []
        for row in self.rows:
            record = row.to_dict()
            scores = record.pop("scores")
            record["over_budget"] = "; ".join(record["over_budget"])
            records.append({"spec": record.pop("spec"), **scores, **record})
        return pd.DataFrame.from_records(records)


# How many times more parameters a usable candidate may have than the pick before the ranking warns. On the
# reviews benchmark SmolLM2 (135M) fine-tuned best while the scores put it mid-table, 0.055 above LogME's pick
# (17.2M); among the digits' and photos' 3.5M-6.1M models no such reversal (README, "Does the ranking agree
# with training?").
SIZE_RATIO_CAVEAT = 3.0


def size_caveats(
    rows: list[CandidateScore], pick: CandidateScore | None, fine_tuned: set[str] = frozenset()
) -> list[str]:
    """A warning when a usable candidate is much larger than the pick: the scores judge frozen features, and
    fine-tuning can give a larger model's extra layers more to adapt than the features show. Candidates in
    `fine_tuned` (confirmed by `--confirm`) were measured after fine-tuning, so they need no warning."""
    sized = [row for row in rows if row.usable and row.params_m and row.spec not in fine_tuned]
    if pick is None or not pick.params_m or not sized:
        return []
    biggest = max(sized, key=lambda row: row.params_m or 0.0)
    if biggest.params_m < SIZE_RATIO_CAVEAT * pick.params_m:
        return []
    return [
        f"The scores judge frozen features. {biggest.spec} has {biggest.params_m / pick.params_m:.0f}x the parameters "
        f"of {pick.spec}: if you will fine-tune rather than train a probe, it may overtake the pick; "
        "fine-tune both on your data before committing."
    ]


def sort_rows(rows: list[CandidateScore], by: str) -> list[CandidateScore]:
    """Usable rows with a score first (best first), then those without the score, over budget, failed; ties by spec."""

    def key(row: CandidateScore) -> tuple:
        value = row.scores.get(by)
        return (row.error is not None, bool(row.over_budget), value is None, -(value or 0.0), row.spec)

    return sorted(rows, key=key)


def _candidate_specs(candidates: Sequence[str | Backbone] | None, modality: str) -> list[str | Backbone]:
    if candidates is None:
        found = [entry.name for entry in list_backbones(modality=modality) if entry.offline]
        if not found:
            raise ConfigError(f"No offline {modality} backbone is registered; pass --candidates.")
        return found
    if not candidates:
        raise ConfigError("The 'candidates' option is empty; pass backbone specs such as bundled:minilm.")
    for candidate in candidates:
        kind = candidate.modality if isinstance(candidate, Backbone) else backbone_entry(candidate).modality
        if kind != modality:
            name = candidate.spec if isinstance(candidate, Backbone) else candidate
            raise ConfigError(
                f"Candidate '{name}' is a {kind} model but the data is {modality}; "
                f"`transferkit backbones` lists the {modality} ones."
            )
    return list(candidates)


def score_embeddings(
    features: np.ndarray,
    labels: list[str],
    *,
    source_proba: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    folds: int = 5,
    seed: int = 0,
) -> dict[str, float | None]:
    """Every requested score of one candidate's embeddings (and source probabilities when it has a head).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> noise = score_embeddings(rng.normal(size=(40, 8)), ["a", "b"] * 20, names=["logme"])
        >>> separated = score_embeddings(np.repeat([[0.0], [3.0]], 20, axis=0) + rng.normal(size=(40, 8)),
        ...                              ["a"] * 20 + ["b"] * 20, names=["logme"])
        >>> list(noise), separated["logme"] > noise["logme"]
        (['logme'], True)
    """
    results: dict[str, float | None] = {}
    for name in names or list(SCORES):
        info = SCORES[name]
        if info.needs == "source":
            results[name] = None if source_proba is None else info.compute(source_proba, labels)
        elif name in {"knn", "linear"}:
            results[name] = info.compute(features, labels, folds=folds, seed=seed)
        else:
            results[name] = info.compute(features, labels)
    return results


def listed_params_m(spec: str) -> float | None:
    """The registry's parameter count (millions), for backbones whose weights live outside torch (CTranslate2)."""
    try:
        return parse_params(backbone_entry(spec).parameters)
    except BackboneError:
        return None


def _evaluate_candidate(
    candidate: str | Backbone, inputs: list[str], labels: list[str], spec: RunSpec, *, folds: int, names: list[str]
) -> CandidateScore:
    name = candidate.spec if isinstance(candidate, Backbone) else candidate
    row = CandidateScore(spec=name)
    gc.collect()
    with PeakMemory() as memory:
        try:
            backbone = (
                candidate
                if isinstance(candidate, Backbone)
                else create_backbone(candidate, max_length=spec.backbone.max_length)
            )
        except (BackboneError, MissingDependencyError, OSError) as exc:
            row.error = str(exc)
            return row
        row.latency_ms = measure_latency(backbone, inputs)
        started = time.perf_counter()
        features, stats = extract_features(
            backbone,
            inputs,
            cache_dir=spec.backbone.cache_dir,
            batch_size=spec.backbone.batch_size,
            description=f"Embedding with {name}",
            **processes(spec.run),  # --devices > 1: shared over processes
        )
        row.embed_seconds = time.perf_counter() - started
        row.cache_hits = stats.hits
        source_proba = None
        if has_source_classifier(backbone) and any(SCORES[n].needs == "source" for n in names):
            source_proba = softmax(source_logits(backbone, inputs, features, spec).astype(np.float64))
    row.peak_memory_mb = memory.peak_mb
    row.params_m = backbone.num_parameters / 1e6 or listed_params_m(name)
    row.weights_mb = weights_mb(backbone)
    row.num_features = int(features.shape[1])
    started = time.perf_counter()
    row.scores = score_embeddings(
        features, labels, source_proba=source_proba, names=names, folds=folds, seed=spec.run.seed
    )
    row.score_seconds = time.perf_counter() - started
    return row


# Long: the docstring documents every option; the body runs the steps in order, task families routed first.
def rank(
    data: str | Path | None = None,
    *,
    candidates: Sequence[str | Backbone] | None = None,
    budget: Budget | str | None = None,
    by: str = "logme",
    scores: Sequence[str] | None = None,
    folds: int = 5,
    confirm: int = 0,
    confirm_strategy: str = DEFAULT_CONFIRM_STRATEGY,
    confirm_valid_fraction: float = DEFAULT_CONFIRM_VALID_FRACTION,
    config: RunSpec | str | Path | None = None,
    **options: Any,
) -> Ranking:
    """Score candidate backbones on labelled data without fine-tuning them, and pick one.

    Uses the training (and validation) rows only; a test split the data defines is left untouched.

    Args:
        data: Image folder, CSV / JSONL / Parquet file or ``builtin:NAME`` (as for `fit`).
        candidates: Backbone specs (or Backbone objects); default: every offline backbone of the
            data's modality.
        budget: A `Budget` or text such as ``"latency=50ms,memory=1GB,params=25M"``; candidates over
            it are kept in the table, marked, and never recommended. Params are checked before loading.
        by: The score that orders the table and makes the pick (one of `SCORES`).
        scores: Which scores to compute (default all; `by` is always included).
        folds: Folds of the cross-validated k-NN and linear-probe accuracies.
        confirm: Fine-tune the best N usable candidates (by `by`) with `confirm_strategy` on the same labelled
            rows (all of them, not the `limit` sample), holding out `confirm_valid_fraction` of them, and pick
            the best validation accuracy. Each leaves a run folder (under the `output_dir` option) with its
            trained model. 0 (default): scores only.
        config: A RunSpec or YAML file for the data options.
        **options: Flat data options as for `fit`: text_column, label_column, limit, batch_size,
            max_length, cache_dir, seed, ...

    Returns:
        Ranking with rows best first, the recommended spec, and `to_frame()` / `to_dict()`.

    Example::

        ranking = rank("builtin:digits", limit=300, budget="params=10M")
        ranking.recommended  # 'bundled:efficientnet_lite0'
    """
    budget = budget if isinstance(budget, Budget) else Budget.parse(budget)
    started = time.perf_counter()
    spec = resolve_spec(data, config, {"valid_fraction": 0.0, "test_fraction": 0.0, **options})
    if spec.data.task in ("causal-lm", "seq2seq-pairs"):  # generating models: bits per byte of the texts, no labels
        return _rank_language_models(spec, candidates=candidates, budget=budget, confirm=confirm)
    names = _score_names(by, scores)
    check_confirm_options(confirm, confirm_strategy, confirm_valid_fraction)
    if spec.data.task == "detection":  # the boxes' crops as a classification set (transferkit.ranking.detection)
        from transferkit.ranking.detection import rank_detection

        return rank_detection(
            spec, candidates=candidates, budget=budget, by=by, names=names, folds=folds, confirm=confirm
        )
    splits, summary = prepare_splits(spec)
    labelled = [splits.train] + ([splits.valid] if splits.valid is not None else [])
    inputs = [item for part in labelled for item in part.inputs]
    labels = [label for part in labelled for label in part.labels or []]
    modality = splits.train.modality
    rows = [
        _score_within_budget(candidate, inputs, labels, spec, budget=budget, folds=folds, names=names)
        for candidate in _candidate_specs(candidates, modality)
    ]
    data_info = {
        "source": str(spec.data.path),
        "modality": modality,
        "examples": len(inputs),
        "classes": dict(sorted(Counter(labels).items())),
        "validation": summary,
    }
    ranking = _ranking_of(sort_rows(rows, by), by=by, budget=budget, data_info=data_info)
    if confirm:
        _confirm_top(
            ranking,
            confirm,
            data,
            config=config,
            options=options,
            strategy=confirm_strategy,
            valid_fraction=confirm_valid_fraction,
        )
    ranking.seconds = time.perf_counter() - started
    return ranking


def _rank_language_models(spec: RunSpec, **options: Any) -> Ranking:
    from transferkit.ranking.language_models import rank_language_models  # it imports ranker's row types

    return rank_language_models(spec, **options)


def _ranking_of(rows: list[CandidateScore], *, by: str, budget: Budget, data_info: dict[str, Any]) -> Ranking:
    """The ranking of sorted `rows`: the first usable one with a `by` score is recommended."""
    best = next((row for row in rows if row.usable and row.scores.get(by) is not None), None)
    return Ranking(
        rows=rows,
        by=by,
        recommended=best.spec if best else None,
        budget=budget,
        data=data_info,
        seconds=0.0,
        caveats=size_caveats(rows, best),
        score_pick=best.spec if best else None,
        picked_by=by,
    )


def _score_names(by: str, scores: Sequence[str] | None) -> list[str]:
    """The scores to compute: those asked for (default all), with `by` always among them."""
    if by not in SCORES:
        raise ConfigError(f"The 'by' option must be one of {', '.join(SCORES)}. Got '{by}'.")
    names = list(dict.fromkeys([*(scores or SCORES), by]))
    unknown = [name for name in names if name not in SCORES]
    if unknown:
        raise ConfigError(f"Unknown score(s) {', '.join(unknown)}; choose from {', '.join(SCORES)}.")
    return names


def _score_within_budget(
    candidate: str | Backbone,
    inputs: list[str],
    labels: list[str],
    spec: RunSpec,
    *,
    budget: Budget,
    folds: int,
    names: list[str],
) -> CandidateScore:
    """One candidate's scores and costs; one listed over the parameter budget is not worth loading."""
    if isinstance(candidate, str) and budget.max_params_m is not None:
        listed = parse_params(backbone_entry(candidate).parameters)
        if listed is not None and budget.violations(params_m=listed):
            return CandidateScore(spec=candidate, params_m=listed, over_budget=budget.violations(params_m=listed))
    row = _evaluate_candidate(candidate, inputs, labels, spec, folds=folds, names=names)
    if row.error is None:
        row.over_budget = budget.violations(latency_ms=row.latency_ms, memory_mb=row.memory_mb, params_m=row.params_m)
    return row


def _confirm_top(ranking: Ranking, count: int, data, *, config, options, strategy: str, valid_fraction: float) -> None:
    """Fine-tune the `count` best usable candidates and let validation accuracy make the pick."""
    top = [row.spec for row in ranking.rows if row.usable and row.scores.get(ranking.by) is not None][:count]
    ranking.confirmed = confirm_candidates(
        top, data, config=config, options=options, strategy=strategy, valid_fraction=valid_fraction
    )
    pick = best_confirmed(ranking.confirmed)
    if pick is not None:
        ranking.recommended = pick.spec
        ranking.picked_by = f"validation accuracy after {strategy} fine-tuning"
        measured = {item.spec for item in ranking.confirmed if item.valid_accuracy is not None}
        pick_row = next(row for row in ranking.rows if row.spec == pick.spec)
        ranking.caveats = size_caveats(ranking.rows, pick_row, measured)  # only candidates left unconfirmed
    ranking.caveats += confirm_caveats(ranking.confirmed, pick, ranking.score_pick)
