"""Generation: greedy or sampled (temperature, top-p), a token limit and stop strings, in batches or streamed
token by token to the terminal (transformers' TextIteratorStreamer)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from transferkit.errors import ConfigError
from transferkit.generation.scoring import autocast


@dataclass(frozen=True)
class Sampling:
    """How tokens are chosen. temperature 0 is greedy (deterministic); above 0 samples, with nucleus `top_p`.

    Example:
        >>> Sampling(temperature=0.7, top_p=0.9).kwargs()["do_sample"]
        True
    """

    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ConfigError(f"--max-new-tokens must be at least 1. Got {self.max_new_tokens}.")
        if self.temperature < 0:
            raise ConfigError(f"--temperature must be 0 (greedy) or more. Got {self.temperature}.")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"--top-p must be in (0, 1]. Got {self.top_p}.")
        if any(not stop for stop in self.stop):
            raise ConfigError("--stop needs a non-empty string.")

    def kwargs(self) -> dict[str, Any]:
        chosen: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": self.temperature > 0}
        if self.temperature > 0:
            chosen |= {"temperature": self.temperature, "top_p": self.top_p, "top_k": 0}
        return chosen


def cut_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """The text up to the first stop string (the stop string itself left out).

    Example:
        >>> cut_at_stop("great\\nReview: next", ("\\n",))
        'great'
    """
    cuts = [text.find(s) for s in stop if s in text]
    return text[: min(cuts)] if cuts else text


def _generate_kwargs(lm: Any, sampling: Sampling) -> dict[str, Any]:
    chosen = sampling.kwargs() | {"pad_token_id": lm.tokenizer.pad_token_id, "eos_token_id": lm.tokenizer.eos_token_id}
    if sampling.stop:
        chosen |= {"stop_strings": list(sampling.stop), "tokenizer": lm.tokenizer}
    return chosen


@torch.no_grad()
def generate_texts(
    lm: Any,
    prompts: list[str],
    *,
    sampling: Sampling = Sampling(),
    batch_size: int = 8,
    precision: str = "32-true",
    advance: Callable[[int], None] | None = None,
    chat_formatted: bool | None = None,
) -> list[str]:
    """The continuation of each (already formatted) prompt, decoded without special tokens, cut at stop strings.

    Prompts are left-padded in batches, so every continuation starts right after its prompt. `chat_formatted` says
    whether a chat template wrote the prompts (default: whenever the tokenizer has one), see `adds_special_tokens`.
    """
    model, tokenizer = lm.model, lm.tokenizer
    model.eval()
    torch.manual_seed(sampling.seed)
    outputs: list[str] = []
    previous_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        for start in range(0, len(prompts), batch_size):
            chunk = prompts[start : start + batch_size]
            special = adds_special_tokens(lm, chat_formatted)
            encoded = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=special)
            with autocast(precision):
                tokens = model.generate(**encoded, **_generate_kwargs(lm, sampling))
            new = tokens[:, encoded["input_ids"].shape[1] :]
            texts = tokenizer.batch_decode(new, skip_special_tokens=True)
            outputs += [cut_at_stop(text, sampling.stop).strip() for text in texts]
            if advance is not None:
                advance(len(chunk))
    finally:
        tokenizer.padding_side = previous_side
    return outputs


def adds_special_tokens(lm: Any, chat_formatted: bool | None = None) -> bool:
    """Whether the tokenizer adds its special tokens (a begin-of-text token) to a prompt, as training did.

    A prompt a chat template wrote already opens with them; raw text (a causal-lm prompt) gets them, as every
    packed training text did (`tokens.text_prefix`: Gemma's <bos>; nothing for SmolLM2, whose tokenizer adds none).
    """
    return not (lm.has_chat_template if chat_formatted is None else chat_formatted)


def stream_text(
    lm: Any, prompt: str, *, sampling: Sampling = Sampling(), chat_formatted: bool | None = None
) -> Iterator[str]:
    """Yield the continuation of one formatted prompt piece by piece as it is generated (stop strings cut it)."""
    from transformers import TextIteratorStreamer

    lm.model.eval()
    torch.manual_seed(sampling.seed)
    encoded = lm.tokenizer([prompt], return_tensors="pt", add_special_tokens=adds_special_tokens(lm, chat_formatted))
    streamer = TextIteratorStreamer(lm.tokenizer, skip_prompt=True, skip_special_tokens=True)
    kwargs = {**encoded, **_generate_kwargs(lm, sampling), "streamer": streamer}
    failure: list[BaseException] = []

    def work() -> None:
        try:
            with torch.no_grad():
                lm.model.generate(**kwargs)
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)
            streamer.end()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    shown = ""
    for piece in streamer:
        text = cut_at_stop(shown + piece, sampling.stop)
        if len(text) > len(shown):
            yield text[len(shown) :]
        shown += piece
        if len(text) < len(shown):  # a stop string appeared: the rest is not shown
            break
    thread.join()
    if failure:
        raise failure[0]
