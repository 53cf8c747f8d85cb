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
