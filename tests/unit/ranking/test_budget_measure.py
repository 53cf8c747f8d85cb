"""Budgets parse and judge candidates; memory and latency measurements see real costs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from transferkit.errors import ConfigError
from transferkit.ranking.budget import Budget
from transferkit.ranking.measure import measure_latency, parse_params


def test_budget_parses_units_and_judges_each_limit():
    budget = Budget.parse("latency=0.05s, memory=1.5GB, params=900k")
    assert (budget.max_latency_ms, budget.max_memory_mb, budget.max_params_m) == (50.0, 1536.0, 0.9)
    assert budget.violations(latency_ms=49.0, memory_mb=1500.0, params_m=0.9) == []
    assert budget.violations(latency_ms=51.0, memory_mb=2000.0, params_m=4.7) == [
        "latency 51 ms > 50 ms",
        "memory 2000 MB > 1536 MB",
        "params 4.7M > 0.9M",
    ]
    assert not Budget.parse(None).is_set


@pytest.mark.parametrize("text", ["speed=3", "latency=fast", "memory=3 parsecs"])
def test_budget_rejects_unreadable_text(text):
    with pytest.raises(ConfigError, match="budget"):
        Budget.parse(text)


def test_parse_params_reads_registry_strings():
    assert parse_params("4.7M") == pytest.approx(4.7)
    assert parse_params("1.1B") == pytest.approx(1100.0)
    assert parse_params("") is None


PEAK_MEMORY_CHILD = """
import numpy as np
from transferkit.ranking.measure import PeakMemory
with PeakMemory() as memory:
    block = np.ones(200 * 2**20 // 8)  # 200 MiB, touched
    block.sum()
print(memory.peak_mb)
"""


def test_peak_memory_sees_a_large_allocation():
    # In a fresh process: late in a long test session the allocator can hand back pages that are already
    # resident, and then RSS (what PeakMemory reads) does not rise for the new block.
    child = subprocess.run([sys.executable, "-c", PEAK_MEMORY_CHILD], capture_output=True, text=True, check=True)
    assert 150 < float(child.stdout.strip().splitlines()[-1]) < 1000


def test_latency_of_a_real_text_encoder(minilm):
    latency = measure_latency(minilm, ["The coffee was fresh and arrived quickly."], repeats=2)
    assert 0.1 < latency < 60_000
