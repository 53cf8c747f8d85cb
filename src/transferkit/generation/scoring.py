"""Scores of a language model: held-out perplexity (the transfer gain of language models), exact match and
ROUGE-L (longest common subsequence F1, Lin 2004) of generated responses against references."""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import torch

from transferkit.generation.tokens import IGNORE, collate, text_prefix


@contextlib.contextmanager
def autocast(precision: str) -> Iterator[None]:
    """bf16 autocast on the CPU for precision bf16-mixed (the same numerics the model was trained with)."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed"):
        yield


@torch.no_grad()
def perplexity(
    model: Any,
    rows: list[dict[str, torch.Tensor]],
    *,
    pad_id: int,
    batch_size: int = 8,
    precision: str = "32-true",
    advance: Callable[[int], None] | None = None,
) -> dict[str, float]:
    """Mean next-token loss over every labelled position of `rows` and its exponential, the perplexity."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        for start in range(0, len(rows), batch_size):
            batch = collate(rows[start : start + batch_size], pad_id=pad_id)
            with autocast(precision):
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            targets = batch["labels"][:, 1:]
            loss = torch.nn.functional.cross_entropy(
                logits[:, :-1].float().reshape(-1, logits.shape[-1]),
                targets.reshape(-1),
                ignore_index=IGNORE,
                reduction="sum",
            )
            total += float(loss)
            count += int((targets != IGNORE).sum())
            if advance is not None:
                advance(len(rows[start : start + batch_size]))
    finally:
        model.train(was_training)
    mean = total / max(1, count)
    return {"loss": round(mean, 5), "perplexity": round(math.exp(min(mean, 50.0)), 4), "tokens": count}


def normalise(text: str) -> str:
    """Lower case, single spaces, no surrounding punctuation: 'Great!' and 'great' match."""
    return re.sub(r"\s+", " ", text.strip().lower()).strip(" .!?,;:\"'")


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 over lower-cased word tokens.

    Example:
        >>> rouge_l("the cat sat", "the cat sat down")
        0.8571
    """
    a, b = normalise(prediction).split(), normalise(reference).split()
    if not a or not b:
        return float(a == b)
    previous = [0] * (len(b) + 1)
    for word in a:
        current = [0]
        for j, other in enumerate(b):
            current.append(previous[j] + 1 if word == other else max(previous[j + 1], current[j]))
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return round(2 * precision * recall / (precision + recall), 4)


def pair_scores(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Exact match (after `normalise`) and mean ROUGE-L of generated responses.

    Example:
        >>> pair_scores(["Great!", "bad"], ["great", "other"])
        {'exact_match': 0.5, 'rouge_l': 0.5, 'examples': 2}
    """
    exact = [normalise(p) == normalise(r) for p, r in zip(predictions, references, strict=True)]
    rouge = [rouge_l(p, r) for p, r in zip(predictions, references, strict=True)]
    n = max(1, len(exact))
    return {"exact_match": round(sum(exact) / n, 4), "rouge_l": round(sum(rouge) / n, 4), "examples": len(exact)}


def windows(stream: list[int], *, block_size: int) -> list[dict[str, torch.Tensor]]:
    """Blocks of `stream` that overlap by one token, so every token after the first is predicted exactly once.

    Example:
        >>> [row["input_ids"].tolist() for row in windows([9, 1, 2, 3, 4], block_size=3)]
        [[9, 1, 2], [2, 3, 4]]
    """
    rows = []
    for start in range(0, max(1, len(stream) - 1), block_size - 1):
        ids = stream[start : start + block_size]
        rows.append(
            {
                "input_ids": torch.tensor(ids, dtype=torch.long),
                "attention_mask": torch.ones(len(ids), dtype=torch.long),
                "labels": torch.tensor(ids, dtype=torch.long),
            }
        )
    return rows


def bits_per_byte(
    model: Any, tokenizer: Any, texts: list[str], *, block_size: int, batch_size: int = 8, precision: str = "32-true"
) -> dict[str, float]:
    """How well a causal LM predicts `texts`, in bits per UTF-8 byte and per character: unlike per-token
    perplexity, models with different tokenizers compare fairly (a coarser tokenizer has fewer, harder tokens).

    The texts are joined by end-of-text tokens behind one leading end-of-text (context only); every later token
    is predicted once, and each separator counts as one byte / character of the text it ends. A tokenizer that
    opens texts with a begin-of-text token gets it before each text, as context (never a target).
    """
    eos = tokenizer.eos_token_id
    prefix = text_prefix(tokenizer)  # a begin-of-text token (Gemma's <bos>) opens each text, as context only
    stream: list[int] = [] if prefix else [eos]
    context: list[int] = []
    for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        context += range(len(stream), len(stream) + len(prefix))
        stream += [*prefix, *ids, eos]
    rows = windows(stream, block_size=block_size)
    for position in context:  # windows overlap by one token: window i starts at i * (block_size - 1)
        index, offset = divmod(position, block_size - 1)
        for row, at in ((index, offset), (index - 1, offset + block_size - 1)):
            if 0 <= row < len(rows) and at < len(rows[row]["labels"]):
                rows[row]["labels"][at] = IGNORE
    scored = perplexity(
        model,
        rows,
        pad_id=tokenizer.pad_token_id,
        batch_size=batch_size,
        precision=precision,
    )
    nats = scored["loss"] * scored["tokens"]
    size = sum(len(text.encode("utf-8")) + 1 for text in texts)
    chars = sum(len(text) + 1 for text in texts)
    return {
        "bits_per_byte": round(nats / math.log(2) / size, 5),
        "bits_per_char": round(nats / math.log(2) / chars, 5),
        "token_perplexity": scored["perplexity"],
        "tokens_per_byte": round(scored["tokens"] / size, 4),
        "tokens": scored["tokens"],
        "bytes": size,
    }
