"""The backbones registry knows which backbones generate text; recommend --generate lists only those."""

from __future__ import annotations

from pathlib import Path

from transferkit.backbones import can_generate
from transferkit.ranking import recommend


def test_generating_backbones_are_flagged(tiny_llama_dir: Path, tmp_path: Path) -> None:
    assert can_generate("bundled:smollm2-135m") and can_generate("hf:gpt2")
    assert not can_generate("bundled:minilm") and not can_generate("bundled:efficientnet_lite0")
    assert can_generate(f"hf:{tiny_llama_dir}")  # read from the folder's config: a causal LM
    assert not can_generate(f"hf:{tmp_path}")  # no config: unknown, so not offered
    shortlist = recommend(modality="text", n_samples=200, measure=False, generate=True)
    assert [row.spec for row in shortlist.rows] == ["bundled:smollm2-135m", "hf:gpt2"]
