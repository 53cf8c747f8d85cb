"""The dependency floors in pyproject.toml: safe, true to what the code uses, and met by this environment.

Why the suite does not install the lowest allowed versions: this machine's pip reads local wheels only, and
they do exist (`pip index versions torch` lists 2.6.0; `pip download --no-deps` fetched lightning 2.6.0,
transformers 4.52.0 and timm 1.0.16 in seconds), but torch 2.6.0 is a 767 MB CUDA wheel that needs about 3 GB
of nvidia-* wheels before `import torch` works, and the suite runs on 2 shared cores: a second environment
plus a second run of the suite takes far longer than the suite's budget. Laying only the lowest pure-Python
floors (transformers 4.52.1, huggingface-hub 0.30, lightning 2.6.0, timm 1.0.16) over this environment is no
substitute: newer companions installed here (the `kernels` package needs a newer huggingface-hub) break
transformers' imports, so only a clean environment says anything. Instead, these tests check that every
floor is a plain lower bound (so the lowest install is just `pip install NAME==FLOOR ...`, printed by
`lowest_pins()`), that the safety floors hold, that the APIs each floor was chosen for exist, and that the
installed versions meet them. To run the lowest-versions check by hand on a machine with room:

    python -m venv /tmp/floors && /tmp/floors/bin/pip install $(python -c \
        "from tests.unit.test_dependency_floors import lowest_pins; print(' '.join(lowest_pins()))") \
        && /tmp/floors/bin/pip install --no-deps -e . && /tmp/floors/bin/python -m pytest -m unit
"""

from __future__ import annotations

import importlib.metadata
import inspect
import sys
from pathlib import Path

import pytest
import torch
from packaging.requirements import Requirement
from packaging.version import Version

from transferkit.backbones.weights_io import load_state_dict_file
from transferkit.errors import BackboneError

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
# The lowest version each of these may declare, and why.
SAFETY_FLOORS = {
    "torch": ("2.6", "torch.load(weights_only=True) is bypassable up to 2.5.1 (CVE-2025-32434)"),
    "transformers": ("4.52", "the first transformers that refuses .bin files on an unsafe torch itself"),
    "lightning": ("2.6", "Trainer.fit(weights_only=...) exists only from 2.6"),
    "timm": ("1.0.16", "local-dir: folders, used by path: backbones saved with save_for_hf"),
    "scikit-learn": ("1.4", 'HistGradientBoostingClassifier(categorical_features="from_dtype")'),
}


def requirements() -> list[Requirement]:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+; on 3.10 the other checks still run
    with PYPROJECT.open("rb") as file:
        return [Requirement(text) for text in tomllib.load(file)["project"]["dependencies"]]


def floor(requirement: Requirement) -> Version:
    (specifier,) = requirement.specifier  # one plain lower bound, checked below
    return Version(specifier.version)


def lowest_pins() -> list[str]:
    """`NAME==FLOOR` for every core dependency: the lowest-versions install."""
    return [f"{requirement.name}=={floor(requirement)}" for requirement in requirements()]


def test_every_floor_is_one_plain_lower_bound():
    for requirement in requirements():
        operators = [specifier.operator for specifier in requirement.specifier]
        assert operators == [">="], f"{requirement}: declare one '>=' floor so the lowest install is well defined"


@pytest.mark.parametrize("name", sorted(SAFETY_FLOORS))
def test_safety_floors_hold(name):
    declared = {requirement.name: requirement for requirement in requirements()}
    minimum, reason = SAFETY_FLOORS[name]
    assert floor(declared[name]) >= Version(minimum), f"{name} must be >= {minimum}: {reason}"


def test_installed_versions_meet_every_floor():
    for requirement in requirements():
        installed = importlib.metadata.version(requirement.name)
        assert requirement.specifier.contains(installed, prereleases=True), f"{requirement.name} {installed}"


def test_the_apis_the_floors_were_chosen_for_exist():
    import lightning
    from timm.models import _factory
    from transformers.utils import import_utils

    assert "weights_only" in inspect.signature(lightning.Trainer.fit).parameters
    assert "local-dir" in inspect.getsource(_factory)
    assert hasattr(import_utils, "check_torch_load_is_safe")


@pytest.mark.parametrize("version", ["2.5.1", "2.5.1+cu124", "2.2.0", "1.13.1"])
def test_torch_load_is_refused_on_an_unsafe_torch(tmp_path, monkeypatch, version):
    path = tmp_path / "weights.pth"
    torch.save({"w": torch.ones(2)}, path)
    monkeypatch.setattr(torch, "__version__", version)
    with pytest.raises(BackboneError, match=r"CVE-2025-32434.*pip install 'torch>=2\.6'"):
        load_state_dict_file(path)


@pytest.mark.parametrize("version", ["2.6.0", "2.6.0+cpu", "2.14.1", "3.0.0a0"])
def test_torch_load_runs_on_a_safe_torch(tmp_path, monkeypatch, version):
    path = tmp_path / "weights.pth"
    torch.save({"w": torch.ones(2)}, path)
    monkeypatch.setattr(torch, "__version__", version)
    state, _ = load_state_dict_file(path)
    assert list(state) == ["w"]


def test_python_floor_matches_the_running_interpreter():
    assert sys.version_info >= (3, 10)
