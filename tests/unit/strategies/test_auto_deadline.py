"""auto spends every stage from one deadline (issue 21): a fake clock makes the machine "slow" on demand, so these
tests say what the selection stops and records without depending on how busy the machine really is."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import transferkit.strategies.auto as auto
from transferkit.config import RunSpec
from transferkit.data import load_labeled
from transferkit.embedding_cache import extract_features
from transferkit.strategies.auto import AutoStrategy
from transferkit.strategies.auto_budget import Deadline, fold_limit_seconds, median_row_seconds, save_reserve
from transferkit.strategies.auto_ensemble import ensemble_record, fold_probabilities
from transferkit.strategies.choice import cheap_scorers, folds_of, score_candidates
from transferkit.strategies.finetune import TwoStageStrategy
from transferkit.strategies.policy import Prior


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def reviews(reviews_csv, tmp_path_factory, minilm):
    """60 real training reviews and their MiniLM embeddings."""
    path = tmp_path_factory.mktemp("deadline") / "train.csv"
    pd.read_csv(reviews_csv).query("split == 'train'").to_csv(path, index=False)
    data = load_labeled(path, text_column="review", label_column="score")
    return data, extract_features(minilm, data.inputs)[0]


def slow_cheap_scorers(clock: FakeClock, seconds: float):
    """auto's cheap scorers, each fold taking `seconds` on the fake clock."""
    real = auto.cheap_scorers

    def scorers(*args, **kwargs):
        def slowed(scorer):
            def score(train, test):
                clock.now += seconds
                return scorer(train, test)

            return score

        return {name: slowed(scorer) for name, scorer in real(*args, **kwargs).items()}

    return scorers


def spec_of(minutes: float) -> RunSpec:
    return RunSpec.from_dict({"run": {"budget_minutes": minutes}, "backbone": {"max_length": 64}})


def test_the_cheap_candidates_stop_at_the_deadline_and_say_so(reviews, minilm, tmp_path, monkeypatch):
    data, embeddings = reviews
    clock = FakeClock()
    monkeypatch.setattr(auto, "cheap_scorers", slow_cheap_scorers(clock, 28.0))  # 28 s a fold, 30 s budget
    selection = AutoStrategy(clock=clock).select(
        backbone=minilm, train=data, embeddings=embeddings, spec=spec_of(0.5), run_dir=tmp_path
    )
    folds = len(folds_of(data, seed=0))
    assert folds == 3
    # The first fold ends at 28 s; a second needs 1.5 x 28 s of the 2 s left: the probe has 1 fold, and the others
    # (whose first folds are priced at the probe's 28 s) none.
    assert list(selection["scores"]) == ["probe"] and len(selection["scores"]["probe"]["folds"]) == 1
    assert selection["cut"]["probe"] == "cross-validated on 1 of 3 folds: the budget ran out"
    for name in ("classic", "concat"):
        assert (
            selection["skipped"][name]
            == selection["cut"][name]
            == ("the budget ran out before its first cross-validation fold")
        )
    for name in ("two-stage", "contrastive"):  # no cost measurement once the budget is (nearly) spent
        assert "used (nearly) all" in selection["skipped"][name]
    assert selection["chosen"] == "probe"


def fake_two_stage(clock: FakeClock, limits: list[float], overrun: float):
    """TwoStageStrategy.fit that records its time limit and takes `overrun` times it on the fake clock (the fold's
    prediction runs past Lightning's max_time)."""

    def fit(self, *, backbone, train, valid, spec, run_dir, target=None):
        limits.append(spec.run.max_minutes * 60)
        clock.now += overrun * spec.run.max_minutes * 60
        return SimpleNamespace(model=SimpleNamespace(class_names=list(train.class_names)))

    return fit


def test_fine_tune_folds_get_their_share_of_what_is_left_and_stop_before_the_final_fit(
    reviews, minilm, tmp_path, monkeypatch
):
    data, embeddings = reviews
    clock = FakeClock()
    limits: list[float] = []
    prior = Prior(ranking=["two-stage", "probe"], bucket="small", source="test prior", evidence={})
    monkeypatch.setattr(auto, "prior_for", lambda *args, **kwargs: prior)
    monkeypatch.setattr(auto, "cheap_scorers", slow_cheap_scorers(clock, 5.0))  # one round of folds: 45 s
    monkeypatch.setattr(auto, "measure_row_seconds", lambda *args, **kwargs: 0.02)  # two-stage ~27 s, final ~8 s
    monkeypatch.setattr(TwoStageStrategy, "fit", fake_two_stage(clock, limits, overrun=2.5))
    monkeypatch.setattr(
        TwoStageStrategy, "predict_proba", lambda self, result, held_out, spec: np.full((len(held_out), 2), 0.5)
    )
    deadline = Deadline(150.0, clock=clock)
    selection = AutoStrategy(clock=clock).select(
        backbone=minilm, train=data, embeddings=embeddings, spec=spec_of(2.5), run_dir=tmp_path, deadline=deadline,
        reserve=6.0,
    )  # fmt: skip
    keep = selection["final_estimate_seconds"]["two-stage"] + 6.0
    folds = len(folds_of(data, seed=0))
    ran = len(selection["scores"]["two-stage"]["folds"])
    assert 1 <= ran < folds and len(limits) == ran
    assert limits == sorted(limits, reverse=True)  # each fold its share of what is left: less and less
    assert deadline.left() <= keep  # the folds stopped once the next would eat into two-stage's own final fit
    assert f"cross-validated on {ran} of {folds} folds" in selection["cut"]["two-stage"]
    assert f"{ran} fold fine-tune(s) stopped at their time limit" in selection["cut"]["two-stage"]


