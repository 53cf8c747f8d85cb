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
At the tiny size bucket (8 or fewer examples in the smallest class) no fold fine-tunes run; the cheap
candidates' folds repeat up to choice.TINY_REPEATS times, and they override the prior only beyond 0.02 and 2
paired standard errors (plus an unscored pick's recorded lead). ``selection["decided_by"]`` and
``selection["why"]`` record which decided and why. The winner is then trained on the whole training split and is
the model that is saved; unless an ensemble of the cheap candidates, scored out of fold last
(strategies/auto_ensemble.py), beat it beyond its noise and its members' final fits fit the budget: then those
members are trained on the whole training split and saved together (models/ensemble.EnsembleModel, chosen
"ensemble").

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
from transferkit.embedding_cache import cached_count, extract_features
from transferkit.engine.targets import RegressionTarget
from transferkit.errors import ConfigError
from transferkit.models.boosting import fit_boosting, trees_modality
from transferkit.models.classic import ClassicBaseline
from transferkit.models.ensemble import EnsembleModel
from transferkit.models.feature_model import FeatureModel, classic_model, concat_model
from transferkit.models.target import TrainingTarget
from transferkit.strategies.auto_budget import (
    Deadline,
    budget_line,
    fold_limit_seconds,
    measure_forward_seconds,
    measure_save_seconds,
    median_row_seconds,
    over_budget_line,
    save_reserve,
    score_repeated_within_deadline,
    scoring_reserve,
)
from transferkit.strategies.auto_ensemble import ensemble_record, saved_weights
from transferkit.strategies.auto_regression import fit_regression
from transferkit.strategies.base import Strategy, StrategyResult, get_strategy, register_strategy
from transferkit.strategies.choice import (
    TINY_BUDGET_SHARE,
    TINY_MIN_MARGIN,
    TINY_REPEATS,
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
from transferkit.strategies.policy import TINY, Prior, prior_for, size_bucket
from transferkit.strategies.search import run_search, space_for

ORDER = ("probe", "two-stage", "contrastive", "classic", "concat")
# Candidates that fine-tune the backbone once per fold, in the order they claim the budget, with the
# modalities they are scored on (None: all). Contrastive is text-only: its evidence is few-shot reviews,
# where it beat the probe by 0.11-0.15 accuracy at 8-32 per class (benchmarks/results/vs_setfit.json).
FINE_TUNED: dict[str, tuple[str, ...] | None] = {"two-stage": None, "contrastive": ("text",)}
FIT_OVERHEAD_SECONDS = 3.0  # Trainer set-up and the stage-1 probe of one two-stage fit
EVAL_STEP_FRACTION = 0.35  # a forward pass costs about a third of forward + backward
# Classic features that save without pickle (TF-IDF vocabulary, pixels) and concatenate with embeddings.
CLASSIC_MODALITIES = ("text", "image")
# Where a modality's classic model is gradient-boosted trees (tables: models/boosting.trees_modality, saved as
# allow-listed skops) there is nothing to concatenate (a table's embedding is its preprocessed columns).
PRESET_BUDGET_SCALE = {"fast": 1.0, "balanced": 1.0, "best": 4.0}  # times --budget-minutes
# A fit that no fold has timed can run several times its estimate on a loaded machine (measured: a contrastive
# final fit estimated at 71 s took 256 s on 2 cores at load 8). It no longer overruns the budget: Lightning's
# max_time stops it there (final_fit_limit) with the weights it reached. And a fine-tune whose whole schedule does
# not fit what is left trains fewer epochs, its schedule completed (scaled_epochs), down to this share of them:
# below it the frozen candidates are saved instead. Two-stage on the demo's reviews and on digits, scored after
# each of its 4 epochs: benchmarks/results/demo_default.json "falloff".
MIN_SCHEDULE_SHARE = 0.5
MEASURE_RESERVE = 0.1  # measuring a fine-tune's cost takes seconds: not started in the budget's last tenth
CHEAP_REPEATS = 3  # repeated folds for the candidates that train in seconds: paired differences need several
FINAL_FIT_FLOOR_SECONDS = 10.0  # the final fine-tune's time limit is never below this (see final_fit_limit)
FOLD_LIMIT_HIT = 0.95  # a fold fine-tune that ran this share of its time limit was stopped by it
CHEAP_BUDGET_SHARE = 0.25  # ... while they have used less than this share of the budget
CHEAP_FINAL_RESERVE_SECONDS = 10.0  # --search stops at least this long before the budget when a cheap candidate won
CHEAP_FINAL_FOLDS = 10  # ... or this many of its fold fits, when longer


def named_spec(spec: RunSpec, name: str) -> RunSpec:
    """The run's spec with strategy `name`; its other options unchanged, but for those `name` does not use (and
    --search, which tunes auto's choice)."""
    base = spec.with_overrides({"run.search": 0}) if spec.run.search else spec
    return base.with_strategy(name, source="strategy auto")


def budget_seconds(spec: RunSpec) -> float:
    """--budget-minutes in seconds, times the preset's scale (best: four times)."""
    return spec.run.budget_minutes * 60 * PRESET_BUDGET_SCALE[spec.run.preset]


def final_fit_limit(spec: RunSpec, *, spent_seconds: float, reserve: float = 0.0) -> RunSpec:
    """The spec of the final fine-tune, stopped by Lightning when the budget runs out (less `reserve` seconds kept
    for saving): the cost estimate that admitted it was measured before other jobs may have slowed the machine
    down (a stop keeps the weights reached). A floor of FINAL_FIT_FLOOR_SECONDS leaves the chosen strategy room to
    train at all; the user's own --max-minutes wins when smaller."""
    limit = max(budget_seconds(spec) - spent_seconds - reserve, FINAL_FIT_FLOOR_SECONDS) / 60
    if spec.run.max_minutes is not None:
        limit = min(limit, spec.run.max_minutes)
    return spec.with_overrides({"run.max_minutes": limit})


def measure_row_seconds(
    backbone: Backbone, inputs: list[str], *, num_classes: int, trained: list[torch.nn.Module] | None = None
) -> float:
    """Seconds per training example of a forward + backward pass of the backbone and a linear head.

    Only the `trained` modules (default: the whole backbone) get gradients, as in the fine-tune being
    estimated: the backward pass stops below them. Timed after a two-input warm-up pass (the first backward pays
    one-off set-up costs) on several batches of distinct rows spread over the data; their median counts
    (`auto_budget.median_row_seconds`): one pass on the first rows read 74-104 ms per review on the demo.
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
        seconds = median_row_seconds(step, inputs)
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


def scaled_epochs(schedule: dict[str, Any], left: float) -> int:
    """The most epochs of a final fit's `schedule` (its epochs and estimated seconds at 1, 2, ... of them) whose
    estimate fits `left` seconds (0: not even one).

    Example:
        >>> scaled_epochs({"epochs": 4, "estimate_seconds": [31.0, 59.0, 87.0, 115.0]}, 90.0)
        3
    """
    return sum(1 for seconds in schedule["estimate_seconds"] if seconds <= left)


@register_strategy
class AutoStrategy(Strategy):
    """Choose among probe, two-stage, contrastive, classic and concat by cross-validation within a time budget."""

    name = "auto"

    def __init__(self, *, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock  # the deadline's clock (a test passes a fake one)
        self.run_started: float | None = None  # see budget_from
        self.held_out: list[str] = []
        self.fine_tune_scoring = 0.0  # seconds a fine-tuned model's scoring of the cached held-out rows adds
        self.valid_rows = 0  # the final fit's validation rows (fit sets them)

    def _fine_tune_scorer(
        self,
        name: str,
        backbone: Backbone,
        data: LabeledData,
        spec: RunSpec,
        run_dir: Path,
        *,
        limit: Callable[[], float] | None = None,
        stopped: list[int] | None = None,
    ):
        """A fold scorer that fine-tunes `name` on the fold's rows. `limit()` gives each fold its wall-clock limit
        (Lightning's max_time) when it starts; a fold that ran into it is counted in `stopped`."""
        pristine = copy.deepcopy(backbone)  # every fold fine-tunes its own copy of the pretrained weights
        strategy = get_strategy(name)

        def score(train: list[int], test: list[int]) -> float:
            fold_spec, seconds = spec, None
            if limit is not None:
                seconds = limit() if spec.run.max_minutes is None else min(limit(), spec.run.max_minutes * 60)
                fold_spec = spec.with_overrides({"run.max_minutes": seconds / 60})
            started = self.clock()
            with tempfile.TemporaryDirectory(dir=run_dir, prefix=f".auto-{name}-") as work:
                # Each fold's fit takes its classes and class weights from its own rows (no target passed): the
                # cross-validated accuracy is a single-label classification score.
                result = strategy.fit(
                    backbone=copy.deepcopy(pristine),
                    train=data.subset(train),
                    valid=None,
                    spec=fold_spec,
                    run_dir=Path(work),
                )
                if seconds is not None and stopped is not None and self.clock() - started >= FOLD_LIMIT_HIT * seconds:
                    stopped.append(len(train))  # Lightning's max_time stopped it: the fold's score is a lower bound
                held_out = data.subset(test)
                proba = strategy.predict_proba(result, held_out, spec)
            predicted = np.array(result.model.class_names)[proba.argmax(1)]
            return float((predicted == np.array(held_out.labels)).mean())

        return score

    def select(
        self,
        *,
        backbone: Backbone,
        train: LabeledData,
        embeddings: np.ndarray,
        spec: RunSpec,
        run_dir: Path,
        deadline: Deadline | None = None,
        reserve: float = 0.0,
    ) -> dict[str, Any]:
        """The choice (metrics.json's "selection"), spending from `deadline` (a new one of the run's budget unless
        given) and leaving `reserve` seconds of it for saving the model."""
        deadline = deadline or Deadline(budget_seconds(spec), clock=self.clock)
        started = time.perf_counter()
        prior = prior_for(  # images: the prior recorded for their native resolution, when there is one
            train.modality, spec.backbone.spec or "", per_class=min(train.class_counts.values()), inputs=train.inputs
        )
        folds = folds_of(train, seed=spec.run.seed)
        scorers, skipped = self._cheap_candidates(train, embeddings, spec)
        scores = self._score_cheap(scorers, train, spec, deadline=deadline, skipped=skipped, keep=reserve)
        eligible = list(dict.fromkeys(["probe", *scores]))  # the probe is the fallback, scored or not
        estimates: dict[str, float] = {}
        finals: dict[str, float] = {}
        schedules: dict[str, dict[str, Any]] = {}  # each fine-tune's final fit: its epochs, estimated by epochs
        tiny = prior.bucket == TINY  # the prior decides: no fold fine-tunes, only the final fit must fit the budget
        measured: dict[frozenset[int], float] = {}  # seconds per row by the parameters trained: measured once
        for name in self._fine_tuned_in_prior_order(prior, train.modality):
            # the reserves count as spent: no cost measurement (seconds on a busy machine) once they leave nothing
            reason = self.not_scored_because(name, backbone, spec, spent=deadline.spent() + reserve)
            if reason is None:
                estimate, row = self._estimate_seconds(name, backbone, train, spec, [] if tiny else folds, measured)
                estimates[name] = round(estimate, 1)
                schedules[name] = self._schedule(name, backbone, train, spec, row)
                finals[name] = schedules[name]["estimate_seconds"][-1]
                left = deadline.left() - reserve - self.fine_tune_scoring  # its model scores every held-out row
                if estimate <= left and tiny:
                    eligible.append(name)
                    continue
                if estimate > left or tiny:
                    reason = self._over_budget(estimate, row, left, spec, fits=0 if tiny else len(folds))
                    if self.fine_tune_scoring:  # a fine-tuned model scores every held-out row: said, as it may decide
                        reason += (
                            f" (after {self.fine_tune_scoring:.0f} s kept for its scoring of the cached held-out rows)"
                        )
                    epochs, full = scaled_epochs(schedules[name], left), schedules[name]["epochs"]
                    if epochs >= MIN_SCHEDULE_SHARE * full:  # no evidence, but the prior may pick it
                        eligible.append(name)
                        reason += self._eligible_because(schedules[name], epochs, tiny=tiny)
            if reason is not None:
                skipped[name] = reason
                continue
            keep = finals[name] + reserve + self.fine_tune_scoring
            scores |= self._score_fine_tune(
                name, backbone, train, spec, run_dir, folds=folds, deadline=deadline, keep=keep
            )
            eligible.append(name)
        ordered = {name: scores[name] for name in ORDER if name in scores}
        selection = decide_with_prior(ordered, prior=prior, eligible=eligible, folds=len(folds), skipped=skipped)
        if not trees_modality(train.modality):  # the trees' folds are not members (fewer than 2 members: no record)
            ensemble = self._ensemble(
                selection, finals, train, embeddings, spec, folds, deadline, reserve, tiny=tiny, prior=prior
            )
            selection |= {"ensemble": ensemble} if ensemble else {}
        selection |= {
            "budget_seconds": round(deadline.seconds, 1),
            "seconds": round(time.perf_counter() - started, 2),
            "two_stage_estimate_seconds": estimates.get("two-stage"),
            "estimate_seconds": estimates,
            "final_estimate_seconds": finals,
            "schedules": schedules,
            "cut": deadline.cut,
        }
        return selection

    @staticmethod
    def _ensemble(
        selection, finals, train, embeddings, spec, folds, deadline: Deadline, reserve: float, tiny=False, prior=None
    ):
        """An ensemble of the cheap candidates (strategies/auto_ensemble.py), scored last and only when one more
        round of their folds fits before the chosen model's final fit and the reserve for saving; at the tiny size
        it must also win by TINY_MIN_MARGIN, as any candidate overriding the prior there."""
        scores, chosen = selection["scores"], selection["chosen"]
        per_fold = scores[chosen]["seconds"] / len(scores[chosen]["folds"]) if chosen in scores else 0.0
        final = finals.get(chosen, CHEAP_FINAL_FOLDS * per_fold)
        return ensemble_record(
            scores,
            chosen=chosen,
            data=train,
            embeddings=embeddings,
            folds=folds,
            affordable=lambda seconds: deadline.left() - reserve - final > seconds,
            seed=spec.run.seed,
            min_margin=TINY_MIN_MARGIN if tiny else 0.0,
            prior=prior,  # an unscored pick of the prior: judged against its best scored candidate plus the pick's lead
        )

    def _cheap_candidates(self, train: LabeledData, embeddings: np.ndarray, spec: RunSpec):
        """The candidates that train in seconds on this data (scorers by name), and those left out with why."""
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
        return scorers, skipped

    def _score_cheap(
        self, scorers, train: LabeledData, spec: RunSpec, *, deadline: Deadline, skipped: dict, keep: float = 0.0
    ):
        """The cheap candidates on repeated folds: more repeats (paired evidence) while they cost little. Folds stop
        at the deadline (less `keep` seconds, the reserves): a candidate cut short says so in `deadline.cut`, one with
        no fold in `skipped` too."""
        tiny = size_bucket(min(train.class_counts.values())) == TINY  # no fold fine-tunes: the cheap folds repeat more
        repeats, share = (TINY_REPEATS, TINY_BUDGET_SHARE) if tiny else (CHEAP_REPEATS, CHEAP_BUDGET_SHARE)
        scores, _ = score_repeated_within_deadline(
            scorers,
            lambda repeat: folds_of(train, seed=spec.run.seed + repeat),
            deadline=deadline,
            keep=keep,
            skipped=skipped,
            repeats=repeats,
            share=share,
        )
        return scores

    def _score_fine_tune(
        self,
        name: str,
        backbone: Backbone,
        train: LabeledData,
        spec: RunSpec,
        run_dir: Path,
        *,
        folds: list[tuple[list[int], list[int]]],
        deadline: Deadline,
        keep: float,
    ) -> dict[str, dict[str, Any]]:
        """`name` fine-tuned on each fold while more than `keep` seconds (its own final fit and the reserve for
        saving) are left; each fold stops at its share of what is left (Lightning's max_time)."""
        started: list[int] = []
        stopped: list[int] = []

        def limit() -> float:
            started.append(1)
            return fold_limit_seconds(deadline, keep=keep, folds_left=len(folds) - len(started) + 1)

        scorer = self._fine_tune_scorer(
            name, backbone, train, named_spec(spec, name), run_dir, limit=limit, stopped=stopped
        )
        scores = score_candidates({name: scorer}, folds, stop=lambda _name: deadline.passed(keep=keep))
        ran = len(scores[name]["folds"]) if name in scores else 0
        cut = []
        if ran < len(folds):
            cut.append(f"cross-validated on {ran} of {len(folds)} folds (the rest would have eaten into its final fit)")
        if stopped:
            cut.append(f"{len(stopped)} fold fine-tune(s) stopped at their time limit, so its score is a lower bound")
        if cut:
            deadline.cut[name] = "; ".join(cut)
        return scores

    @staticmethod
    def _fine_tuned_in_prior_order(prior: Prior, modality: str) -> list[str]:
        """The fine-tuned candidates for this modality, most likely to win first (they claim the budget in turn)."""
        names = [name for name, modalities in FINE_TUNED.items() if modalities is None or modality in modalities]
        return sorted(names, key=lambda n: prior.ranking.index(n) if n in prior.ranking else len(prior.ranking))

    @staticmethod
    def _over_budget(estimate: float, row: float, left: float, spec: RunSpec, *, fits: int) -> str:
        what = f"{fits} cross-validation fine-tunes and the final one" if fits else "the final fine-tune"
        return (
            f"estimated {estimate:.0f} s for {what} (measured: {row * 1000:.0f} ms per training example), but "
            f"{max(left, 0):.0f} s of the {spec.run.budget_minutes:g}-minute budget were left; raise "
            "--budget-minutes to include it"
        )

    @staticmethod
    def _eligible_because(schedule: dict[str, Any], epochs: int, *, tiny: bool) -> str:
        """Why a fine-tune that could not be cross-validated stays eligible for the prior (`epochs` of its final fit's
        epochs fit what is left)."""
        full, estimates = schedule["epochs"], schedule["estimate_seconds"]
        if epochs == full:
            return f"; its final fit alone (estimated {estimates[-1]:.0f} s) fits, so the prior may pick it"
        return (
            f"; {'its final fit' if tiny else 'its final fit alone'} (estimated {estimates[-1]:.0f} s) does not fit, "
            f"but {epochs} of its {full} epochs (estimated {estimates[epochs - 1]:.0f} s) do, so the prior may pick "
            "it with a shorter schedule"
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
        measured: dict[frozenset[int], float] | None = None,
    ) -> tuple[float, float]:
        """Estimated seconds of `name`'s fold and final fits, and the seconds per training row: measured, unless
        `measured` holds a measurement of the same trained modules (on text two-stage and contrastive train the
        whole body: one measurement serves both)."""
        inner = named_spec(spec, name)
        # Time only the groups the strategy trains (on images two-stage keeps the lowest ones frozen).
        plan = get_strategy(name).backbone_plan(backbone, inner)
        trained = [group.module for group in plan if group.unfreeze_epoch is not None]
        measured = {} if measured is None else measured
        key = frozenset(id(parameter) for module in trained for parameter in module.parameters())
        if key not in measured:
            measured[key] = measure_row_seconds(
                backbone, train.inputs, num_classes=len(train.class_names), trained=trained
            )
        estimate = estimate_fine_tune_seconds(
            row_seconds=measured[key],
            fold_sizes=[len(test) for _, test in folds],
            train_size=len(train),
            epochs_for=lambda rows: self._epochs(name, inner, rows),
            reembed=isinstance(get_strategy(name), ContrastiveStrategy),
        )
        return estimate, measured[key]

    @staticmethod
    def _epochs(name: str, inner: RunSpec, rows: int) -> int:
        """`name`'s epochs for a fit on `rows` rows: --epochs, else its default (contrastive's grows with the rows:
        every pair must meet)."""
        strategy = get_strategy(name)
        if inner.optim.epochs:
            return inner.optim.epochs
        if isinstance(strategy, ContrastiveStrategy):
            return strategy.epochs_for(rows, inner.optim.batch_size or strategy.default_batch_size)
        return FINETUNE_EPOCHS

    def _schedule(self, name: str, backbone: Backbone, train: LabeledData, spec: RunSpec, row: float) -> dict:
        """`name`'s final fit on every training row: its epochs and its estimated seconds at 1, 2, ... of them."""
        full = self._epochs(name, named_spec(spec, name), len(train))
        reembed = isinstance(get_strategy(name), ContrastiveStrategy)
        validating = self.valid_rows * row * EVAL_STEP_FRACTION  # the validation rows, scored after every epoch
        seconds = [
            estimate_fine_tune_seconds(
                row_seconds=row, fold_sizes=[], train_size=len(train), epochs_for=lambda _rows, k=k: k, reembed=reembed
            )
            + k * validating
            for k in range(1, full + 1)
        ]
        return {"epochs": full, "estimate_seconds": [round(value, 1) for value in seconds]}

    def budget_from(self, started: float, *, held_out: list[str] | None = None) -> None:
        """Count the budget from `started` (the `fit` call's start, on this strategy's clock: loading the data and
        the backbone count too) and keep back what scoring the `held_out` inputs after the fit will cost."""
        self.run_started, self.held_out = started, list(held_out or [])

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
        self.valid_rows = len(valid) if valid is not None else 0
        deadline = Deadline(budget_seconds(spec), clock=self.clock, started=self.run_started)
        loading = deadline.spent()  # loading the data and the backbone, when `fit` handed its start over
        embedding_started = self.clock()
        embeddings, _ = extract_features(
            backbone,
            train.inputs,
            cache_dir=spec.backbone.cache_dir,
            batch_size=spec.backbone.batch_size,
            description="Embedding training data",
        )
        record: dict[str, Any] = {
            "loading_seconds": round(loading, 2) if self.run_started is not None else None,
            "embedding_seconds": round(self.clock() - embedding_started, 2),
        }
        record |= self._scoring_reserve(backbone, train, spec)
        record["reserve_seconds"] = save_reserve(measure_save_seconds(backbone, run_dir))
        reserve = record["reserve_seconds"] + record["scoring_reserve_seconds"]  # kept back from the final fit
        if deadline.left() <= reserve:
            record["over_budget"] = over_budget_line(deadline, record)
        data = {"backbone": backbone, "train": train, "spec": spec, "run_dir": run_dir, "embeddings": embeddings}
        if isinstance(target, RegressionTarget):  # a number: the probe's ridge vs regression trees, by R²
            result = fit_regression(valid=valid, target=target, deadline=deadline, reserve=reserve, **data)
        else:
            result = self._fit_classes(valid=valid, target=target, deadline=deadline, reserve=reserve, **data)
        selection = (result.selection or {}) | record
        if not selection.get("scores"):  # no fold ran in the budget (e.g. over it): what the report and card read
            selection |= {"folds": 0, "runner_up": None, "margin": 0.0}
        # The budget covers the whole fit, the reserves included: what it paid for, so a run can be checked
        selection |= {"budget_used_seconds": round(deadline.spent(), 2), "cut": deadline.cut}
        selection.setdefault("budget_seconds", round(deadline.seconds, 1))
        selection["budget_line"] = budget_line(selection)
        result.chosen, result.selection = selection["chosen"], selection
        return result

    def _scoring_reserve(self, backbone: Backbone, train: LabeledData, spec: RunSpec) -> dict[str, Any]:
        """What scoring the held-out rows after the fit will cost, from one measured fp32 forward pass per row: a
        frozen model embeds the rows the cache lacks (`scoring_reserve_seconds`, kept back from every stage); a
        fine-tuned one runs every row through its new weights (the rest, `fine_tune_scoring`, its final fit keeps
        back too)."""
        rows = len(self.held_out)
        if not rows:
            return {"held_out_rows": 0, "scoring_reserve_seconds": 0.0}
        cached = cached_count(backbone, self.held_out, cache_dir=spec.backbone.cache_dir, runtime="torch")
        if cached == rows and not backbone.trainable:
            return {"held_out_rows": rows, "held_out_cached": cached, "scoring_reserve_seconds": 0.0}
        forward = measure_forward_seconds(backbone, train.inputs)
        self.fine_tune_scoring = scoring_reserve(cached, forward) if backbone.trainable else 0.0
        return {
            "held_out_rows": rows,
            "held_out_cached": cached,
            "scoring_reserve_seconds": scoring_reserve(rows - cached, forward),
            "fine_tune_scoring_seconds": self.fine_tune_scoring,
        }

    def _fit_classes(
        self, *, valid: LabeledData | None, target: TrainingTarget, deadline: Deadline, reserve: float, **data: Any
    ) -> StrategyResult:
        """Choose among the classifiers (and --search their options) in the budget, then fit the choice."""
        selection = self.select(deadline=deadline, reserve=reserve, **data)
        params: dict[str, Any] = {}
        if data["spec"].run.search:
            search = self.search(selection, deadline=deadline, reserve=reserve, **data)
            selection["search"] = search
            selection["seconds"] = round(selection["seconds"] + search.get("seconds", 0.0), 2)
            params = search["best_params"] if search.get("adopted") else {}
        final_started = time.perf_counter()
        fit = {"valid": valid, "target": target, "deadline": deadline, "reserve": reserve, **data}
        result = self._fit_ensemble(selection, searched=bool(params), **fit)
        result = result or self._final_fit(selection, params=params, **fit)
        selection["final_fit_seconds"] = round(time.perf_counter() - final_started, 2)
        result.selection = selection
        return result

    def _fit_ensemble(
        self, selection: dict[str, Any], *, searched: bool, deadline: Deadline, reserve: float, **fit: Any
    ) -> StrategyResult | None:
        """The ensemble's members fitted on every training row and saved as one model, when it beat the choice
        (auto_ensemble.saved_weights) and their final fits (each priced at CHEAP_FINAL_FOLDS of its measured fold
        fits) fit what is left of the budget; else None (the single choice is fitted) and the record says why."""
        record = selection.get("ensemble")
        if record is None:
            return None
        weights, why = saved_weights(record)
        if weights and searched:
            why = f"--search adopted tuned options for {selection['chosen']}, judged against its defaults only"
        if why is None:
            scores = selection["scores"]
            needed = sum(CHEAP_FINAL_FOLDS * scores[n]["seconds"] / max(len(scores[n]["folds"]), 1) for n in weights)
            left = deadline.left() - reserve
            record["members_final_estimate_seconds"] = round(needed, 1)
            if needed > left:
                why = (
                    f"its members' final fits (about {needed:.0f} s) did not fit the {max(left, 0):.0f} s left of the "
                    f"budget: {selection['chosen']} was saved alone"
                )
        if why is not None:
            record |= {"saved": False, "why_not_saved": why}
            if record.get("would_win"):  # it won out of fold: the console, report and card say why it is not saved
                selection["why"] += (
                    f"; an ensemble of {', '.join(record['members'])} beat it out of fold, not saved: {why}"
                )
            return None
        members = {}
        for name in weights:  # each fitted as auto fits it when it is chosen alone
            member = self._final_fit(selection | {"chosen": name}, params={}, deadline=deadline, reserve=reserve, **fit)
            members[name] = member.model
        model = EnsembleModel(members, weights=list(weights.values()), class_names=fit["target"].output_names)
        self._choose_ensemble(selection, record, model)
        return StrategyResult(model=model, backbone_trained=False)

    @staticmethod
    def _choose_ensemble(selection: dict[str, Any], record: dict[str, Any], model: EnsembleModel) -> None:
        """The selection of a saved ensemble: chosen "ensemble", its out-of-fold score among the candidates', and
        the single choice it replaced kept under "single"."""
        single = {key: selection.get(key) for key in ("chosen", "decided_by", "why", "margin", "runner_up")}
        line = model.describe()
        record.update(saved=True, line=line, why_saved=f"{record['why']}; its members' final fits fit the budget")
        folds = record["folds"]
        selection["scores"]["ensemble"] = {
            "mean": record["mean"],
            "std": round(float(np.std(folds)), 4),
            "folds": folds,
        }
        selection |= {
            "single": single,
            "chosen": "ensemble",
            "decided_by": "cross-validation (ensemble)",
            "why": f"{line} was saved: {record['why']}, instead of {single['chosen']} ({single['decided_by']})",
            "margin": round(record["paired"]["mean"], 4),
            "runner_up": single["chosen"],
        }

    def _final_fit(
        self,
        selection: dict[str, Any],
        *,
        params: dict[str, Any],
        backbone: Backbone,
        train: LabeledData,
        valid: LabeledData | None,
        spec: RunSpec,
        run_dir: Path,
        target: TrainingTarget,
        embeddings: np.ndarray,
        deadline: Deadline,
        reserve: float,
    ) -> StrategyResult:
        """The chosen candidate fitted on every training row in what is left of the budget (less `reserve`)."""
        constant = (spec.optim.schedule or "constant") == "constant" and not spec.optim.warmup_epochs
        chosen, epochs = self._affordable_choice(
            selection,
            deadline=deadline,
            reserve=reserve + self.fine_tune_scoring,
            searched=bool(params),
            constant=constant and selection["chosen"] == "two-stage",  # contrastive: warm-up, then cosine
        )
        class_names = target.output_names
        if chosen in ("probe", *FINE_TUNED):
            inner = named_spec(spec, chosen).with_overrides(searched_options(chosen, params, embeddings, train))
            if epochs is not None:  # a shorter schedule, completed, where the whole one does not fit
                inner = inner.with_overrides({"optim.epochs": epochs})
            if (
                chosen == "probe"
                and not params
                and self._probe_cv_too_slow(selection, deadline=deadline, reserve=reserve)
            ):
                inner = inner.with_overrides(searched_options("probe", {"c_factor": 1.0}, embeddings, train))
            # Lightning stops the fit (a fine-tune, or the probe's L-BFGS head) at what is left less the reserves
            keep = reserve + (self.fine_tune_scoring if chosen in FINE_TUNED else 0.0)
            inner = final_fit_limit(inner, spent_seconds=deadline.spent(), reserve=keep)
            return get_strategy(chosen).fit(
                backbone=backbone, train=train, valid=valid, spec=inner, run_dir=run_dir, target=target
            )
        if chosen == "classic" and trees_modality(train.modality):
            model = fit_boosting(
                train.inputs,
                train.labels or [],
                seed=spec.run.seed,
                class_names=class_names,
                backbone=backbone,
                params=tree_options(spec)[0] | params,
            )
            return StrategyResult(model=model, backbone_trained=False)
        if chosen == "classic":
            baseline = ClassicBaseline(modality=train.modality, seed=spec.run.seed).fit(train.inputs, train.labels)
            return StrategyResult(model=classic_model(baseline, class_names=class_names), backbone_trained=False)
        model = concat_model(backbone, train.inputs, embeddings, train.labels or [], class_names=class_names)
        return StrategyResult(model=model, backbone_trained=False)

    @staticmethod
    def _affordable_choice(
        selection: dict[str, Any],
        *,
        deadline: Deadline,
        reserve: float,
        searched: bool = False,
        constant: bool = False,
    ) -> tuple[str, int | None]:
        """The candidate to fit and its epochs (None: its own): a chosen fine-tune whose whole schedule no longer
        fits what is left (the machine slowed down after its estimate, or it was never cross-validated) trains the
        most epochs that fit, its schedule completed, down to MIN_SCHEDULE_SHARE of them; below that the probe is
        trained instead. Both are recorded (`selection["scaled"]`, `selection["cut"]`). With a `constant` learning
        rate (two-stage's) there is no schedule to cut: it is given all its epochs and max_time stops it at the
        deadline (two-stage's test accuracy rises with every epoch: results/demo_default.json "falloff")."""
        chosen = selection["chosen"]
        schedule = (selection.get("schedules") or {}).get(chosen)
        if chosen not in FINE_TUNED or schedule is None or searched:  # --search's epochs: max_time guards them
            return chosen, None
        left = deadline.left() - reserve
        epochs, full = scaled_epochs(schedule, left), schedule["epochs"]
        estimates = schedule["estimate_seconds"]
        least = int(np.ceil(MIN_SCHEDULE_SHARE * full))
        if epochs == full:
            return chosen, None
        if epochs >= least:
            selection.setdefault("scaled", {})[chosen] = {
                "epochs": epochs,
                "of": full,
                "estimate_seconds": estimates[epochs - 1],
                "full_estimate_seconds": estimates[-1],
                "left_seconds": round(left, 1),
                "why": f"{epochs} of its {full} epochs, schedule completed (estimated {estimates[epochs - 1]:.0f} s): "
                f"all {full} (estimated {estimates[-1]:.0f} s) did not fit the {max(left, 0):.0f} s left",
            }
            if constant:  # nothing to complete: the time left after those epochs trains more
                selection["scaled"][chosen]["why"] = (
                    f"{epochs} of its {full} epochs fit surely (estimated {estimates[epochs - 1]:.0f} s; all "
                    f"{full}: {estimates[-1]:.0f} s, {max(left, 0):.0f} s left); with a constant learning rate it "
                    "trains on toward all of them until the deadline stops it"
                )
                return chosen, full  # all its epochs, max_time stops it: an early last epoch must not leave time unused
            return chosen, epochs
        deadline.cut[chosen] = (
            f"chosen, but only {max(left, 0):.0f} s of the budget were left for its final fit (estimated "
            f"{estimates[-1]:.0f} s; {least} of its {full} epochs at least: {estimates[least - 1]:.0f} s): the probe "
            "was trained and saved instead"
        )
        selection |= {"chosen": "probe", "chosen_before_deadline": chosen}
        return "probe", None

    @staticmethod
    def _probe_cv_too_slow(selection: dict[str, Any], *, deadline: Deadline, reserve: float) -> bool:
        """True when the probe's final fit cannot afford to cross-validate its L2 strength again in what is left
        (priced at CHEAP_FINAL_FOLDS of its measured fold fits): it then keeps the C its folds scored."""
        score = (selection.get("scores") or {}).get("probe")
        per_fold = score["seconds"] / max(len(score["folds"]), 1) if score else 0.0
        needed, left = CHEAP_FINAL_FOLDS * per_fold, deadline.left() - reserve
        if needed <= left:
            return False
        deadline.cut["probe L2"] = (
            f"not cross-validated again for the final fit (about {needed:.0f} s, {max(left, 0):.0f} s left): "
            "the probe keeps the L2 strength its folds scored"
        )
        return True

    def search(
        self,
        selection: dict[str, Any],
        *,
        backbone: Backbone,
        train: LabeledData,
        embeddings: np.ndarray,
        spec: RunSpec,
        run_dir: Path,
        deadline: Deadline | None = None,
        reserve: float = 0.0,
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
        # Left for the final fit: a fine-tune's estimated final fit; for a cheap candidate, CHEAP_FINAL_FOLDS of its
        # measured fold fits (the probe's final fit cross-validates its L2 on the way: at load 30 it took a minute)
        per_fold = defaults.get("seconds", 0.0) / max(len(defaults["folds"]), 1)
        final_need = (
            (selection.get("final_estimate_seconds") or {}).get(chosen, FINAL_FIT_FLOOR_SECONDS)
            if chosen in FINE_TUNED
            else max(CHEAP_FINAL_RESERVE_SECONDS, CHEAP_FINAL_FOLDS * per_fold)
        )
        left = (deadline.left() if deadline else budget_seconds(spec) - selection["seconds"]) - reserve - final_need
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
        if isinstance(model, FeatureModel | EnsembleModel) and model.backbone is not None:  # embeddings from the cache
            embeddings, _ = extract_features(
                model.backbone,
                data.inputs,
                cache_dir=spec.backbone.cache_dir,
                batch_size=spec.backbone.batch_size,
                description="Embedding evaluation data",
                runtime="torch",  # as the saved model predicts (the training rows may have embedded in bf16)
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
