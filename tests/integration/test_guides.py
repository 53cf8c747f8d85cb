"""The worked guides (examples/*.py, docs/guides/): each script's --quick mode runs from files on disk to a run
folder with a report and a deployable model (issue 28: `make test` runs the guides' quick modes)."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_quick(name: str, tmp_path: Path) -> dict:
    """`python examples/NAME.py --quick` run as __main__ in this process (the environment pytest's conftest.py sets:
    quiet progress, passive OpenMP waiting): a subprocess spent most of its time importing torch and the stack."""
    script = EXAMPLES / f"{name}.py"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        patch.setattr(sys, "argv", [str(script), "--quick", "--workdir", str(tmp_path / name)])
        patch.syspath_prepend(str(EXAMPLES))  # as `python examples/NAME.py` puts the script's folder first
        try:
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as exit_:
            assert exit_.code in (None, 0), f"{name}.py exited with {exit_.code}"
    results = json.loads((tmp_path / name / f"{name}-quick.json").read_text())
    assert results["mode"] == "quick"
    return results


def test_healthcare_quick(tmp_path: Path) -> None:
    results = run_quick("healthcare_tumours", tmp_path)
    assert Path(tmp_path, results["report"]).is_file()
    assert Path(tmp_path, results["onnx"]["path"]).is_file() and results["onnx"]["max_abs_difference"] <= 1e-4
    assert results["arms"]["balanced_auto_threshold"]["accuracy"] > 0.9  # a linear model on 30 measurements
    assert {"ece_before", "ece_after"} <= set(results["calibration"])


def test_finance_quick(tmp_path: Path) -> None:
    results = run_quick("finance_credit_and_markets", tmp_path)
    credit = results["credit"]
    assert Path(tmp_path, credit["report"]).is_file() and Path(tmp_path, credit["onnx"]["path"]).is_file()
    assert len(credit["rules"]) == 4
    markets = Path(tmp_path, results["markets"]["run_dir"])
    assert (markets / "report.html").is_file() and (markets / "model").is_dir()
    assert "Naive" in results["markets"]["metrics"]["models"]


def test_driving_quick(tmp_path: Path) -> None:
    results = run_quick("driving_policy_transfer", tmp_path)
    assert Path(tmp_path, results["report"]).is_file()
    assert (Path(tmp_path, results["policy"]) / "policy.safetensors").is_file()
