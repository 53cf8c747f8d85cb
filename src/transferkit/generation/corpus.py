"""Reading what a language model learns from: a corpus of texts (causal-lm) or prompt -> response pairs.

A corpus is a .txt file (paragraphs separated by blank lines, each one text), a folder of .txt files, or a
CSV / JSONL / Parquet table with a text column. Pairs are a table with a prompt and a response column, or a
prompt template whose fields name columns. Every problem is one DataError / ConfigError naming the file or option.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from transferkit.data.text_tables import TABLE_SUFFIXES, read_table, require_column
from transferkit.errors import ConfigError, DataError


@dataclass(frozen=True)
class Pair:
    prompt: str
    response: str


def _paragraphs(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]


def _read_txt(path: Path) -> list[str]:
    try:
        return _paragraphs(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text; save it as UTF-8.") from None


def _table(path: Path) -> pd.DataFrame:
    frame, bad = read_table(path)
    if bad:
        raise DataError(f"{path}: {len(bad)} row(s) cannot be decoded (first: {bad[0].reason}); fix or remove them.")
    return frame


def read_texts(path: str | Path, *, text_column: str = "text") -> list[str]:
    """The texts of a corpus (.txt file, folder of .txt files, or a table's `text_column`); empty ones dropped."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        if not files:
            raise DataError(f"The folder {path} holds no .txt files; put the corpus in .txt files (UTF-8).")
        texts = [text for file in files for text in _read_txt(file)]
    elif path.suffix.lower() == ".txt":
        if not path.is_file():
            raise DataError(f"Data file {path} does not exist; check the path.")
        texts = _read_txt(path)
    elif path.suffix.lower() in TABLE_SUFFIXES:
        frame = _table(path)
        require_column(frame, text_column, option="--text-column", path=path)
        texts = [str(value).strip() for value in frame[text_column].dropna()]
        texts = [text for text in texts if text]
    else:
        raise DataError(
            f"{path} is not a corpus: use a .txt file, a folder of .txt files, or a table "
            f"({', '.join(sorted(TABLE_SUFFIXES))}) with --text-column."
        )
    if not texts:
        raise DataError(f"The corpus {path} holds no text; give at least one non-empty text.")
    return texts


def template_fields(template: str) -> list[str]:
    """The column names a prompt template's `{fields}` refer to.

    Example:
        >>> template_fields("Review: {review}\\nProduct {product}:")
        ['review', 'product']
    """
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ConfigError(
            f"The 'prompt_template' option is not a valid template ({exc}); escape braces as {{{{ }}}}."
        ) from None
    if any(not name or not name.isidentifier() for name in fields):
        raise ConfigError("The 'prompt_template' option needs named fields such as {review}, not {} or {0}.")
    return list(dict.fromkeys(fields))


def read_pairs(
    path: str | Path, *, prompt_column: str = "prompt", response_column: str = "response", template: str | None = None
) -> list[Pair]:
    """Prompt -> response pairs from a CSV / JSONL / Parquet table.

    With `template`, each prompt is the template filled from the row's columns (unknown fields raise);
    rows with an empty prompt or response are dropped.
    """
    path = Path(path)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise DataError(
            f"{path}: pairs come in a table ({', '.join(sorted(TABLE_SUFFIXES))}) with prompt and response."
        )
    frame = _table(path)
    if template is not None:
        unknown = [name for name in template_fields(template) if name not in frame.columns]
        if unknown:
            raise ConfigError(
                f"The 'prompt_template' option names {', '.join(unknown)}, not columns of {path}; "
                f"available: {', '.join(map(str, frame.columns))}."
            )
        frame = frame.fillna("")
        prompts = [template.format(**row) for row in frame.to_dict("records")]
    else:
        require_column(frame, prompt_column, option="--prompt-column", path=path)
        prompts = [("" if pd.isna(value) else str(value)) for value in frame[prompt_column]]
    require_column(frame, response_column, option="--response-column", path=path)
    responses = [("" if pd.isna(value) else str(value)) for value in frame[response_column]]
    pairs = [Pair(p.strip(), r.strip()) for p, r in zip(prompts, responses, strict=True) if p.strip() and r.strip()]
    if not pairs:
        raise DataError(f"{path} holds no pair with both a prompt and a response; fill both columns.")
    return pairs


def split_items(items: list, *, fraction: float, seed: int, what: str) -> tuple[list, list]:
    """Shuffle-split into (kept, held out): `fraction` held out, at least one item each side when there are two."""
    if fraction <= 0 or len(items) < 2:
        return list(items), []
    order = np.random.default_rng(seed).permutation(len(items))
    count = min(max(1, round(len(items) * fraction)), len(items) - 1)
    held = {int(index) for index in order[:count]}
    kept = [item for index, item in enumerate(items) if index not in held]
    return kept, [items[index] for index in sorted(held)]
