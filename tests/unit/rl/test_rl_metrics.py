"""Taylor & Stone transfer metrics on constructed learning curves with known answers."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from transferkit.errors import ConfigError
from transferkit.rl.config import CurriculumConfig
from transferkit.rl.curriculum import Curriculum
from transferkit.rl.metrics import (
    area_under_curve,
    mean_interval,
    summarize_seeds,
    time_to_threshold,
    transfer_metrics,
)

STEPS = [0, 100, 200, 300]


def test_area_uses_the_trapezoid_rule_over_steps():
    assert area_under_curve(STEPS, [0, 10, 20, 30]) == pytest.approx(4500.0)
    assert area_under_curve([0, 50, 200], [2, 2, 2]) == pytest.approx(400.0)


def test_time_to_threshold_is_the_first_step_at_or_above_it():
    assert time_to_threshold(STEPS, [0, 5, 10, 10], 10) == 200
    assert time_to_threshold(STEPS, [0, 5, 9, 9], 10) is None


def test_metrics_of_a_head_start_that_scratch_catches_up_with():
    transfer = [10, 20, 30, 30]
    scratch = [0, 10, 20, 30]
    m = transfer_metrics(steps=STEPS, transfer=transfer, scratch=scratch, threshold=30)
    assert m["jumpstart"] == 10
    assert m["asymptotic"] == 0
    assert m["area_transfer"] == pytest.approx(15 * 100 + 25 * 100 + 30 * 100)  # 7000
    assert m["area_scratch"] == pytest.approx(4500)
    assert m["transfer_ratio"] == pytest.approx(7000 / 4500)
    assert m["area_ratio"] == pytest.approx(2500 / 4500)
    assert m["area_difference"] == pytest.approx(2500)
    assert m["time_to_threshold_transfer"] == 200
    assert m["time_to_threshold_scratch"] == 300
    assert m["time_to_threshold_ratio"] == pytest.approx(1.5)


def test_area_ratio_keeps_its_sign_for_negative_rewards():
    # Pendulum-like returns: the transfer learner is less negative, so transfer is positive.
    m = transfer_metrics(steps=STEPS, transfer=[-100] * 4, scratch=[-200] * 4)
    assert m["area_ratio"] == pytest.approx(0.5)
    assert m["jumpstart"] == 100


def test_tail_averages_the_last_points():
    m = transfer_metrics(steps=STEPS, transfer=[0, 0, 10, 20], scratch=[0, 0, 0, 10], tail=2)
    assert m["asymptotic"] == pytest.approx(10.0)


def test_curves_of_different_lengths_are_refused():
    with pytest.raises(ConfigError, match="same, non-empty evaluation points"):
        transfer_metrics(steps=STEPS, transfer=[1, 2], scratch=[1, 2, 3, 4])


def test_mean_interval_is_the_student_t_interval():
    result = mean_interval([1.0, 2.0, 3.0])
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert result["mean"] == 2.0
    assert result["low"] == pytest.approx(2.0 - half)
    assert result["high"] == pytest.approx(2.0 + half)
    assert mean_interval([5.0]) == {"mean": 5.0, "low": None, "high": None, "n": 1}


def test_negative_transfer_is_flagged_when_transfer_gathers_less_reward():
    worse = [transfer_metrics(steps=STEPS, transfer=[0, 5, 10, 20], scratch=[5, 15, 25, 30]) for _ in range(2)]
    worse[1] = transfer_metrics(steps=STEPS, transfer=[0, 6, 12, 22], scratch=[5, 15, 25, 30])
    summary = summarize_seeds(worse)
    assert summary["negative_transfer"] is True
    assert summary["negative_transfer_confident"] is True
    assert summary["jumpstart"]["mean"] == -5
    # A ratio near a zero scratch area swings wildly; the flag follows the mean area difference instead.
    mixed = summarize_seeds(
        [{"area_difference": -1.0, "area_ratio": -100.0}, {"area_difference": 50.0, "area_ratio": 0.5}]
    )
    assert mixed["area_ratio"]["mean"] < 0 and mixed["negative_transfer"] is False
    better = summarize_seeds([transfer_metrics(steps=STEPS, transfer=[10, 20, 30, 30], scratch=[0, 10, 20, 30])])
    assert better["negative_transfer"] is False
    assert better["seeds"] == 1


def test_curriculum_advances_only_when_the_window_mean_reaches_the_threshold():
    curriculum = Curriculum(
        CurriculumConfig(stages=[{"length": 0.5}, {"length": 0.75}, {"length": 1.0}], threshold=100, window=3)
    )
    assert [curriculum.record(r, step=i) for i, r in enumerate([150, 150, 60])] == [False, False, True]  # mean 120
    assert curriculum.stage == 1
    assert curriculum.history == [{"step": 2, "from_stage": 0, "mean_return": 120.0}]
    assert curriculum.params == {"length": 0.75}
    for r in [90, 95, 99, 99]:  # below threshold: stays
        assert curriculum.record(r) is False
    assert curriculum.stage == 1
    assert curriculum.record(200) is True  # window (99, 99, 200): mean 132.7
    assert curriculum.stage == 2 and curriculum.finished
    assert not any(curriculum.record(1000) for _ in range(5))  # the last stage is the end
    restored = Curriculum(curriculum.config)
    restored.load_state(curriculum.state())
    assert restored.stage == 2 and restored.history == curriculum.history