def test_a_fine_tune_whose_final_fit_no_longer_fits_is_replaced_by_the_probe(reviews, minilm, tmp_path, monkeypatch):
    """Tiny data: the prior picks two-stage when its estimate fits; then the machine slows down (75 s pass on the fake
    clock between the choice and the final fit, leaving less than half of two-stage's epochs): the final fit is the
    probe's, and the run says why."""
    data, _ = reviews
    clock = FakeClock()
    prior = Prior(ranking=["two-stage", "contrastive", "probe"], bucket="tiny", source="test prior", evidence={})
    monkeypatch.setattr(auto, "prior_for", lambda *args, **kwargs: prior)
    monkeypatch.setattr(auto, "cheap_scorers", slow_cheap_scorers(clock, 4.0))  # one round of folds: 36 s
    monkeypatch.setattr(auto, "measure_row_seconds", lambda *args, **kwargs: 0.02)  # 4 epochs of 60 rows: 7.8 s
    choose = AutoStrategy.select

    def slowed_down(self, **kwargs):
        selection = choose(self, **kwargs)
        clock.now += 75.0
        return selection

    monkeypatch.setattr(AutoStrategy, "select", slowed_down)
    result = AutoStrategy(clock=clock).fit(backbone=minilm, train=data, valid=None, spec=spec_of(2.0), run_dir=tmp_path)
    selection = result.selection
    assert selection["chosen_before_deadline"] == "two-stage" and selection["chosen"] == result.chosen == "probe"
    assert "the probe was trained and saved instead" in selection["cut"]["two-stage"]
    assert not result.backbone_trained and result.model.predict_proba(["Stale.", "Delicious!"]).shape == (2, 2)
    assert selection["budget_used_seconds"] >= 111 and selection["embedding_seconds"] >= 0
    assert "Cut at the deadline: two-stage" in selection["budget_line"]


def test_a_fine_tune_whose_schedule_does_not_fit_trains_fewer_epochs_to_the_end(reviews, minilm, tmp_path, monkeypatch):
    """Issue 21's demo: two-stage's folds and its whole final fit do not fit what is left, 3 of its 4 epochs do. The
    prior may still pick it; with a decaying schedule it trains 3 epochs (the schedule completed, not cut by
    max_time); with two-stage's constant rate it trains on into the 4th until max_time stops it. The run says so."""
    data, _ = reviews
    clock = FakeClock()
    epochs, limits = [], []
    prior = Prior(ranking=["two-stage", "probe"], bucket="small", source="test prior", evidence={})
    monkeypatch.setattr(auto, "prior_for", lambda *args, **kwargs: prior)

    def measure(*args, **kwargs):  # the measurement ends 60 s into the budget: about 50 s left after the reserve
        clock.now = max(clock.now, 60.0)
        return 0.25  # the final fit on 60 rows: 18 / 33 / 48 / 63 s for 1 / 2 / 3 / 4 epochs

    def fit(self, *, backbone, train, valid, spec, run_dir, target=None):
        epochs.append(spec.optim.epochs)
        limits.append(spec.run.max_minutes * 60)
        return SimpleNamespace(model=SimpleNamespace(class_names=list(train.class_names)))

    monkeypatch.setattr(auto, "measure_row_seconds", measure)
    monkeypatch.setattr(TwoStageStrategy, "fit", fit)
    cosine = spec_of(2.0).with_overrides({"optim.schedule": "cosine"})
    result = AutoStrategy(clock=clock).fit(backbone=minilm, train=data, valid=None, spec=cosine, run_dir=tmp_path)
    selection = result.selection
    assert "with a shorter schedule" in selection["skipped"]["two-stage"]
    assert selection["chosen"] == "two-stage" and selection["decided_by"] == "prior"
    assert epochs == [3] and selection["scaled"]["two-stage"] | {"left_seconds": None} == {
        "epochs": 3, "of": 4, "estimate_seconds": 48.0, "full_estimate_seconds": 63.0, "left_seconds": None,
        "why": selection["scaled"]["two-stage"]["why"],
    }  # fmt: skip
    left = selection["scaled"]["two-stage"]["left_seconds"]
    assert 48 <= left < 63 and limits[0] == pytest.approx(left, abs=0.2)  # max_time: what is left, as a guard
    assert "Scaled: two-stage: 3 of its 4 epochs, schedule completed" in selection["budget_line"]
    clock.now = 0.0
    constant = AutoStrategy(clock=clock).fit(
        backbone=minilm, train=data, valid=None, spec=spec_of(2.0), run_dir=tmp_path
    ).selection  # fmt: skip
    assert epochs[-1] == 4 and limits[-1] == pytest.approx(constant["scaled"]["two-stage"]["left_seconds"], abs=0.2)
    assert "3 of its 4 epochs fit surely" in constant["budget_line"] and "until the deadline" in constant["budget_line"]


