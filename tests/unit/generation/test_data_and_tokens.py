"""Reading corpora and pairs, packing, response-only labels: what the model trains on."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from transferkit.errors import BackboneError, ConfigError, DataError
from transferkit.generation.corpus import Pair, read_pairs, read_texts, template_fields
from transferkit.generation.lm import load_base, prepare_tokenizer
from transferkit.generation.tokens import IGNORE, encode_pairs, pack_texts, prompt_text


@pytest.fixture(scope="module")
def lm(tiny_llama_dir: Path):
    return load_base(f"hf:{tiny_llama_dir}")


def test_corpus_sources(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("first text\nstill first\n\n\nsecond text\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.txt").write_text("third")
    pd.DataFrame({"review": ["x y", " ", "z"]}).to_csv(tmp_path / "c.csv", index=False)
    assert read_texts(tmp_path / "a.txt") == ["first text\nstill first", "second text"]
    assert read_texts(tmp_path / "docs") == ["third"]
    assert read_texts(tmp_path / "c.csv", text_column="review") == ["x y", "z"]


def test_corpus_errors(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("\n \n")
    with pytest.raises(DataError, match="holds no text"):
        read_texts(tmp_path / "empty.txt")
    pd.DataFrame({"body": ["a"]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match=r"no column 'text'.*available columns: body"):
        read_texts(tmp_path / "t.csv")


def test_pairs_columns_and_template(tmp_path: Path) -> None:
    frame = pd.DataFrame({"review": ["tasty", "stale"], "product": ["tea", "nuts"], "score": ["great", "other"]})
    frame.to_csv(tmp_path / "p.csv", index=False)
    pairs = read_pairs(tmp_path / "p.csv", response_column="score", template="{product}: {review}")
    assert pairs == [Pair("tea: tasty", "great"), Pair("nuts: stale", "other")]
    with pytest.raises(DataError, match="no column 'prompt'"):
        read_pairs(tmp_path / "p.csv", response_column="score")
    with pytest.raises(DataError, match="no column 'response'"):
        read_pairs(tmp_path / "p.csv", prompt_column="review")
    with pytest.raises(ConfigError, match="names stars, not columns"):
        read_pairs(tmp_path / "p.csv", response_column="score", template="{review} {stars}")
    with pytest.raises(ConfigError, match="named fields"):
        template_fields("{} and {0}")


def test_packing_spans_blocks_and_cuts_nothing(lm) -> None:
    texts = ["the coffee is great " * 12, "bad tea", "my cat likes these treats"]
    blocks = pack_texts(lm.tokenizer, texts, block_size=16)
    expected = [
        t
        for text in texts
        for t in [*lm.tokenizer(text, add_special_tokens=False)["input_ids"], lm.tokenizer.eos_token_id]
    ]
    kept = blocks.input_ids[blocks.attention_mask == 1].tolist()
    assert kept == expected  # every token of every text, in order, each text closed by end-of-text
    assert blocks.split_texts == 1 and blocks.input_ids.shape[1] == 16
    assert (blocks.labels[blocks.attention_mask == 0] == IGNORE).all()


def test_pair_loss_covers_the_response_only(lm) -> None:
    pairs = [Pair("is the coffee great", "great"), Pair("the tea " * 40, "other")]
    rows, too_long = encode_pairs(lm.tokenizer, pairs, block_size=24, chat=False)
    assert too_long == 1 and len(rows) == 1  # left out with a count, never truncated
    labels = rows[0]["labels"]
    targets = labels[labels != IGNORE].tolist()
    response = lm.tokenizer("great" + lm.tokenizer.eos_token, add_special_tokens=False)["input_ids"]
    assert targets == response
    assert rows[0]["input_ids"][-len(response) :].tolist() == response
    with pytest.raises(DataError, match="longer than the block"):
        encode_pairs(lm.tokenizer, pairs[1:], block_size=24, chat=False)


def test_chat_template_formats_prompts_and_shots(tiny_chat_llama_dir: Path) -> None:
    chat = load_base(f"hf:{tiny_chat_llama_dir}")
    assert chat.has_chat_template
    text = prompt_text(chat.tokenizer, "is it good", chat=True, shots=[Pair("tasty", "great")])
    assert text == "<|user|>tasty<|end|>\n<|assistant|>great<|end|>\n<|user|>is it good<|end|>\n<|assistant|>"


def test_pad_token_falls_back_to_end_of_text(lm) -> None:
    assert lm.tokenizer.pad_token == lm.tokenizer.eos_token == "<|endoftext|>"

    class NoTokens:
        pad_token = eos_token = None

    with pytest.raises(BackboneError, match="neither a pad token nor an end-of-text token"):
        prepare_tokenizer(NoTokens(), spec="hf:x")


def test_block_longer_than_the_context_window_is_refused(lm, tmp_path: Path) -> None:
    from transferkit.config import RunSpec
    from transferkit.generation.data import prepare
    from transferkit.workflows import routes  # noqa: F401  (registers the language-model task names)

    (tmp_path / "c.txt").write_text("the coffee is great")
    spec = RunSpec.from_dict(
        {"data": {"path": str(tmp_path / "c.txt"), "task": "causal-lm"}, "backbone": {"max_length": 4096}}
    )
    with pytest.raises(ConfigError, match="exceeds the model's context window of 256"):
        prepare(spec, lm)


def test_uniform_model_has_the_vocabulary_as_perplexity(lm) -> None:
    from transferkit.generation.scoring import perplexity

    vocabulary = len(lm.tokenizer)

    class Uniform(torch.nn.Module):
        def forward(self, input_ids, attention_mask):
            return type("Out", (), {"logits": torch.zeros(*input_ids.shape, vocabulary)})()

    blocks = pack_texts(lm.tokenizer, ["the coffee is great", "bad tea"], block_size=8)
    result = perplexity(Uniform(), blocks.rows(), pad_id=lm.tokenizer.pad_token_id)
    assert result["perplexity"] == pytest.approx(vocabulary, rel=1e-4)
    assert result["tokens"] == int(blocks.attention_mask.sum()) - len(blocks)  # the first token has no target
