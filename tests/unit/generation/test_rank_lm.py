"""rank --task causal-lm: causal LMs ordered by zero-shot bits per byte of the user's texts; encoders refused."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import transferkit
from transferkit.cli import run
from transferkit.generation.lm import load_base
from transferkit.generation.scoring import bits_per_byte, perplexity, windows
from transferkit.generation.tokens import pack_texts
from transferkit.ranking import rank

from .conftest import corpus_lines


def test_a_model_tuned_on_the_domain_ranks_first_and_encoders_are_refused(tiny_llama_dir: Path, tmp_path: Path, capsys):
    pd.DataFrame({"review": corpus_lines(80)}).to_csv(tmp_path / "train.csv", index=False)
    pd.DataFrame({"review": corpus_lines(24, seed=5)}).to_csv(tmp_path / "texts.csv", index=False)
    tuned = transferkit.fit(
        str(tmp_path / "train.csv"),
        task="causal-lm",
        text_column="review",
        backbone=f"hf:{tiny_llama_dir}",
        strategy="finetune",
        lr=3e-3,
        epochs=2,
        max_length=32,
        output_dir=str(tmp_path / "runs"),
        name="tuned",
        report=False,
    )
    candidates = [f"hf:{tiny_llama_dir}", f"hf:{tuned.model_dir / 'weights'}", "bundled:minilm"]
    ranking = rank(tmp_path / "texts.csv", task="causal-lm", text_column="review", candidates=candidates)
    assert [row.spec for row in ranking.rows] == [candidates[1], candidates[0], "bundled:minilm"]
    assert ranking.recommended == candidates[1] and ranking.by == "bits_per_byte"
    best, base, refused = ranking.rows
    assert best.scores["bits_per_byte"] < base.scores["bits_per_byte"] < 8 * math.log2(400)
    assert "does not generate text" in refused.error and not refused.scores  # never loaded
    code = run(["rank", str(tmp_path / "texts.csv"), "--task", "causal-lm", "--text-column", "review",
                "--candidates", ",".join(candidates)])  # fmt: skip
    assert code == 0 and "bits_per_byte" in capsys.readouterr().out


def test_bits_per_byte_counts_every_token_once(tiny_llama_dir: Path) -> None:
    lm = load_base(f"hf:{tiny_llama_dir}")
    texts = corpus_lines(6, seed=3)
    eos = lm.tokenizer.eos_token_id
    stream = [eos] + [t for ids in lm.tokenizer(texts, add_special_tokens=False)["input_ids"] for t in [*ids, eos]]
    short = bits_per_byte(lm.model, lm.tokenizer, texts, block_size=16)
    whole = perplexity(lm.model, windows(stream, block_size=len(stream)), pad_id=lm.tokenizer.pad_token_id)
    assert short["tokens"] == whole["tokens"] == len(stream) - 1  # overlapping windows: no token scored twice
    size = sum(len(t.encode()) + 1 for t in texts)  # each end-of-text separator counts as one byte
    at_once = bits_per_byte(lm.model, lm.tokenizer, texts, block_size=len(stream))
    assert at_once["bits_per_byte"] == pytest.approx(whole["loss"] * whole["tokens"] / math.log(2) / size, rel=1e-4)


class _WithBos:
    """The tiny model's tokenizer, opening every text with a begin-of-text token as Gemma's and Llama 2's do."""

    def __init__(self, tokenizer) -> None:
        self.inner = tokenizer
        self.bos_token_id, self.eos_token_id, self.pad_token_id = 3, tokenizer.eos_token_id, tokenizer.pad_token_id

    def __call__(self, texts, add_special_tokens: bool = True):
        ids = self.inner(texts, add_special_tokens=False)["input_ids"]
        if add_special_tokens:
            ids = [self.bos_token_id, *ids] if isinstance(texts, str) else [[self.bos_token_id, *row] for row in ids]
        return {"input_ids": ids}


def test_begin_of_text_tokens_open_each_text_as_context_only(tiny_llama_dir: Path) -> None:
    lm = load_base(f"hf:{tiny_llama_dir}")
    tokenizer = _WithBos(lm.tokenizer)
    texts = corpus_lines(5, seed=4)
    lengths = [len(ids) for ids in lm.tokenizer(texts, add_special_tokens=False)["input_ids"]]
    blocks = pack_texts(tokenizer, texts, block_size=16)
    assert (
        int((blocks.input_ids == 3).sum())
        == len(texts)
        == int(((blocks.input_ids == 3) & (blocks.labels == -100)).sum())
    )
    for block in (7, 16, 200):  # however the windows fall, every text token and end-of-text is a target once
        assert bits_per_byte(lm.model, tokenizer, texts, block_size=block)["tokens"] == sum(lengths) + len(texts)
