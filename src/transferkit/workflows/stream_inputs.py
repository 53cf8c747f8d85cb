"""Prediction inputs read lazily, one item at a time, so `predict` holds one chunk in memory whatever the size.

Streamed: texts from .txt (line by line), CSV / TSV (pandas in chunks of rows, only the text column), JSONL
(pandas in chunks of lines) and Parquet (pyarrow record batches, only the text column); image and audio folders
of any size, walked lazily in a stable order (names sorted within each folder, as `fit` lists them). Other inputs
(tables of features for tabular models, tables of image paths, .json arrays) are read whole by the modality's own
reader and then chunked like the rest.

Each source also gives a fingerprint (paths, sizes, modification times; for a folder, a hash of its listing) so a
resumed job can tell that its inputs are the ones it started on, and a count of items for the progress bar.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import pandas as pd

from transferkit.data.dataset import BadItem
from transferkit.data.folders import escapes
from transferkit.data.validation import describe_bad_items
from transferkit.errors import DataError, require
from transferkit.modalities.inputs import read_prediction_inputs

TEXT_TABLES = {".csv", ".tsv", ".jsonl", ".parquet"}
# How each modality's inputs stream: rows of text, or files (folders walked lazily). Others (tabular) are read
# whole by the modality's reader. (A `Modality` hook would be the registry's way; this table keeps it in one place.)
STREAMS = {"text": "rows", "image": "files", "audio": "files"}
READ_ROWS = 4096  # rows pandas / pyarrow parse at a time; independent of the prediction chunk size


@dataclass(frozen=True)
class StreamOptions:
    """How the inputs of one job are read (part of the job's identity)."""

    modality: str
    text_column: str = "text"
    feature_columns: tuple[str, ...] | None = None
    skip_bad_files: bool = False


def chunks(items: Iterator[str], size: int) -> Iterator[list[str]]:
    """Consecutive lists of `size` items (the last may be shorter).

    Example:
        >>> list(chunks(iter("abcde"), 2))
        [['a', 'b'], ['c', 'd'], ['e']]
    """
    while chunk := list(islice(items, size)):
        yield chunk


def streamed(path: Path, options: StreamOptions) -> bool:
    """Whether `path` is read lazily (else: read whole by the modality's reader, then chunked)."""
    kind = STREAMS.get(options.modality)
    if kind == "rows":
        return path.is_file() and path.suffix.lower() in TEXT_TABLES | {".txt"}
    if kind == "files":
        return path.is_dir() or (path.is_file() and path.suffix.lower() not in TEXT_TABLES | {".json"})
    return False


def iter_items(paths: list[Path], options: StreamOptions) -> Iterator[str]:
    """Every input item of `paths`, in order, read lazily where the format allows."""
    for path in paths:
        if not path.exists():
            raise DataError(f"Input {path} does not exist; pass files or folders to predict.")
        if not streamed(path, options):
            yield from read_prediction_inputs(
                options.modality,
                [path],
                text_column=options.text_column,
                feature_columns=list(options.feature_columns) if options.feature_columns else None,
                skip_bad_files=options.skip_bad_files,
            )
        elif STREAMS.get(options.modality) == "rows":
            yield from _texts(path, options.text_column)
        else:
            yield from _media(path, options.skip_bad_files)


def count_items(paths: list[Path], options: StreamOptions) -> int:
    """How many items `iter_items` yields (for the progress bar); one cheap pass without decoding inputs."""
    total = 0
    for path in paths:
        rows = STREAMS.get(options.modality) == "rows"
        if rows and path.is_file() and path.suffix.lower() == ".parquet":
            total += (
                require("pyarrow.parquet", extra="parquet", purpose="Reading Parquet")
                .ParquetFile(path)
                .metadata.num_rows
            )
        elif rows and path.is_file() and path.suffix.lower() == ".txt":
            with open(path, "rb") as handle:
                total += sum(1 for line in handle if line.strip())
        else:
            total += sum(1 for _ in iter_items([path], options))
    return total


def fingerprint(paths: list[Path]) -> list[dict[str, Any]]:
    """What identifies the inputs: each file's path, size and modification time; a folder's listing hash."""
    records = []
    for path in paths:
        if path.is_dir():
            digest = hashlib.sha256()
            for file in _files(path):
                stat = file.stat()
                digest.update(f"{file.relative_to(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            records.append({"folder": str(path.resolve()), "listing": digest.hexdigest()})
        else:
            stat = path.stat()
            records.append({"file": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    return records


def _files(path: Path) -> Iterator[Path]:
    """A file, or a folder's non-hidden files, sorted by path parts (as `data.folders.list_files`), lazily."""
    if path.is_file():
        yield path
        return
    yield from _walk(path, path)


def _walk(folder: Path, root: Path) -> Iterator[Path]:
    with os.scandir(folder) as listing:  # one folder's names at a time, never the whole tree
        entries = sorted((entry for entry in listing if not entry.name.startswith(".")), key=lambda e: e.name)
    for entry in entries:
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(path, root)
        elif entry.is_file():
            yield path
        elif entry.is_dir() and escapes(path, root) is None:  # a linked folder inside the root
            yield from _walk(path, root)


def _media(path: Path, skip_bad_files: bool) -> Iterator[str]:
    """A folder's files (a link leading outside it is refused, as `fit` refuses it) or the file itself."""
    for file in _files(path):
        reason = escapes(file, path) if path.is_dir() and file.is_symlink() else None
        if reason and not skip_bad_files:
            raise DataError(f"Unusable input {file}: {reason}. Remove it or pass --skip-bad-files.")
        if not reason:
            yield str(file)


def _texts(path: Path, column: str) -> Iterator[str]:
    suffix = path.suffix.lower()
    if suffix == ".txt":
        yield from _text_lines(path)
        return
    for start, frame in _frames(path, column):
        values = frame[column]
        missing = values.isna() | (values.astype(str).str.strip() == "")
        if missing.any():
            row = start + int(missing.to_numpy().argmax()) + 1
            raise DataError(f"Row {row} of {path} has no text in column '{column}'; fill or remove it.")
        yield from values.astype(str).tolist()


def _frames(path: Path, column: str) -> Iterator[tuple[int, pd.DataFrame]]:
    """(first row number, frame) per block of rows, with only `column`; a missing column is a DataError."""
    suffix = path.suffix.lower()
    start = 0
    try:
        if suffix == ".parquet":
            parquet = require("pyarrow.parquet", extra="parquet", purpose="Reading Parquet")
            reader = parquet.ParquetFile(path)
            _require_column(reader.schema_arrow.names, column, path)
            blocks: Any = (batch.to_pandas() for batch in reader.iter_batches(batch_size=READ_ROWS, columns=[column]))
        elif suffix == ".jsonl":
            blocks = pd.read_json(path, lines=True, chunksize=READ_ROWS, dtype=False, encoding="utf-8")
        else:
            header = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", nrows=0, encoding="utf-8-sig")
            _require_column(list(header.columns), column, path)
            blocks = pd.read_csv(
                path, sep="\t" if suffix == ".tsv" else ",", usecols=[column], dtype=str, keep_default_na=False,
                chunksize=READ_ROWS, encoding="utf-8-sig",
            )  # fmt: skip
        for frame in blocks:
            _require_column(list(frame.columns), column, path)
            yield start, frame
            start += len(frame)
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path} could not be read after row {start} ({str(exc)[:160]}); check its format.") from exc


def _require_column(columns: list[str], column: str, path: Path) -> None:
    if column not in columns:
        shown = ", ".join(map(str, columns[:10]))
        raise DataError(f"{path} has no column '{column}' (it has {shown}); pass --text-column.")


def _text_lines(path: Path) -> Iterator[str]:
    """The non-blank lines of a .txt file, one at a time; a line that is not UTF-8 is named, not guessed at."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                bad = [BadItem(f"{path} line {number}", "bad encoding (not UTF-8)")]
                raise DataError(
                    f"Unusable lines in {path}: {describe_bad_items(bad)}. Save the file as UTF-8."
                ) from None
            if line.strip():
                yield line
