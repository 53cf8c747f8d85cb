"""Scoring a language model on a run's held-out data: perplexity, pair scores and sample generations, for the base
model (before training) and the adapted one, the same way."""

from __future__ import annotations

from typing import Any

from transferkit.generation.corpus import Pair
from transferkit.generation.data import Prepared
from transferkit.generation.lm import LanguageModel
from transferkit.generation.sampling import Sampling, generate_texts
from transferkit.generation.scoring import pair_scores, perplexity
from transferkit.generation.tokens import prompt_text
from transferkit.progress import progress_bar

SAMPLES = 4
PROMPT_WORDS = 8  # a corpus sample's prompt: the first words of a held-out text
SAMPLE_TOKENS = 32


def sample_prompts(prepared: Prepared, *, count: int = SAMPLES) -> list[dict[str, str]]:
    """Held-out prompts to show side by side: a text's first words (corpus) or a pair's prompt, with the reference."""
    chosen = []
    for item in prepared.test_items[:count]:
        if isinstance(item, Pair):
            chosen.append({"prompt": item.prompt, "reference": item.response})
        else:
            words = item.split()
            chosen.append({"prompt": " ".join(words[:PROMPT_WORDS]), "reference": " ".join(words[PROMPT_WORDS:40])})
    return chosen


def _formatted(lm: LanguageModel, prompt: str, *, task: str, shots: list[Pair]) -> str:
    return prompt if task == "causal-lm" else prompt_text(lm.tokenizer, prompt, chat=lm.has_chat_template, shots=shots)


def pair_sampling(lm: LanguageModel, references: list[str]) -> Sampling:
    """Greedy, long enough for the longest reference (+ a margin); a blank line ends a plain-text answer."""
    longest = max((len(lm.tokenizer(text)["input_ids"]) for text in references), default=16)
    stop = () if lm.has_chat_template else ("\n\n",)
    return Sampling(max_new_tokens=min(128, longest + 8), stop=stop)


def score(lm: LanguageModel, prepared: Prepared, *, base: bool, batch_size: int, precision: str) -> dict[str, Any]:
    """The held-out scores of `lm`; `base` prompts pairs few-shot with the first training pairs (no training)."""
    shots = prepared.shots if base else []
    result: dict[str, Any] = {}
    pad_id = lm.tokenizer.pad_token_id
    for split, rows in (("valid", prepared.valid_rows), ("test", prepared.test_rows)):
        if rows and not (base and split == "valid"):
            with progress_bar(f"{'base' if base else 'adapted'} {split} perplexity", total=len(rows)) as advance:
                result[split] = perplexity(
                    lm.model, rows, pad_id=pad_id, batch_size=batch_size, precision=precision, advance=advance
                )
            result[split]["num_examples"] = len(rows)
    if prepared.task == "seq2seq-pairs" and prepared.test_items:
        prompts = [_formatted(lm, p.prompt, task=prepared.task, shots=shots) for p in prepared.test_items]
        with progress_bar(f"{'base' if base else 'adapted'} generations", total=len(prompts)) as advance:
            answers = generate_texts(
                lm,
                prompts,
                sampling=pair_sampling(lm, [p.response for p in prepared.test_items]),
                batch_size=batch_size,
                precision=precision,
                advance=advance,
            )
        result.setdefault("test", {"num_examples": len(prompts)})
        result["test"] |= pair_scores(answers, [p.response for p in prepared.test_items])
        result["answers"] = answers
    samples = sample_prompts(prepared)
    sampling = (
        pair_sampling(lm, [p.response for p in prepared.test_items])
        if prepared.task == "seq2seq-pairs"
        else Sampling(SAMPLE_TOKENS)
    )
    if samples and prepared.task == "causal-lm":
        prompts = [_formatted(lm, s["prompt"], task=prepared.task, shots=shots) for s in samples]
        result["samples"] = generate_texts(
            lm, prompts, sampling=sampling, batch_size=batch_size, precision=precision, chat_formatted=False
        )
    elif samples:
        result["samples"] = result["answers"][: len(samples)]
    return result
