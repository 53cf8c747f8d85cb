"""`--strategy auto` (the default): a recorded prior and cross-validation on the training split pick the model.

The prior (`transferkit.strategies.policy`, built by benchmarks/default_policy.py from runs on public data)
ranks the strategies for the data's modality, backbone family and size. Candidates:

- probe, classic (TF-IDF / pixels + logistic regression), concat (embeddings next to the classic features):
  seconds on the cached embeddings, always scored, on repeated stratified folds while they cost little;
- two-stage fine-tuning (LP-FT) and, on text, contrastive body tuning (SetFit's objective): one fine-tune
  per fold, so each is scored only when the backbone can be fine-tuned, the run's options suit it, and its
  estimated cost fits in what is left of ``run.budget_minutes``. They claim the budget in the prior's order
  (most likely to win first). The estimate comes from one measured forward + backward pass on a real
  training batch, times the rows each fold's fit and the final fit train on over their epochs, plus the
  forward passes that score the folds. When it does not fit, the selection says so (``skipped``) and why;
  a candidate whose final fit alone fits stays eligible for the prior.

The decision (`transferkit.strategies.choice.decide_with_prior`): the prior's best eligible candidate,
unless cross-validation's best beats it by more than 2 standard errors of their paired fold differences.
At the tiny size bucket (8 or fewer examples in the smallest class) the prior decides and no fold
fine-tunes run. ``selection["decided_by"]`` and ``selection["why"]`` record which decided and why. The
winner is then trained on the whole training split and is the model that is saved.

Example::

    result = transferkit.fit("reviews.csv", text_column="review", label_column="score")
    result.metrics["selection"]["chosen"]  # 'probe'
"""

from __future__ import annotations

import copy
import importlib.util
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from transferkit.backbones.base import Backbone
from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.embedding_cache import extract_features
from transferkit.engine.targets import RegressionTarget
from transferkit.errors import ConfigError
from transferkit.models.boosting import fit_boosting, trees_modality
from transferkit.models.classic import ClassicBaseline
from transferkit.models.feature_model import FeatureModel, classic_model, concat_model
from transferkit.models.target import TrainingTarget
from transferkit.strategies.auto_regression import fit_regression
from transferkit.strategies.base import Strategy, StrategyResult, get_strategy, register_strategy
from transferkit.strategies.choice import (
    boosting_accuracy,
    cheap_scorers,
    decide_with_prior,
    folds_of,
    probe_accuracy,
    probe_weight_decay,
    repeated_folds,
    score_candidates,
)
from transferkit.strategies.contrastive import ContrastiveStrategy
from transferkit.strategies.finetune import FINETUNE_EPOCHS
from transferkit.strategies.policy import TINY, Prior, prior_for
from transferkit.strategies.search import run_search, space_for

