"""Pair scores and sampling settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from transferkit.errors import ConfigError
from transferkit.generation.lm import load_base
from transferkit.generation.sampling import Sampling, cut_at_stop, generate_texts, stream_text
from transferkit.generation.scoring import pair_scores, rouge_l


def test_rouge_l_and_exact_match() -> None:
    assert rouge_l("the cat sat on the mat", "the cat sat on the mat") == 1.0
    assert rouge_l("cat the", "the cat") == 0.5  # LCS of one word out of two on each side
    assert rouge_l("dog", "the cat") == 0.0
    scores = pair_scores(["Great!", "other", "great food"], ["great", "great", "great"])
    assert scores["exact_match"] == pytest.approx(1 / 3, abs=1e-4)
    assert scores["rouge_l"] == pytest.approx((1 + 0 + 2 / 3) / 3, abs=1e-3)


def test_sampling_settings_are_checked() -> None:
    for bad in ({"temperature": -1}, {"top_p": 0}, {"max_new_tokens": 0}, {"stop": ("",)}):
        with pytest.raises(ConfigError):
            Sampling(**bad)
    assert Sampling().kwargs() == {"max_new_tokens": 64, "do_sample": False}
    assert cut_at_stop("great. Next review", (". ", "\n")) == "great"


def test_greedy_is_deterministic_sampling_follows_the_seed_and_stream_matches(tiny_llama_dir: Path) -> None:
    lm = load_base(f"hf:{tiny_llama_dir}")
    prompts = ["the coffee is", "my cat"]
    greedy = generate_texts(lm, prompts, sampling=Sampling(max_new_tokens=6))
    assert greedy == generate_texts(lm, prompts, sampling=Sampling(max_new_tokens=6), batch_size=1)  # left padding
    hot = Sampling(max_new_tokens=12, temperature=1.5, seed=3)
    assert generate_texts(lm, prompts, sampling=hot) == generate_texts(lm, prompts, sampling=hot)
    streamed = "".join(stream_text(lm, prompts[0], sampling=Sampling(max_new_tokens=6)))
    assert streamed.strip() == greedy[0]
    word = greedy[0].split()[1] if len(greedy[0].split()) > 1 else None
    if word:
        stopped = generate_texts(lm, prompts[:1], sampling=Sampling(max_new_tokens=6, stop=(word,)))[0]
        assert word not in stopped and greedy[0].startswith(stopped)


def test_raw_prompts_open_with_the_begin_of_text_token_as_training_texts_do(tiny_chat_llama_dir: Path) -> None:
    """A tokenizer with a chat template and a begin-of-text token (Gemma's <bos>): a causal-lm prompt is raw text and
    gets the token, as every packed training text did; a prompt the chat template wrote already has it."""
    from tokenizers.processors import TemplateProcessing

    from transferkit.generation.api import chat_formatted
    from transferkit.generation.sampling import adds_special_tokens

    lm = load_base(f"hf:{tiny_chat_llama_dir}")
    bos = lm.tokenizer.bos_token_id
    lm.tokenizer.backend_tokenizer.post_processor = TemplateProcessing(
        single=f"{lm.tokenizer.bos_token} $A", special_tokens=[(lm.tokenizer.bos_token, bos)]
    )
    seen: list[list[int]] = []
    original = lm.model.generate

    def recording(**kwargs):
        seen.append(kwargs["input_ids"][0].tolist())
        return original(**kwargs)

    lm.model.generate = recording
    generate_texts(lm, ["the coffee is"], sampling=Sampling(max_new_tokens=2), chat_formatted=False)
    generate_texts(lm, ["the coffee is"], sampling=Sampling(max_new_tokens=2), chat_formatted=True)
    generate_texts(lm, ["the coffee is"], sampling=Sampling(max_new_tokens=2))  # default: the chat template's
    assert seen[0][0] == bos and seen[0][1:] == seen[1] == seen[2] and seen[1][0] != bos
    assert adds_special_tokens(lm, False) and not adds_special_tokens(lm)
    corpus = {"task": {"name": "causal-lm"}, "format": {"chat_template": False}}
    pairs = {"task": {"name": "seq2seq-pairs"}, "format": {"chat_template": True}}
    assert not chat_formatted(corpus) and chat_formatted(pairs)
