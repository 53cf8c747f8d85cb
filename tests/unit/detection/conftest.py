"""Tiny real scenes (tuxpaint photo stamps on scikit-image / scikit-learn photos), built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from transferkit.detection.scenes import STAMPS, SceneOptions, stamp_scenes


@pytest.fixture(scope="session")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not STAMPS.is_dir():
        pytest.skip("needs the tuxpaint stamps (apt-get install tuxpaint-stamps-default)")
    return stamp_scenes(SceneOptions(train=8, test=4, size=96), root=tmp_path_factory.mktemp("scenes"))
