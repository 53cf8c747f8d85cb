"""The environment of everything pytest runs here, tests and docstring examples alike (tests/conftest.py holds
the fixtures and the test tiers): quiet progress bars, passive OpenMP waiting, a per-session embedding cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before transferkit / torch load: quiet progress bars; OpenMP's busy waiting made a training step ~45x slower
# on a loaded 2-core machine.
os.environ["TRANSFERKIT_PROGRESS"] = "0"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# numpy / scipy / scikit-learn on one BLAS thread: the tests' problems are small (a probe's L2 search on 72 rows),
# and on this shared 2-core machine under load two OpenBLAS threads made that search 7-10x slower (22-31 s against
# 3-3.5 s, side by side); transferkit.ranking.scores runs on one thread for the same reason.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # for the BLAS libraries loaded from here on (scipy's)
if os.environ["OPENBLAS_NUM_THREADS"] == "1":
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")  # numpy's, loaded before this file by pytest's plugins


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Embeddings computed by a test or an example land in a temporary folder, never in the user's cache."""
    cache = tmp_path_factory.mktemp("transferkit-cache")
    os.environ["TRANSFERKIT_CACHE"] = str(cache)
    return cache