def test_the_budget_counts_from_the_fit_start_and_keeps_the_held_out_scoring(reviews, minilm, tmp_path, monkeypatch):
    """`fit` hands auto its start: loading and embedding count. Here they took 130 s of a 120 s budget: the run
    cannot keep to it and says so in one line; no candidate's fold starts and the probe (the fallback) is saved. The
    held-out rows' scoring is priced at their count times the measured forward pass."""
    data, _ = reviews
    clock = FakeClock()
    clock.now = 130.0
    monkeypatch.setattr(auto, "measure_forward_seconds", lambda *args, **kwargs: 0.005)
    strategy = AutoStrategy(clock=clock)
    strategy.budget_from(0.0, held_out=[f"A held-out review, number {i}." for i in range(1000)])  # none cached
    result = strategy.fit(backbone=minilm, train=data, valid=None, spec=spec_of(2.0), run_dir=tmp_path)
    selection = result.selection
    assert selection["loading_seconds"] == 130.0 and selection["scoring_reserve_seconds"] == 5.0
    assert selection["chosen"] == "probe" and "probe" not in selection["scores"]
    assert selection["budget_used_seconds"] >= 130.0
    assert selection["budget_line"].startswith("Budget: 130 of 120 s used (loading 130 s, embedding the training rows")
    assert "5 s kept for scoring 1,000 held-out rows" in selection["budget_line"]
    assert (
        "Over budget: loading and embedding the training rows took 130 s of the 120 s budget"
        in (selection["over_budget"])
    )
    assert selection["over_budget"] in selection["budget_line"]
    assert selection["folds"] == 0 and selection["runner_up"] is None  # the report and the model card read them


def test_the_cost_measurement_takes_the_median_of_batches_spread_over_the_data():
    """One batch slowed by a busy neighbour (or of unusually long rows) does not decide the measurement."""
    rows = [str(i) for i in range(40)]
    seen = []

    def step(batch):
        seen.append(batch)
        return len(batch) * (1.0 if batch[0] == "10" else 0.1)  # the second timed batch: ten times slower

    assert median_row_seconds(step, rows) == pytest.approx(0.1)
    assert seen[0] == ["0", "1"] and len(seen) == 5  # a warm-up pass, then four timed batches
    timed = [int(row) for batch in seen[1:] for row in batch]
    assert len(set(timed)) == 32 and max(timed) >= 35  # distinct rows from the whole data, not the first ones


def test_the_reserve_and_the_fold_limit_follow_what_was_measured():
    assert save_reserve(0.1) == 5.2 and save_reserve(10.0) == 25.0  # one write of the weights, twice, + the report
    clock = FakeClock()
    deadline = Deadline(100.0, clock=clock)
    clock.now = 40.0
    assert fold_limit_seconds(deadline, keep=20.0, folds_left=2) == 20.0
    clock.now = 95.0
    assert deadline.passed(keep=5.0) and fold_limit_seconds(deadline, keep=20.0, folds_left=2) == 0.5


def test_an_ensemble_of_the_cheap_candidates_is_scored_out_of_fold(reviews):
    """Issue 21's ensemble candidate: the members' out-of-fold probabilities come from the models
    their folds scored, and the weights of each fold are chosen on the other folds."""
    data, embeddings = reviews
    folds = folds_of(data, seed=0)
    scores = score_candidates(cheap_scorers(data, embeddings, seed=0), folds)
    classes = sorted(set(data.labels))
    train, test = folds[0]
    proba = fold_probabilities("probe", data, embeddings, train, test, classes=classes)
    accuracy = (np.array(classes)[proba.argmax(1)] == np.array(data.labels)[test]).mean()
    assert accuracy == pytest.approx(scores["probe"]["folds"][0])  # the probe member is the probe that was scored
    record = ensemble_record(
        scores, chosen="probe", data=data, embeddings=embeddings, folds=folds, affordable=lambda seconds: True
    )
    assert sorted(record["members"]) == ["classic", "concat", "probe"] and record["offered"]
    assert len(record["folds"]) == len(folds) and record["mean"] > 0.5  # two balanced classes: chance is 0.5
    assert sum(record["weights"].values()) == pytest.approx(1.0)
    assert record["paired"]["folds"] == len(folds) and record["versus"] == "probe"
    unaffordable = ensemble_record(
        scores, chosen="probe", data=data, embeddings=embeddings, folds=folds, affordable=lambda seconds: False
    )
    assert unaffordable["scored"] is False and "did not fit" in unaffordable["why"]
