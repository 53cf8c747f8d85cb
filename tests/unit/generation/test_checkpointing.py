"""--gradient-checkpointing: the same training (recomputed activations give the same gradients), cache back on."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import transferkit

from .conftest import corpus_lines


@pytest.mark.parametrize("strategy", ["finetune", "lora"])
def test_checkpointing_trains_the_same_model(tiny_llama_dir: Path, tmp_path: Path, strategy: str) -> None:
    pd.DataFrame({"review": corpus_lines(48)}).to_csv(tmp_path / "train.csv", index=False)
    runs = {}
    for on in (False, True):
        runs[on] = transferkit.fit(
            str(tmp_path / "train.csv"),
            task="causal-lm",
            text_column="review",
            backbone=f"hf:{tiny_llama_dir}",
            strategy=strategy,
            lr=3e-3,
            epochs=1,
            max_length=32,
            gradient_checkpointing=on,
            output_dir=str(tmp_path / "runs"),
            name=f"{strategy}-{on}",
            report=False,
        )
    assert runs[True].metrics["strategy"]["gradient_checkpointing"] is True
    off, on = runs[False].metrics["test"], runs[True].metrics["test"]
    assert on["perplexity"] == pytest.approx(off["perplexity"], rel=1e-4) and on["perplexity"] < on["base_perplexity"]
    base = runs[True].model.model
    base = base.get_base_model() if hasattr(base, "get_base_model") else base
    assert (
        not any(getattr(m, "gradient_checkpointing", False) for m in base.modules()) and base.config.use_cache
    )  # generation keeps its KV cache