ORDER = ("probe", "two-stage", "contrastive", "classic", "concat")
# Candidates that fine-tune the backbone once per fold, in the order they claim the budget, with the
# modalities they are scored on (None: all). Contrastive is text-only: its evidence is few-shot reviews,
# where it beat the probe by 0.11-0.15 accuracy at 8-32 per class (benchmarks/results/vs_setfit.json).
FINE_TUNED: dict[str, tuple[str, ...] | None] = {"two-stage": None, "contrastive": ("text",)}
FIT_OVERHEAD_SECONDS = 3.0  # Trainer set-up and the stage-1 probe of one two-stage fit
MEASURE_ROWS = 8
EVAL_STEP_FRACTION = 0.35  # a forward pass costs about a third of forward + backward
# Classic features that save without pickle (TF-IDF vocabulary, pixels) and concatenate with embeddings.
CLASSIC_MODALITIES = ("text", "image")
# Where a modality's classic model is gradient-boosted trees (tables: models/boosting.trees_modality, saved as
# allow-listed skops) there is nothing to concatenate (a table's embedding is its preprocessed columns).
PRESET_BUDGET_SCALE = {"fast": 1.0, "balanced": 1.0, "best": 4.0}  # times --budget-minutes
# A fit that no fold has timed can run several times its estimate on a loaded machine (measured: a contrastive
# final fit estimated at 71 s took 256 s on 2 cores at load 8). It no longer overruns the budget: Lightning's
# max_time stops it there (final_fit_limit) with the weights it reached. So an estimate that fits what is left is
# enough; a larger margin kept two-stage (0.80 on the demo's 400 reviews, against 0.75 for concat) out of the
# default 2-minute budget, where its final fit takes about 110 s.
UNSCORED_SAFETY = 1.0
MEASURE_PASSES = 2  # timed passes of the cost measurement: the fastest is kept (a busy neighbour slows one)
MEASURE_RESERVE = 0.1  # measuring a fine-tune's cost takes seconds: not started in the budget's last tenth
CHEAP_REPEATS = 3  # repeated folds for the candidates that train in seconds: paired differences need several
FINAL_FIT_FLOOR_SECONDS = 30.0  # the final fine-tune's time limit is never below this (see final_fit_limit)
CHEAP_BUDGET_SHARE = 0.25  # ... while they have used less than this share of the budget
CHEAP_FINAL_RESERVE_SECONDS = 10.0  # --search stops at least this long before the budget when a cheap candidate won
CHEAP_FINAL_FOLDS = 10  # ... or this many of its fold fits, when longer


def named_spec(spec: RunSpec, name: str) -> RunSpec:
    """The run's spec with strategy `name`; its other options unchanged, but for those `name` does not use (and
    --search, which tunes auto's choice)."""
    base = spec.with_overrides({"run.search": 0}) if spec.run.search else spec
    return base.with_strategy(name, source="strategy auto")


def final_fit_limit(spec: RunSpec, *, spent_seconds: float) -> RunSpec:
    """The spec of the final fine-tune, stopped by Lightning when the budget runs out: the cost estimate that
    admitted it was measured before other jobs may have slowed the machine down (a stop keeps the weights reached).
    A floor of FINAL_FIT_FLOOR_SECONDS leaves the chosen strategy room to train at all; the user's own
    --max-minutes wins when smaller."""
    budget = spec.run.budget_minutes * 60 * PRESET_BUDGET_SCALE[spec.run.preset]
    limit = max(budget - spent_seconds, FINAL_FIT_FLOOR_SECONDS) / 60
    if spec.run.max_minutes is not None:
        limit = min(limit, spec.run.max_minutes)
    return spec.with_overrides({"run.max_minutes": limit})


def measure_row_seconds(
    backbone: Backbone, inputs: list[str], *, num_classes: int, trained: list[torch.nn.Module] | None = None
) -> float:
    """Seconds per training example of a forward + backward pass of the backbone and a linear head.

    Only the `trained` modules (default: the whole backbone) get gradients, as in the fine-tune being
    estimated: the backward pass stops below them. Timed on `MEASURE_ROWS` real inputs after a two-input
    warm-up pass (the first backward pays one-off set-up costs); the fastest of `MEASURE_PASSES` passes counts.
    """
    flags = [p.requires_grad for p in backbone.parameters()]
    # Training-mode passes update batch-norm running statistics: put them back afterwards, bit for bit.
    buffers = [(buffer, buffer.clone()) for buffer in backbone.buffers()]
    for parameter in backbone.parameters():
        parameter.requires_grad_(trained is None)
    for module in trained or []:
        for parameter in module.parameters():
            parameter.requires_grad_(True)
    head = torch.nn.Linear(backbone.num_features, num_classes)
    backbone.train()

    def step(rows: list[str]) -> float:
        started = time.perf_counter()
        logits = head(backbone(backbone.load_batch(rows)))
        torch.nn.functional.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long)).backward()
        backbone.zero_grad(set_to_none=True)
        return time.perf_counter() - started

    try:
        step(inputs[:2])
        rows = inputs[:MEASURE_ROWS]
        seconds = min(step(rows) for _ in range(MEASURE_PASSES)) / len(rows)
    finally:
        backbone.eval()
        for parameter, flag in zip(backbone.parameters(), flags, strict=True):
            parameter.requires_grad_(flag)
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)
    return seconds


