"""Fault tolerance and scale through the real CLI: kill -9 mid-run then --resume, and 2-process DDP on CPU (gloo)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transferkit.artifacts import load_model
from transferkit.cli import run as cli

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).parent / "transferkit")
# gradual: epoch 0 trains the head, epoch 1 adds the top layer group, epoch 2 the next one.
FIT = [
    "--text-column",
    "review",
    "--label-column",
    "score",
    "--split-column",
    "split",
    "--strategy",
    "gradual",
    "--unfreeze",
    "2",
    "--epochs",
    "3",
    "--max-length",
    "32",
    "--train-batch-size",
    "8",
    "--lr",
    "3e-4",
    "--limit",
    "40",
]


# The runs' embeddings are compared to 1e-6: fp32. The default (auto) embeds text in bf16 on CPUs with AMX / AVX-512
# BF16, where one and two processes (other thread counts) differ by ~1e-4.
FP32_EMBEDDINGS = {"TRANSFERKIT_EMBED_RUNTIME": "torch"}


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TRANSFERKIT_PROGRESS": "0",
        "OMP_WAIT_POLICY": "PASSIVE",
        "TRANSFERKIT_CACHE": str(tmp_path / "cache"),
        **FP32_EMBEDDINGS,
    }


def _fit(reviews_csv, tmp_path, name: str, *extra: str) -> subprocess.CompletedProcess:
    command = [CLI, "fit", str(reviews_csv), *FIT, "--output-dir", str(tmp_path), "--name", name, *extra]
    return subprocess.run(command, env=_env(tmp_path), capture_output=True, text=True, timeout=600)


def _test_probabilities(run_dir: Path, reviews_csv) -> np.ndarray:
    frame = pd.read_csv(reviews_csv)
    return load_model(run_dir / "model").predict_proba(frame[frame["split"] == "test"]["review"].tolist())


@pytest.fixture(scope="module")
def straight(reviews_csv, tmp_path_factory, monkeypatch_module) -> Path:
    """The uninterrupted run, in this process: a subprocess would spend most of its time importing the stack."""
    tmp_path = tmp_path_factory.mktemp("straight")
    monkeypatch_module.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    for name, value in FP32_EMBEDDINGS.items():
        monkeypatch_module.setenv(name, value)
    assert cli(["fit", str(reviews_csv), *FIT, "--output-dir", str(tmp_path), "--name", "straight"]) == 0
    return tmp_path / "straight"


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_kill_9_mid_run_then_resume_ends_like_an_uninterrupted_run(reviews_csv, tmp_path, straight):
    run_dir = tmp_path / "crashy"
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    command = [CLI, "fit", str(reviews_csv), *FIT, "--output-dir", str(tmp_path), "--name", "crashy"]
    process = subprocess.Popen(command, env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen: set[int] = set()
    deadline = time.monotonic() + 300
    while len(seen) < 2 and process.poll() is None and time.monotonic() < deadline:
        if checkpoint.is_file():
            seen.add(checkpoint.stat().st_ino)  # each epoch's checkpoint is a new file renamed into place
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)  # during epoch 2, after the epoch-1 checkpoint
    process.wait()
    assert len(seen) == 2 and process.returncode == -signal.SIGKILL
    assert not (run_dir / "metrics.json").exists()  # it really died before finishing

    assert cli(["fit", "--resume", str(run_dir)]) == 0  # a fresh start from the files the killed process left
    a = json.loads((straight / "metrics.json").read_text())
    b = json.loads((run_dir / "metrics.json").read_text())
    assert [row["epoch"] for row in b["history"]] == [0, 1, 2]
    for row_a, row_b in zip(a["history"], b["history"], strict=True):
        assert row_b["train_loss"] == pytest.approx(row_a["train_loss"], abs=1e-5)
    assert b["test"]["accuracy"] == a["test"]["accuracy"]
    np.testing.assert_allclose(
        _test_probabilities(run_dir, reviews_csv), _test_probabilities(straight, reviews_csv), atol=1e-5
    )


def test_two_process_ddp_on_cpu_matches_one_process(reviews_csv, tmp_path, straight):
    done = _fit(reviews_csv, tmp_path, "ddp", "--devices", "2", "--distributed", "ddp", "--accelerator", "cpu")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "terminate called" not in done.stderr
    metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics["history"]] == [0, 1, 2]
    ours = _test_probabilities(tmp_path / "ddp", reviews_csv)
    theirs = _test_probabilities(straight, reviews_csv)
    # Same global batch and schedule; shards visit examples in another order, so close, not identical.
    assert np.abs(ours - theirs).mean() < 0.05
    # --devices 2 embedded the training rows over 2 processes (one cache shard each, every row once) before the DDP
    # processes started; they read the cache, so no third shard; the embeddings equal the one-process run's.
    shards, entries = _cache_entries(tmp_path / "cache")
    assert len(shards) == 2 and len(entries) == sum(shards.values())
    _, one_process = _cache_entries(straight.parent / "cache")
    assert entries.keys() == one_process.keys()
    for key, value in entries.items():
        np.testing.assert_allclose(value, one_process[key], rtol=0, atol=1e-6)  # same batches; threads differ


def _cache_entries(cache: Path) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """The embedding cache's shards (entries in each) and its entries."""
    from safetensors.numpy import load_file

    shards, entries = {}, {}
    for shard in (cache / "features").glob("*/*.safetensors"):
        values = load_file(str(shard))
        shards[shard.name] = len(values)
        entries.update(values)
    return shards, entries
