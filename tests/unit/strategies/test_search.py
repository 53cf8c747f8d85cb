"""--search: Optuna's seeded TPE over the chosen candidate's options, judged against the defaults on the same folds.

The trials repeat exactly for a seed; a best trial within the paired noise of the defaults is not adopted, a
clear gain is; the budget stops trials (Optuna's timeout, and the folds of a trial running at the deadline);
--search with an explicit strategy is refused in one line. Real data for the probe's search: breast_cancer.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.errors import ConfigError
from transferkit.strategies.choice import folds_of, probe_accuracy, repeated_folds
from transferkit.strategies.search import run_search, space_for

pytest.importorskip("optuna")


@pytest.fixture(scope="module")
def cancer():
    frame = load_breast_cancer()
    order = np.random.default_rng(1).permutation(len(frame.target))[:150]
    labels = np.array(["benign" if t else "malignant" for t in frame.target[order]])
    embeddings = StandardScaler().fit_transform(frame.data[order])
    data = LabeledData(inputs=[str(i) for i in range(150)], labels=list(labels), modality="tabular", source="cancer")
    return data, embeddings, labels


def _probe_search(cancer, *, trials: int, timeout: float = 60.0, seed: int = 0) -> dict:
    data, embeddings, labels = cancer
    folds = repeated_folds(data, seed=0, repeats=1)
    defaults = [probe_accuracy(embeddings, labels, a, b) for a, b in folds]

    def scorer_for(params):
        return lambda a, b: probe_accuracy(embeddings, labels, a, b, c_factor=params["c_factor"])

    return run_search(
        space=space_for("probe", "tabular"),
        scorer_for=scorer_for,
        folds=folds,
        default_folds=defaults,
        trials=trials,
        timeout=timeout,
        seed=seed,
    )


def test_the_search_repeats_exactly_for_a_seed(cancer):
    first, again = _probe_search(cancer, trials=3), _probe_search(cancer, trials=3)
    assert first["trials"] == 3 and first["stopped_by"] == "trials"
    assert first["best_params"] == again["best_params"] and first["best_score"] == again["best_score"]
    assert first["sampler"] == "optuna TPESampler(seed=0)"
    assert first["line"].startswith("Search: 3 of 3 trials")
    # the record says what the best trial gained over the defaults on the same 3 folds, and with what noise
    assert first["folds"] == 3 and first["standard_error"] >= 0 and "gain" in first


def test_a_gain_within_the_noise_keeps_the_defaults_and_a_clear_one_is_adopted():
    folds = [([0], [1])] * 6
    defaults = [0.70, 0.72, 0.68, 0.71, 0.69, 0.70]
    noisy = iter([0.02, -0.03, 0.03, -0.01, 0.01, -0.02] * 100)

    def lucky(params):  # no option matters: any "gain" is fold noise
        return lambda a, b: 0.70 + next(noisy)

    record = run_search(
        space=space_for("probe", "text"),
        scorer_for=lucky,
        folds=folds,
        default_folds=defaults,
        trials=5,
        timeout=60,
        seed=0,
    )
    assert record["adopted"] is False and "within the noise" in record["why"]

    def helps(params):  # a weaker penalty really helps, on every fold
        return lambda a, b: 0.70 + (0.10 if params["c_factor"] > 1 else 0.0)

    record = run_search(
        space=space_for("probe", "text"),
        scorer_for=helps,
        folds=folds,
        default_folds=defaults,
        trials=8,
        timeout=60,
        seed=0,
    )
    assert record["adopted"] is True and record["best_params"]["c_factor"] > 1 and record["gain"] > 0.09


def test_the_budget_stops_trials(cancer):
    record = _probe_search(cancer, trials=1000, timeout=0.2)
    assert record["stopped_by"] == "budget" and record["trials"] < 1000


def test_every_candidate_has_its_options_or_says_it_has_none():
    assert space_for("classic", "tabular") is not None  # the trees: learning rate, leaves, ...
    assert space_for("two-stage", "image") is not None and space_for("contrastive", "text") is not None
    assert space_for("classic", "text") is None and space_for("concat", "image") is None


def test_search_with_an_explicit_strategy_is_refused_in_one_line():
    assert RunSpec.from_dict({"run": {"search": 5}}).run.search == 5  # auto (the default)
    with pytest.raises(ConfigError, match=r"run\.search.*drop --strategy"):
        RunSpec.from_dict({"run": {"search": 5}, "strategy": {"name": "probe"}})


def test_auto_searches_its_choice_on_the_folds_the_defaults_were_scored_on(cancer, tmp_path):
    from transferkit.backbones import create_backbone
    from transferkit.strategies.auto import AutoStrategy

    data, embeddings, _ = cancer
    spec = RunSpec.from_dict({"run": {"search": 3, "budget_minutes": 1.0}, "backbone": {"spec": "tabular:columns"}})
    selection = {"chosen": "probe", "seconds": 1.0, "scores": {"probe": {"folds": [0.9, 0.95, 0.93]}}}
    record = AutoStrategy().search(
        selection, backbone=create_backbone("tabular:columns"), train=data, embeddings=embeddings, spec=spec,
        run_dir=tmp_path,
    )  # fmt: skip
    assert record["trials"] == 3 and record["folds"] == len(folds_of(data, seed=0)) == 3
    assert record["default_score"] == pytest.approx(0.9267, abs=1e-4)
    unscored = AutoStrategy().search(
        {"chosen": "two-stage", "seconds": 1.0, "scores": {}}, backbone=None, train=data, embeddings=embeddings,
        spec=spec, run_dir=tmp_path,
    )  # fmt: skip
    assert unscored["trials"] == 0 and "not cross-validated" in unscored["why"]
