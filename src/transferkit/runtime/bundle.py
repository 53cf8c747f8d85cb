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
        for start in range(0, len(inputs), batch_size):
            chunk = list(inputs[start : start + batch_size])
            chunks.append(self._run(self.reader(chunk, truncate=truncate, offset=start)))  # errors name the position
        return np.concatenate(chunks)

    def _run(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(None, {name: arrays[name] for name in self.input_names}, self.run_options)[0]

    def predict(self, inputs: Sequence[Any], *, batch_size: int = 32, truncate: bool = True) -> list[dict[str, Any]]:
        """One decision per input, by the task's rule (label and probabilities, labels, or value)."""
        return decisions(self.predict_proba(inputs, batch_size=batch_size, truncate=truncate), self.task)

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
    # same). It grows to the largest batch's needs and then stays flat (benchmarks/serve_load.py: the sustained
    # run). TRANSFERKIT_ORT_ARENA: "1" (default), "shrink" (released after each run: less memory, slower), "0" (off).
    options.enable_cpu_mem_arena = _arena() != "0"
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
