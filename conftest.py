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


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Embeddings computed by a test or an example land in a temporary folder, never in the user's cache."""
    cache = tmp_path_factory.mktemp("transferkit-cache")
    os.environ["TRANSFERKIT_CACHE"] = str(cache)
    return cache
