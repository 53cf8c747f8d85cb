"""Token blocks for training and scoring: packed corpus blocks, and prompt -> response examples whose loss
covers the response tokens only.

Texts longer than a block are never cut: packing concatenates every text (each ending with the end-of-text
token) and splits the stream into blocks, so a long text simply spans several blocks (`PackedBlocks.split_texts`
counts them, and the run log says so). A pair that does not fit one block is left out with a count, never
truncated into a response the model would learn to stop early.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from transferkit.errors import ConfigError, DataError
from transferkit.generation.corpus import Pair

IGNORE = -100  # positions the loss skips (prompt tokens, padding): PyTorch's cross-entropy default


@dataclass
class PackedBlocks:
    """Equal-length training blocks; the last block is padded, its padding masked out of loss and attention."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    texts: int
    tokens: int
    split_texts: int  # texts longer than one block, spread over several

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])

    def rows(self) -> list[dict[str, torch.Tensor]]:
        return [
            {"input_ids": ids, "attention_mask": mask, "labels": labels}
            for ids, mask, labels in zip(self.input_ids, self.attention_mask, self.labels, strict=True)
        ]


def check_block_size(block_size: int, *, context_window: int) -> None:
    if block_size > context_window:
        raise ConfigError(
            f"The 'max_length' option (block length) {block_size} exceeds the model's context window of "
            f"{context_window} tokens; pass --max-length {context_window} or less."
        )


def text_prefix(tokenizer: Any) -> list[int]:
    """The begin-of-text token a tokenizer puts before every text (Gemma's and Llama 2's <bos>), else nothing.

    Some models produce nonsense without it (Gemma 3 270M's per-token perplexity on reviews: about 900 without,
    against SmolLM2's 90), so packed texts and scored texts start with it as their tokenizer would start them.
    """
    ids = tokenizer("", add_special_tokens=True)["input_ids"]
    bos = tokenizer.bos_token_id
    return [bos] if bos is not None and ids == [bos] else []


def pack_texts(tokenizer: Any, texts: list[str], *, block_size: int) -> PackedBlocks:
    """Concatenate the texts' tokens (each followed by end-of-text) and cut the stream into `block_size` blocks."""
    eos = tokenizer.eos_token_id
    encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    prefix = text_prefix(tokenizer)
    stream: list[int] = []
    context: list[int] = []  # positions of begin-of-text tokens: context, never a target
    for ids in encoded:
        context.extend(range(len(stream), len(stream) + len(prefix)))
        stream.extend([*prefix, *ids, eos] if eos is not None else [*prefix, *ids])
    if not stream:
        raise DataError("The corpus tokenizes to no tokens; give texts with words in them.")
    count = -(-len(stream) // block_size)
    padded = stream + [tokenizer.pad_token_id] * (count * block_size - len(stream))
    input_ids = torch.tensor(padded, dtype=torch.long).view(count, block_size)
    attention = torch.zeros(count * block_size, dtype=torch.long)
    attention[: len(stream)] = 1
    attention = attention.view(count, block_size)
    labels = input_ids.masked_fill(attention == 0, IGNORE)
    labels.view(-1)[torch.tensor(context, dtype=torch.long)] = IGNORE
    split = sum(1 for ids in encoded if len(ids) + 1 > block_size)
    return PackedBlocks(input_ids, attention, labels, texts=len(encoded), tokens=len(stream), split_texts=split)


def prompt_text(tokenizer: Any, prompt: str, *, chat: bool, shots: list[Pair] = ()) -> str:
    """The text the model continues for `prompt`: the tokenizer's chat template (user turn, then the assistant's
    turn opened) when it has one, else the prompt and a newline. `shots` are earlier worked examples (few-shot)."""
    if chat:
        messages = []
        for shot in shots:
            messages += [{"role": "user", "content": shot.prompt}, {"role": "assistant", "content": shot.response}]
        messages.append({"role": "user", "content": prompt})
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    worked = "".join(f"{shot.prompt}\n{shot.response}\n\n" for shot in shots)
    return f"{worked}{prompt}\n"


def response_end(tokenizer: Any, *, chat: bool) -> str:
    """What closes a response: the end-of-text token (with a chat template, its end-of-turn is that token)."""
    return tokenizer.eos_token or ""


def encode_pairs(tokenizer: Any, pairs: list[Pair], *, block_size: int, chat: bool) -> tuple[list[dict], int]:
    """Tokenised pairs: labels IGNORE on the prompt, the response's tokens (+ end-of-text) as targets.

    Returns the examples and how many pairs were left out for not fitting one block.
    """
    examples, too_long = [], 0
    for pair in pairs:
        prompt_ids = tokenizer(prompt_text(tokenizer, pair.prompt, chat=chat), add_special_tokens=not chat)
        prompt_ids = prompt_ids["input_ids"]
        response_ids = tokenizer(pair.response + response_end(tokenizer, chat=chat), add_special_tokens=False)
        response_ids = response_ids["input_ids"]
        ids = [*prompt_ids, *response_ids]
        if len(ids) > block_size:
            too_long += 1
            continue
        examples.append(
            {
                "input_ids": torch.tensor(ids),
                "attention_mask": torch.ones(len(ids), dtype=torch.long),
                "labels": torch.tensor([IGNORE] * len(prompt_ids) + response_ids),
            }
        )
    if not examples:
        raise DataError(
            f"Every one of the {len(pairs)} pairs is longer than the block of {block_size} tokens; "
            "raise --max-length or shorten the prompts."
        )
    return examples, too_long


def collate(rows: list[dict[str, torch.Tensor]], *, pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a list of examples into a batch (padding: pad id, attention 0, label IGNORE)."""
    width = max(int(row["input_ids"].shape[0]) for row in rows)

    def padded(key: str, value: int) -> torch.Tensor:
        return torch.stack(
            [torch.nn.functional.pad(row[key], (0, width - row[key].shape[0]), value=value) for row in rows]
        )

    return {
        "input_ids": padded("input_ids", pad_id),
        "attention_mask": padded("attention_mask", 0),
        "labels": padded("labels", IGNORE),
    }
