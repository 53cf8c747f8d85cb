"""From the run's options to token rows: read the corpus or the pairs, hold out validation and test parts (by
text, before packing, so no text is on both sides), and tokenise them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from transferkit.config import RunSpec
from transferkit.errors import ConfigError
from transferkit.generation.corpus import Pair, read_pairs, read_texts, split_items
from transferkit.generation.lm import LanguageModel
from transferkit.generation.tokens import check_block_size, encode_pairs, pack_texts

logger = logging.getLogger("transferkit")
SHOTS = 3  # worked examples the base model sees when prompted few-shot (the no-training alternative)


@dataclass
class Prepared:
    """A language-model run's data, ready for the engine and the scorers."""

    task: str
    train_rows: list[dict]
    valid_rows: list[dict]
    test_rows: list[dict]
    test_items: list[Any]  # texts (causal-lm) or Pairs (seq2seq-pairs), for generations and pair scores
    shots: list[Pair] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def _read(spec: RunSpec, path: str) -> list:
    if spec.data.task == "causal-lm":
        return read_texts(path, text_column=spec.data.text_column)
    return read_pairs(
        path,
        prompt_column=spec.data.prompt_column,
        response_column=spec.data.response_column,
        template=spec.data.prompt_template,
    )


def split_data(spec: RunSpec) -> tuple[list, list, list]:
    """Train, validation and test items: test from --test-path or --test-fraction, validation from training."""
    if spec.data.path is None:
        raise ConfigError("fit needs DATA: a corpus (.txt, folder of .txt, CSV / JSONL) or a pairs table.")
    items = _read(spec, spec.data.path)
    if spec.data.test_path is not None:
        test = _read(spec, spec.data.test_path)
    else:
        items, test = split_items(items, fraction=spec.data.test_fraction, seed=spec.run.seed + 1, what="test")
    if spec.data.valid_path is not None:
        valid = _read(spec, spec.data.valid_path)
    else:
        items, valid = split_items(items, fraction=spec.data.valid_fraction, seed=spec.run.seed, what="valid")
    if spec.data.limit is not None:
        items = items[: spec.data.limit]
    if spec.data.test_limit is not None:
        test = test[: spec.data.test_limit]
    return items, valid, test


def _rows(lm: LanguageModel, items: list, *, task: str, block_size: int, name: str, summary: dict) -> list[dict]:
    if not items:
        summary[name] = {"items": 0}
        return []
    if task == "causal-lm":
        blocks = pack_texts(lm.tokenizer, items, block_size=block_size)
        summary[name] = {
            "texts": blocks.texts,
            "tokens": blocks.tokens,
            "blocks": len(blocks),
            "split_across_blocks": blocks.split_texts,
        }
        if blocks.split_texts:
            logger.info(
                "%s: %d of %d texts are longer than the %d-token block and span several blocks (packing; "
                "nothing is cut)",
                name,
                blocks.split_texts,
                blocks.texts,
                block_size,
            )
        return blocks.rows()
    rows, too_long = encode_pairs(lm.tokenizer, items, block_size=block_size, chat=lm.has_chat_template)
    summary[name] = {"pairs": len(rows), "left_out_too_long": too_long}
    if too_long:
        logger.warning(
            "%s: %d of %d pairs are longer than the %d-token block and are left out (raise --max-length to keep them)",
            name,
            too_long,
            len(items),
            block_size,
        )
    return rows


def prepare(spec: RunSpec, lm: LanguageModel) -> Prepared:
    """Read, split and tokenise the run's data for `lm` (block length: --max-length)."""
    task = spec.data.task
    block_size = spec.backbone.max_length
    check_block_size(block_size, context_window=lm.context_window)
    train, valid, test = split_data(spec)
    summary: dict[str, Any] = {"block_size": block_size, "chat_template": lm.has_chat_template}
    rows = {
        name: _rows(lm, items, task=task, block_size=block_size, name=name, summary=summary)
        for name, items in (("train", train), ("valid", valid), ("test", test))
    }
    if not rows["train"]:
        raise ConfigError("Nothing is left to train on after holding out validation and test data; add data.")
    shots = list(train[:SHOTS]) if task == "seq2seq-pairs" else []
    return Prepared(task, rows["train"], rows["valid"], rows["test"], test, shots, summary)
