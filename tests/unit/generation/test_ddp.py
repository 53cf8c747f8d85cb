"""fit --task causal-lm on two CPU processes (Lightning DDP over gloo) through the real CLI: both processes train
their shard, the primary alone scores and saves, and the saved adapter loads and beats the base."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from transferkit.generation.folder import load_model

from .conftest import corpus_lines

pytestmark = pytest.mark.slow  # two processes start torch, transformers and Lightning: seconds, not the inner loop

CLI = str(Path(sys.executable).parent / "transferkit")


def test_two_process_ddp_trains_both_shards_and_saves_a_loadable_adapter(tiny_llama_dir: Path, tmp_path: Path):
    pd.DataFrame({"review": corpus_lines(96)}).to_csv(tmp_path / "train.csv", index=False)
    command = [CLI, "fit", str(tmp_path / "train.csv"), "--task", "causal-lm", "--text-column", "review"]
    command += ["--backbone", f"hf:{tiny_llama_dir}", "--strategy", "lora", "--lora-rank", "4", "--lr", "1e-2"]
    command += ["--epochs", "2", "--max-length", "32", "--train-batch-size", "8", "--no-report"]
    command += ["--devices", "2", "--distributed", "ddp", "--accelerator", "cpu", "--output-dir", str(tmp_path)]
    env = {**os.environ, "TRANSFERKIT_PROGRESS": "0", "OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*command, "--name", "ddp"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "terminate called" not in done.stderr
    run_dir = tmp_path / "ddp"
    log = (run_dir / "fit.log").read_text()
    assert "process 0 of 2 trained" in log and "process 1 of 2 trained" in log
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["strategy"]["processes"] == 2
    blocks = metrics["data"]["train"]["blocks"]
    # Each process took half of every epoch's blocks in batches of 4 (the global batch of 8 split in two).
    assert metrics["strategy"]["steps"] == metrics["strategy"]["epochs"] * -(-blocks // 8)
    assert metrics["test"]["perplexity"] < metrics["test"]["base_perplexity"]
    lm, manifest = load_model(run_dir / "model")
    assert manifest["weights"]["kind"] == "lora" and hasattr(lm.model, "peft_config")
