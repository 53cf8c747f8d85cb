"""A loaded bundle: checked files, an onnxruntime session, the preprocessing and the decision rule.

Example::

    bundle = load_bundle("bundles/reviews")
    bundle.predict(["Stale and overpriced.", "Wonderful tea!"])  # [{"label": "other", "probabilities": {...}}, ...]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from transferkit.errors import ArtifactError, ConfigError, require
from transferkit.runtime.classic import classic_reader
from transferkit.runtime.decide import decisions, output_names
from transferkit.runtime.manifest import read_bundle_manifest
from transferkit.runtime.preprocess import READERS

PADDING = 1.25  # a text batch's padded tokens, at most, per token it holds (length_batches)


class Bundle:
    """An exported model ready to predict, with onnxruntime and no torch."""

    # Release onnxruntime's memory arena after each run: for graphs whose input shapes vary without bound (a
    # detector's images of any size), where a kept arena would hold buffers for every shape seen.
    arena_shrink: bool = False

    def __init__(self, folder: Path, manifest: dict[str, Any], *, precision: str | None, threads: int | None) -> None:
        self.folder = folder
        self.manifest = manifest
        self.precision = precision or manifest.get("default_graph", "fp32")
        if self.precision not in manifest["graphs"]:
            raise ConfigError(
                f"The bundle {folder} has no {self.precision!r} graph; it has {', '.join(manifest['graphs'])}."
            )
        self.reader = self.make_reader(folder, manifest)
        self.session = _session(folder / manifest["graphs"][self.precision], threads=threads)
        self.run_options = _run_options(shrink=self.arena_shrink)
        self.input_names = [i.name for i in self.session.get_inputs()]
        if sorted(self.input_names) != sorted(manifest["inputs"]):
            raise ArtifactError(f"{folder}'s graph takes {self.input_names}, not {manifest['inputs']}; export again.")

    def make_reader(self, folder: Path, manifest: dict[str, Any]) -> Any:
        """Raw inputs -> the graph's arrays, from the preprocessing record (a task may need its own reader)."""
        if "classic" in manifest["preprocessing"]:  # a classic or concat model: TF-IDF / pixel rows as an input
            return classic_reader(folder, manifest["modality"], manifest["preprocessing"])
        return READERS[manifest["modality"]](folder, manifest["preprocessing"])

    @property
    def modality(self) -> str:
        return self.manifest["modality"]

    @property
    def task(self) -> dict[str, Any]:
        return self.manifest["task"]

    @property
    def output_names(self) -> list[str]:
        return output_names(self.task)

    @property
    def max_length(self) -> int | None:
        """The text model's token limit (None for images and tables)."""
        return getattr(self.reader, "max_length", None)

    def arrays(self, inputs: Sequence[Any], *, truncate: bool = True) -> dict[str, np.ndarray]:
        """The graph's input arrays for raw `inputs` (texts, images as paths / bytes / PIL images, or rows)."""
        return self.reader(list(inputs), truncate=truncate)

    def predict_proba(self, inputs: Sequence[Any], *, batch_size: int = 32, truncate: bool = True) -> np.ndarray:
        """The graph's outputs (probabilities; standardised values for regression), one row per input.

        Texts are tokenised first and batched in order of length (rows come back in input order): a batch padded
        to its longest text otherwise spends most of its work on padding (reviews of 23-128 tokens: a batch of 32
        padded to 128 cost 1.8x the tokens it held).
        """
        if not len(inputs):
            return np.zeros((0, len(self.output_names)), np.float32)
        if hasattr(self.reader, "encode"):
            encodings = self.reader.encode(list(inputs), truncate=truncate)
            lengths = np.asarray([len(e.ids) for e in encodings])
            order = np.argsort(lengths, kind="stable")
            batches = length_batches(lengths[order], batch_size=batch_size)
            outputs = [self._run(self.reader.pad([encodings[i] for i in order[rows]])) for rows in batches]
            result = np.empty((len(inputs), outputs[0].shape[1]), outputs[0].dtype)
            result[order] = np.concatenate(outputs)
            return result
        chunks = []
        for start, stop in row_chunks(len(inputs), batch_size=batch_size):
            chunk = list(inputs[start:stop])
            chunks.append(self._run(self.reader(chunk, truncate=truncate, offset=start)))  # errors name the position
        return np.concatenate(chunks)

    def _run(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(None, {name: arrays[name] for name in self.input_names}, self.run_options)[0]

    def predict(self, inputs: Sequence[Any], *, batch_size: int = 32, truncate: bool = True) -> list[dict[str, Any]]:
        """One decision per input, by the task's rule (label and probabilities, labels, or value)."""
        return decisions(self.predict_proba(inputs, batch_size=batch_size, truncate=truncate), self.task)

    def warm_up(self, batch_size: int) -> list[tuple[int, ...]]:
        """Run the largest inputs each row count a call of `batch_size` can feed the session ({batch_size} and the
        powers of two below it; texts at the token limit), largest first, so onnxruntime's arena grows to its peak
        now instead of in steps while serving. Returns the shapes run (none for tables and detectors, whose arrays
        are small or of any size). The server runs it on each of its model threads at once (serving/batcher.py)."""
        shapes = []
        for rows in row_buckets(batch_size)[::-1]:
            arrays = self._largest_arrays(rows)
            if arrays is None:
                break
            self._run(arrays)
            shapes.append(next(iter(arrays.values())).shape)
        return shapes

    def _largest_arrays(self, rows: int) -> dict[str, np.ndarray] | None:
        if self.arena_shrink:  # a detector: images of any size, the arena released after each
            return None
        if hasattr(self.reader, "encode") and self.max_length:  # texts cut at the token limit
            return self.reader.pad(self.reader.encode(["a " * 2 * self.max_length] * rows, truncate=True))
        if hasattr(self.reader, "crop"):  # images: one size after the resize and crop
            from PIL import Image

            height, width = self.reader.crop
            return self.reader([Image.new("RGB", (width, height))] * rows)
        return None

    def metadata(self) -> dict[str, Any]:
        """What GET /metadata shows: task, outputs, modality, backbone, limits, parity and the model card."""
        card = self.folder / "README.md"
        keys = ("modality", "kind", "task", "backbone", "parity", "quantised", "transferkit_version", "source")
        return {key: self.manifest.get(key) for key in keys} | {
            "outputs": self.output_names,
            "graph": self.precision,
            "max_length": self.max_length,
            "card": card.read_text(encoding="utf-8") if "README.md" in self.manifest["files"] else None,
        }


def row_buckets(batch_size: int) -> list[int]:
    """The row counts the runtime feeds onnxruntime for images and tables: the powers of two under `batch_size`,
    and `batch_size` (see row_chunks).

    Example::

        row_buckets(6)  # [1, 2, 4, 6]
    """
    batch_size = max(1, int(batch_size))
    return sorted({1 << k for k in range(batch_size.bit_length()) if 1 << k < batch_size} | {batch_size})


def row_chunks(count: int, *, batch_size: int) -> list[tuple[int, int]]:
    """(start, stop) of `count` inputs in chunks of `batch_size`, the remainder cut into powers of two: every
    chunk's row count is one of row_buckets(batch_size), so onnxruntime's arena sees a bounded set of shapes (a
    server's calls of 3, 5, 7 inputs otherwise each bring a new one; measured on EfficientNet-Lite0 with two calls
    in flight after a warm-up at the largest: +14% RSS with any row count, +4.6% with these).

    Example::

        row_chunks(21, batch_size=8)  # [(0, 8), (8, 16), (16, 20), (20, 21)]
    """
    batch_size, chunks, start = max(1, int(batch_size)), [], 0
    while start < count:
        left = count - start
        rows = batch_size if left >= batch_size else 1 << (left.bit_length() - 1)
        chunks.append((start, start + rows))
        start += rows
    return chunks


def length_batches(lengths: np.ndarray, *, batch_size: int, padding: float = PADDING) -> list[slice]:
    """Cut lengths sorted ascending into batches of at most `batch_size` whose padded size (rows x longest) stays
    within `padding` times the tokens they hold: a few short texts are not padded to a long one's length.

    Example::

        length_batches(np.array([10, 11, 12, 60, 64]), batch_size=32)  # [slice(0, 3), slice(3, 5)]
    """
    batches, start, tokens = [], 0, 0
    for end, length in enumerate(lengths.tolist()):
        rows = end - start + 1
        if rows > batch_size or (rows > 1 and rows * length > padding * (tokens + length)):
            batches.append(slice(start, end))
            start, tokens = end, 0
        tokens += length
    if len(lengths):
        batches.append(slice(start, len(lengths)))
    return batches


def _session(path: Path, *, threads: int | None):
    onnxruntime = require("onnxruntime", extra="runtime", purpose="Predicting from a bundle")
    options = onnxruntime.SessionOptions()
    # Idle intra-op threads sleep instead of spinning: on a busy shared machine spinning threads steal the cores the
    # work needs (measured at load ~28 on 2 cores, MiniLM batch 64: 1.7 vs 1.3 texts/s, 1 thread 2.0 vs 1.4).
    options.add_session_config_entry("session.intra_op.allow_spinning", os.environ.get("TRANSFERKIT_ORT_SPIN", "0"))
    # onnxruntime's CPU memory arena stays on: without it every tensor of every operator is a fresh allocation, and
    # batches of 4 images ran at 0.6x the per-image rate of batches of 1 (shrinking the arena after each run did the
    # same). It grows to the largest call's needs and then stays (Bundle.warm_up reaches that peak at start; the
    # sustained run of benchmarks/serve_load.py). TRANSFERKIT_ORT_ARENA: "1" (default), "shrink" (released after
    # each run: less memory, slower), "0" (off).
    options.enable_cpu_mem_arena = _arena() != "0"
    # No memory pattern: with it, each new input shape gets one block sized for all its activations, and a second
    # block once the shape repeats, so the arena kept growing with the shapes a server saw (MiniLM, two calls in
    # flight, every bucketed shape warmed up: 380 MB with patterns, 320 MB without, flat; the same CPU seconds).
    # TRANSFERKIT_ORT_MEM_PATTERN=1 turns them back on (for a side-by-side measurement).
    options.enable_mem_pattern = os.environ.get("TRANSFERKIT_ORT_MEM_PATTERN", "0") == "1"
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        return onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types for a corrupt graph
        raise ArtifactError(f"{path} is not a loadable ONNX graph ({type(exc).__name__}); export again.") from None


def _arena() -> str:
    return os.environ.get("TRANSFERKIT_ORT_ARENA", "1")


def _run_options(*, shrink: bool = False):
    onnxruntime = require("onnxruntime", extra="runtime", purpose="Predicting from a bundle")
    options = onnxruntime.RunOptions()
    if _arena() == "shrink" or (shrink and _arena() == "1"):
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


def load_bundle(folder: str | Path, *, precision: str | None = None, threads: int | None = None) -> Bundle:
    """Check and load the bundle in `folder` (every file against bundle.json's checksums).

    Args:
        folder: A folder written by ``transferkit export MODEL --format onnx --bundle DIR``.
        precision: ``fp32`` or ``int8`` (a quantised bundle); default: the bundle's default graph.
        threads: onnxruntime's intra-op threads [TRANSFERKIT_THREADS, else onnxruntime's default].
    """
    folder = Path(folder)
    manifest = read_bundle_manifest(folder)
    if threads is None and os.environ.get("TRANSFERKIT_THREADS", "").isdigit():
        threads = int(os.environ["TRANSFERKIT_THREADS"])
    if manifest["task"]["name"] == "detection":  # boxes per image, not one row of outputs per input
        from transferkit.runtime.detection import DetectionBundle

        return DetectionBundle(folder, manifest, precision=precision, threads=threads)
    return Bundle(folder, manifest, precision=precision, threads=threads)