def estimate_fine_tune_seconds(
    *,
    row_seconds: float,
    fold_sizes: list[int],
    train_size: int,
    epochs_for: Callable[[int], int],
    reembed: bool = False,
) -> float:
    """Training passes of every fold's fine-tune and of the final one, the folds' evaluation and set-up costs.

    `epochs_for(rows)` is the strategy's epoch count for a fit on that many rows; `reembed` adds a forward
    pass over each fit's training rows (contrastive embeds them again with the tuned body for its head).

    Example:
        >>> estimate_fine_tune_seconds(row_seconds=0.1, fold_sizes=[10, 10], train_size=20, epochs_for=lambda n: 4)
        25.7
    """
    fit_sizes = [train_size - test for test in fold_sizes] + [train_size]
    trained_rows = sum(rows * epochs_for(rows) for rows in fit_sizes)
    forward_rows = sum(fold_sizes) + (sum(fit_sizes) if reembed else 0)
    overhead = FIT_OVERHEAD_SECONDS * len(fit_sizes)
    return round(row_seconds * (trained_rows + forward_rows * EVAL_STEP_FRACTION) + overhead, 3)


def estimate_two_stage_seconds(*, row_seconds: float, fold_sizes: list[int], train_size: int, epochs: int) -> float:
    """`estimate_fine_tune_seconds` at a fixed epoch count (two-stage's stage 1 reuses cached embeddings).

    Example:
        >>> estimate_two_stage_seconds(row_seconds=0.1, fold_sizes=[10, 10], train_size=20, epochs=4)
        25.7
    """
    return estimate_fine_tune_seconds(
        row_seconds=row_seconds, fold_sizes=fold_sizes, train_size=train_size, epochs_for=lambda _rows: epochs
    )


