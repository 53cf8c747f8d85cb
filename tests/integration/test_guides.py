"""The worked guides (examples/*.py, docs/guides/): each script's --quick mode runs from files on disk to a run
folder with a report and a deployable model (issue 28: `make test` runs the guides' quick modes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_quick(name: str, tmp_path: Path) -> dict:
    env = os.environ | {"OMP_WAIT_POLICY": "PASSIVE", "TRANSFERKIT_PROGRESS": "0"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--quick", "--workdir", str(tmp_path / name)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
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