@register_strategy
class AutoStrategy(Strategy):
    """Choose among probe, two-stage, contrastive, classic and concat by cross-validation within a time budget."""

    name = "auto"

    def _fine_tune_scorer(self, name: str, backbone: Backbone, data: LabeledData, spec: RunSpec, run_dir: Path):
        pristine = copy.deepcopy(backbone)  # every fold fine-tunes its own copy of the pretrained weights
        strategy = get_strategy(name)

        def score(train: list[int], test: list[int]) -> float:
            with tempfile.TemporaryDirectory(dir=run_dir, prefix=f".auto-{name}-") as work:
                # Each fold's fit takes its classes and class weights from its own rows (no target passed): the
                # cross-validated accuracy is a single-label classification score.
                result = strategy.fit(
                    backbone=copy.deepcopy(pristine),
                    train=data.subset(train),
                    valid=None,
                    spec=spec,
                    run_dir=Path(work),
                )
                held_out = data.subset(test)
                proba = strategy.predict_proba(result, held_out, spec)
            predicted = np.array(result.model.class_names)[proba.argmax(1)]
            return float((predicted == np.array(held_out.labels)).mean())

        return score

    def select(
        self, *, backbone: Backbone, train: LabeledData, embeddings: np.ndarray, spec: RunSpec, run_dir: Path
    ) -> dict[str, Any]:
        started = time.perf_counter()
        budget = spec.run.budget_minutes * 60 * PRESET_BUDGET_SCALE[spec.run.preset]
        prior = prior_for(  # images: the prior recorded for their native resolution, when there is one
            train.modality, spec.backbone.spec or "", per_class=min(train.class_counts.values()), inputs=train.inputs
        )
        folds = folds_of(train, seed=spec.run.seed)
        scorers = cheap_scorers(train, embeddings, seed=spec.run.seed)
        skipped: dict[str, str] = {}
        if trees_modality(train.modality):
            skipped["concat"] = f"no classic features to concatenate for {train.modality} data (classic: boosted trees)"
            options, refused = tree_options(spec)
            scorers = {"probe": scorers["probe"]}
            if importlib.util.find_spec("skops") is None:  # the trees could not be saved without pickle
                skipped["classic"] = "gradient-boosted trees save through skops: pip install 'transferkit[tables]'"
            elif refused:
                skipped["classic"] = refused
            else:  # the trees with the run's class weights, as the final fit trains them
                scorers["classic"] = lambda a, b: boosting_accuracy(train, a, b, seed=spec.run.seed, params=options)
        elif train.modality not in CLASSIC_MODALITIES:
            skipped |= {name: f"no classic features for {train.modality} data" for name in ("classic", "concat")}
            scorers = {"probe": scorers["probe"]}
        scores = self._score_cheap(scorers, train, spec, budget=budget, started=started)
        eligible = list(scores)
        estimates: dict[str, float] = {}
        tiny = prior.bucket == TINY  # the prior decides: no fold fine-tunes, only the final fit must fit the budget
        for name in self._fine_tuned_in_prior_order(prior, train.modality):
            reason = self.not_scored_because(name, backbone, spec, spent=time.perf_counter() - started)
            if reason is None:
                estimate, row = self._estimate_seconds(name, backbone, train, spec, [] if tiny else folds)
                estimates[name] = round(estimate, 1)
                left = budget - (time.perf_counter() - started)
                if estimate * UNSCORED_SAFETY <= left and tiny:
                    eligible.append(name)
                    continue
                if estimate > left or tiny:
                    reason = self._over_budget(estimate, row, left, spec, fits=0 if tiny else len(folds))
                    final = self._estimate_seconds(name, backbone, train, spec, [], row=row)[0]
                    if (
                        not tiny and final * UNSCORED_SAFETY <= left
                    ):  # no evidence, but affordable: the prior may pick it
                        eligible.append(name)
                        reason += f"; its final fit alone (estimated {final:.0f} s) fits, so the prior may pick it"
            if reason is not None:
                skipped[name] = reason
                continue
            scorer = self._fine_tune_scorer(name, backbone, train, named_spec(spec, name), run_dir)
            scores |= score_candidates({name: scorer}, folds)
            eligible.append(name)
        ordered = {name: scores[name] for name in ORDER if name in scores}
        selection = decide_with_prior(ordered, prior=prior, eligible=eligible, folds=len(folds), skipped=skipped)
        selection |= {
            "budget_seconds": round(budget, 1),
            "seconds": round(time.perf_counter() - started, 2),
            "two_stage_estimate_seconds": estimates.get("two-stage"),
            "estimate_seconds": estimates,
        }
        return selection

    def _score_cheap(self, scorers, train: LabeledData, spec: RunSpec, *, budget: float, started: float):
        """The cheap candidates on repeated folds: more repeats (paired evidence) while they cost little."""
        scores = score_candidates(scorers, folds_of(train, seed=spec.run.seed))
        for repeat in range(1, CHEAP_REPEATS):
            if time.perf_counter() - started > CHEAP_BUDGET_SHARE * budget:
                break
            more = score_candidates(scorers, folds_of(train, seed=spec.run.seed + repeat))
            for name, score in more.items():
                values = scores[name]["folds"] + score["folds"]
                scores[name] |= {"mean": float(np.mean(values)), "std": float(np.std(values)), "folds": values}
                scores[name]["seconds"] = round(scores[name]["seconds"] + score["seconds"], 2)
        return scores

    @staticmethod
    def _fine_tuned_in_prior_order(prior: Prior, modality: str) -> list[str]:
        """The fine-tuned candidates for this modality, most likely to win first (they claim the budget in turn)."""
        names = [name for name, modalities in FINE_TUNED.items() if modalities is None or modality in modalities]
        return sorted(names, key=lambda n: prior.ranking.index(n) if n in prior.ranking else len(prior.ranking))

    @staticmethod
    def _over_budget(estimate: float, row: float, left: float, spec: RunSpec, *, fits: int) -> str:
        what = f"{fits} cross-validation fine-tunes and the final one" if fits else "the final fine-tune"
        margin = "" if fits or UNSCORED_SAFETY == 1 else f" (an untimed fit must fit {UNSCORED_SAFETY:g} times over)"
        return (
            f"estimated {estimate:.0f} s for {what} (measured: {row * 1000:.0f} ms per training example), but "
            f"{max(left, 0):.0f} s of the {spec.run.budget_minutes:g}-minute budget were left{margin}; raise "
            "--budget-minutes to include it"
        )

    def not_scored_because(self, name: str, backbone: Backbone, spec: RunSpec, *, spent: float) -> str | None:
        """Why fine-tuned candidate `name` cannot be cross-validated in this run, or None when it can."""
        if spec.run.preset == "fast":
            return "--preset fast: only the candidates that train in seconds on cached embeddings"
        if not backbone.trainable:
            return f"{backbone.spec} cannot be fine-tuned (frozen features only)"
        if spec.run.devices > 1 or spec.run.num_nodes > 1:  # one fine-tune per fold across processes: no
            return f"not cross-validated on multi-device runs; pass --strategy {name} to fine-tune"
        if spent >= (1 - MEASURE_RESERVE) * spec.run.budget_minutes * 60 * PRESET_BUDGET_SCALE[spec.run.preset]:
            return (
                f"the earlier candidates used (nearly) all of the {spec.run.budget_minutes:g}-minute budget; "
                "raise --budget-minutes"
            )
        try:
            get_strategy(name).check_options(backbone, named_spec(spec, name))
        except ConfigError as exc:
            return f"the run's options do not suit it: {exc}"
        return None

    def _estimate_seconds(
        self,
        name: str,
        backbone: Backbone,
        train: LabeledData,
        spec: RunSpec,
        folds: list[tuple[list[int], list[int]]],
        *,
        row: float | None = None,
    ) -> tuple[float, float]:
        """Estimated seconds of `name`'s fold and final fits, and the seconds per training row (measured unless
        given)."""
        inner = named_spec(spec, name)
        strategy = get_strategy(name)
        # Time only the groups the strategy trains (on images two-stage keeps the lowest ones frozen).
        plan = strategy.backbone_plan(backbone, inner)
        trained = [group.module for group in plan if group.unfreeze_epoch is not None]
        if row is None:
            row = measure_row_seconds(backbone, train.inputs, num_classes=len(train.class_names), trained=trained)
        contrastive = isinstance(strategy, ContrastiveStrategy)

        def epochs_for(rows: int) -> int:  # contrastive's default grows with the rows (every pair must meet)
            if inner.optim.epochs:
                return inner.optim.epochs
            if contrastive:
                return strategy.epochs_for(rows, inner.optim.batch_size or strategy.default_batch_size)
            return FINETUNE_EPOCHS

        estimate = estimate_fine_tune_seconds(
            row_seconds=row,
            fold_sizes=[len(test) for _, test in folds],
            train_size=len(train),
            epochs_for=epochs_for,
            reembed=contrastive,
        )
        return estimate, row

    def fit(
        self,
        *,
        backbone: Backbone,
        train: LabeledData,
        valid: LabeledData | None,
        spec: RunSpec,
        run_dir: Path,
        target: TrainingTarget | None = None,
    ) -> StrategyResult:
        target = self.target_for(target, spec, train)
        embeddings, _ = extract_features(
            backbone,
            train.inputs,
            cache_dir=spec.backbone.cache_dir,
            batch_size=spec.backbone.batch_size,
            description="Embedding training data",
        )
        if isinstance(target, RegressionTarget):  # a number: the probe's ridge vs regression trees, by R²
            return fit_regression(
                backbone=backbone,
                train=train,
                valid=valid,
                spec=spec,
                run_dir=run_dir,
                target=target,
                embeddings=embeddings,
            )
        selection = self.select(backbone=backbone, train=train, embeddings=embeddings, spec=spec, run_dir=run_dir)
        chosen = selection["chosen"]
        params: dict[str, Any] = {}
        if spec.run.search:
            search = self.search(
                selection, backbone=backbone, train=train, embeddings=embeddings, spec=spec, run_dir=run_dir
            )
            selection["search"] = search
            selection["seconds"] = round(selection["seconds"] + search.get("seconds", 0.0), 2)
            params = search["best_params"] if search.get("adopted") else {}
        final_started = time.perf_counter()
        class_names = target.output_names
        if chosen in ("probe", *FINE_TUNED):
            inner = named_spec(spec, chosen).with_overrides(searched_options(chosen, params, embeddings, train))
            if chosen in FINE_TUNED:
                inner = final_fit_limit(inner, spent_seconds=selection.get("seconds", 0.0))
            result = get_strategy(chosen).fit(
                backbone=backbone, train=train, valid=valid, spec=inner, run_dir=run_dir, target=target
            )
        elif chosen == "classic" and trees_modality(train.modality):
            model = fit_boosting(
                train.inputs,
                train.labels or [],
                seed=spec.run.seed,
                class_names=class_names,
                backbone=backbone,
                params=tree_options(spec)[0] | params,
            )
            result = StrategyResult(model=model, backbone_trained=False)
        elif chosen == "classic":
            baseline = ClassicBaseline(modality=train.modality, seed=spec.run.seed).fit(train.inputs, train.labels)
            result = StrategyResult(model=classic_model(baseline, class_names=class_names), backbone_trained=False)
        else:
            model = concat_model(backbone, train.inputs, embeddings, train.labels or [], class_names=class_names)
            result = StrategyResult(model=model, backbone_trained=False)
        # The budget covers the choice and this final fit: record both, so a run can be checked against it.
        selection["final_fit_seconds"] = round(time.perf_counter() - final_started, 2)
        selection["budget_used_seconds"] = round(selection.get("seconds", 0.0) + selection["final_fit_seconds"], 2)
        result.chosen, result.selection = chosen, selection
        return result

    def search(
        self,
        selection: dict[str, Any],
        *,
        backbone: Backbone,
        train: LabeledData,
        embeddings: np.ndarray,
        spec: RunSpec,
        run_dir: Path,
    ) -> dict[str, Any]:
        """--search: Optuna trials over the chosen candidate's options, on the folds its defaults were scored on,
        in what is left of the budget (strategies/search.py); the record metrics.json keeps."""
        chosen = selection["chosen"]
        space = space_for(chosen, train.modality)
        defaults = (selection.get("scores") or {}).get(chosen)
        if space is None:
            return {
                "requested": spec.run.search,
                "trials": 0,
                "adopted": False,
                "why": f"{chosen} has no searched options",
            }
        if defaults is None:
            why = f"{chosen} was not cross-validated in the budget, so there is no score of its defaults to beat"
            return {"requested": spec.run.search, "trials": 0, "adopted": False, "why": why, "line": f"Search: {why}."}
        budget = spec.run.budget_minutes * 60 * PRESET_BUDGET_SCALE[spec.run.preset]
        # Left for the final fit: a fine-tune's minimum; for a cheap candidate, CHEAP_FINAL_FOLDS of its measured
        # fold fits (the probe's final fit cross-validates its L2 on the way: at load 30 it took about a minute)
        per_fold = defaults.get("seconds", 0.0) / max(len(defaults["folds"]), 1)
        reserve = (
            FINAL_FIT_FLOOR_SECONDS
            if chosen in FINE_TUNED
            else max(CHEAP_FINAL_RESERVE_SECONDS, CHEAP_FINAL_FOLDS * per_fold)
        )
        left = budget - selection["seconds"] - reserve
        if left <= 0:
            why = f"the choice used the {spec.run.budget_minutes:g}-minute budget; raise --budget-minutes to search"
            return {"requested": spec.run.search, "trials": 0, "adopted": False, "why": why, "line": f"Search: {why}."}
        one_round = len(folds_of(train, seed=spec.run.seed))
        folds = repeated_folds(train, seed=spec.run.seed, repeats=max(len(defaults["folds"]) // one_round, 1))
        labels = np.array(train.labels or [])

        def scorer_for(params: dict[str, Any]):
            if chosen == "probe":
                return lambda a, b: probe_accuracy(embeddings, labels, a, b, c_factor=params["c_factor"])
            if chosen == "classic":
                options = tree_options(spec)[0] | params
                return lambda a, b: boosting_accuracy(train, a, b, seed=spec.run.seed, params=options)
            per_fit = max(left / one_round, 1.0) / 60  # a trial's fold fine-tunes stop at the deadline too
            inner = named_spec(spec, chosen).with_overrides(
                {"optim.lr": params["lr"], "optim.epochs": params["epochs"], "run.max_minutes": per_fit}
            )
            return self._fine_tune_scorer(chosen, backbone, train, inner, run_dir)

        return run_search(
            space=space,
            scorer_for=scorer_for,
            folds=folds[: len(defaults["folds"])],
            default_folds=defaults["folds"],
            trials=spec.run.search,
            timeout=left,
            seed=spec.run.seed,
        )

    def predict_proba(self, result: StrategyResult, data: LabeledData, spec: RunSpec) -> np.ndarray:
        chosen = result.chosen or ""
        model = result.model
        if chosen in ("probe", *FINE_TUNED):
            return get_strategy(chosen).predict_proba(result, data, spec)
        embeddings = None
        if isinstance(model, FeatureModel) and model.backbone is not None:  # concat: embeddings from the cache
            embeddings, _ = extract_features(
                model.backbone,
                data.inputs,
                cache_dir=spec.backbone.cache_dir,
                batch_size=spec.backbone.batch_size,
                description="Embedding evaluation data",
            )
        return model.predict_proba(data.inputs, batch_size=spec.backbone.batch_size, embeddings=embeddings)


def searched_options(chosen: str, params: dict[str, Any], embeddings: np.ndarray, train: LabeledData) -> dict:
    """The spec overrides that make the final fit use the options --search adopted ({} for the defaults)."""
    if not params:
        return {}
    if chosen == "probe":  # the head's weight decay matching the searched C
        return {"optim.weight_decay": probe_weight_decay(embeddings, train.labels or [], c_factor=params["c_factor"])}
    return {"optim.lr": params["lr"], "optim.epochs": params["epochs"]}


def tree_options(spec: RunSpec) -> tuple[dict[str, Any], str | None]:
    """The trees' options for the run's imbalance settings, or why the trees cannot honour them (not a candidate).

    Example:
        >>> tree_options(RunSpec.from_dict({"imbalance": {"class_weight": "balanced"}}))
        ({'class_weight': 'balanced'}, None)
    """
    imbalance = spec.imbalance
    refused = [
        flag
        for flag, used in (
            (f"--loss {imbalance.loss}", imbalance.loss != "cross-entropy"),
            (f"--resample {imbalance.resample}", imbalance.resample != "none"),
            (f"--class-weight {imbalance.class_weight}", str(imbalance.class_weight).startswith("effective")),
        )
        if used
    ]
    if refused:
        return {}, f"the gradient-boosted trees do not take {', '.join(refused)} (they take --class-weight balanced)"
    weight = imbalance.class_weight
    return ({} if weight == "none" else {"class_weight": weight}), None
