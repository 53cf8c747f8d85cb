"""Greedy text generation from an exported language-model bundle with onnxruntime, numpy and tokenizers only.

The bundle (``transferkit export runs/X/model --format onnx --bundle DIR`` on a causal-lm / seq2seq-pairs run)
holds the decoder graph with past key/values (``decoder.onnx``: each step feeds only the new token and the cache
the previous step returned), ``tokenizer.json`` and ``bundle.json`` (how prompts are written, the end-of-text
and pad ids, the cache's shape, and the SHA-256 of every file, checked before anything is read).

Example::

    from transferkit.runtime.generator import load_generator

    generator = load_generator("bundles/reviews-lm")
    generator.generate(["this coffee is"], max_new_tokens=20)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from transferkit.errors import ArtifactError, ConfigError, require
from transferkit.runtime.manifest import BUNDLE_MANIFEST, file_sha256

GENERATOR_KIND = "generator"
GENERATOR_FORMAT = 1


def _fix(folder: Path) -> str:
    return f"export it again (transferkit export MODEL --format onnx --bundle {folder})"


def read_generator_manifest(folder: str | Path) -> dict[str, Any]:
    """bundle.json of a language-model bundle, after checking every listed file's SHA-256."""
    folder = Path(folder)
    path = folder / BUNDLE_MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ArtifactError(f"{path} is missing or not JSON; {_fix(folder)}.") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != GENERATOR_KIND:
        raise ArtifactError(f"{folder} is not a language-model bundle (bundle.json kind != generator); {_fix(folder)}.")
    if manifest.get("format") != GENERATOR_FORMAT:
        raise ArtifactError(f"{path} has format {manifest.get('format')!r}, not {GENERATOR_FORMAT}; {_fix(folder)}.")
    for name, checksum in manifest.get("files", {}).items():
        file = folder / name
        if Path(name).name != name or file.is_symlink() or not file.is_file():
            raise ArtifactError(f"{file} is missing or not a plain file of the bundle; {_fix(folder)}.")
        if file_sha256(file) != checksum:
            raise ArtifactError(f"{file} does not match its checksum in {BUNDLE_MANIFEST} (altered); {_fix(folder)}.")
    return manifest


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """The text up to the first stop string.

    Example:
        >>> cut_at_stop("great\\n\\nReview: next", ["\\n\\n"])
        'great'
    """
    cuts = [text.find(s) for s in stop if s in text]
    return text[: min(cuts)] if cuts else text


class Generator:
    """An exported language model: `generate` continues prompts greedily, `stream` yields one's text as it grows."""

    def __init__(self, folder: Path, manifest: dict[str, Any], *, threads: int | None = None) -> None:
        tokenizers = require("tokenizers", extra="runtime", purpose="Generating from a bundle")
        onnxruntime = require("onnxruntime", extra="runtime", purpose="Generating from a bundle")
        self.folder = folder
        self.manifest = manifest
        self.tokenizer = tokenizers.Tokenizer.from_file(str(folder / manifest["tokenizer"]))
        options = onnxruntime.SessionOptions()
        options.add_session_config_entry("session.intra_op.allow_spinning", os.environ.get("TRANSFERKIT_ORT_SPIN", "0"))
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = onnxruntime.InferenceSession(
                str(folder / manifest["graph"]), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own types for a corrupt graph
            raise ArtifactError(
                f"{folder / manifest['graph']} is not a loadable ONNX graph ({type(exc).__name__}); export again."
            ) from None
        cache = manifest["cache"]
        self.layers, self.kv_heads, self.head_dim = cache["layers"], cache["kv_heads"], cache["head_dim"]
        self.eos_ids = set(manifest["eos_token_ids"])
        self.pad_id = int(manifest["pad_token_id"])

    def format_prompt(self, prompt: str) -> str:
        """The prompt as training wrote prompts (a pairs model's chat template or newline; a corpus model: as is)."""
        fmt = self.manifest["prompt_format"]
        return f"{fmt['prefix']}{prompt}{fmt['suffix']}"

    def encode(self, prompt: str) -> list[int]:
        """Token ids of a prompt, formatted as in training."""
        add = bool(self.manifest["prompt_format"]["add_special_tokens"])
        return self.tokenizer.encode(self.format_prompt(prompt), add_special_tokens=add).ids

    def _empty_cache(self, batch: int) -> dict[str, np.ndarray]:
        shape = (batch, self.kv_heads, 0, self.head_dim)
        return {
            f"past_{kind}_{i}": np.zeros(shape, np.float32) for i in range(self.layers) for kind in ("key", "value")
        }

    def _first_feed(self, prompt_ids: list[list[int]]) -> dict[str, np.ndarray]:
        """The prompts left-padded into one batch, with an empty cache (positions count real tokens only)."""
        if not prompt_ids or any(not ids for ids in prompt_ids):
            raise ConfigError("Every prompt needs at least one token; give non-empty prompts.")
        width = max(len(ids) for ids in prompt_ids)
        batch = len(prompt_ids)
        ids = np.full((batch, width), self.pad_id, np.int64)
        mask = np.zeros((batch, width), np.int64)
        for row, tokens in enumerate(prompt_ids):
            ids[row, width - len(tokens) :] = tokens
            mask[row, width - len(tokens) :] = 1
        positions = np.where(mask == 1, mask.cumsum(1) - 1, 1)
        return {"input_ids": ids, "attention_mask": mask, "position_ids": positions, **self._empty_cache(batch)}

    def first_step_logits(self, prompt_ids: list[list[int]]) -> np.ndarray:
        """The next-token logits after each prompt (batch, vocabulary): what the parity check compares."""
        return self.session.run(["logits"], self._first_feed(prompt_ids))[0][:, -1]

    def step_tokens(self, prompt_ids: list[list[int]], *, max_new_tokens: int) -> Iterator[np.ndarray]:
        """Yield the greedy next token of every row, step by step (rows left-padded; finished rows get the pad id)."""
        feed = self._first_feed(prompt_ids)
        ids, mask, positions = feed.pop("input_ids"), feed.pop("attention_mask"), feed.pop("position_ids")
        batch = len(prompt_ids)
        past = feed
        done = np.zeros(batch, bool)
        names = [output.name for output in self.session.get_outputs()]
        for _ in range(max_new_tokens):
            outputs = self.session.run(
                None, {"input_ids": ids, "attention_mask": mask, "position_ids": positions, **past}
            )
            chosen = outputs[0][:, -1].argmax(-1).astype(np.int64)
            chosen = np.where(done, self.pad_id, chosen)
            yield chosen
            done |= np.isin(chosen, list(self.eos_ids))
            if done.all():
                return
            past = {name.replace("present", "past"): value for name, value in zip(names[1:], outputs[1:], strict=True)}
            ids = chosen[:, None]
            positions = positions[:, -1:] + 1
            mask = np.concatenate([mask, np.ones((batch, 1), np.int64)], axis=1)

    def generate_ids(self, prompt_ids: list[list[int]], *, max_new_tokens: int) -> list[list[int]]:
        """The new token ids of each prompt, up to and including its end-of-text token."""
        rows: list[list[int]] = [[] for _ in prompt_ids]
        finished = [False] * len(prompt_ids)
        for chosen in self.step_tokens(prompt_ids, max_new_tokens=max_new_tokens):
            for row, token in enumerate(chosen.tolist()):
                if not finished[row]:
                    rows[row].append(token)
                    finished[row] = token in self.eos_ids
        return rows

    def _settings(self, max_new_tokens: int | None, stop: Sequence[str] | None) -> tuple[int, list[str]]:
        limit = int(max_new_tokens or self.manifest["generation"]["max_new_tokens"])
        if limit < 1:
            raise ConfigError(f"max_new_tokens must be at least 1. Got {limit}.")
        return limit, list(self.manifest["generation"]["stop"] if stop is None else stop)

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int | None = None,
        stop: Sequence[str] | None = None,
        batch_size: int = 8,
    ) -> list[str]:
        """The greedy continuation of each prompt, without special tokens, cut at the stop strings."""
        limit, stops = self._settings(max_new_tokens, stop)
        texts: list[str] = []
        for start in range(0, len(prompts), batch_size):
            encoded = [self.encode(prompt) for prompt in prompts[start : start + batch_size]]
            for ids in self.generate_ids(encoded, max_new_tokens=limit):
                texts.append(cut_at_stop(self.tokenizer.decode(ids, skip_special_tokens=True), stops).strip())
        return texts

    def stream(self, prompt: str, *, max_new_tokens: int | None = None, stop: Sequence[str] | None = None):
        """Yield the continuation of one prompt piece by piece as tokens are chosen (stop strings end it)."""
        limit, stops = self._settings(max_new_tokens, stop)
        tokens: list[int] = []
        shown = ""
        for chosen in self.step_tokens([self.encode(prompt)], max_new_tokens=limit):
            token = int(chosen[0])
            if token in self.eos_ids:
                return
            tokens.append(token)
            text = self.tokenizer.decode(tokens, skip_special_tokens=True)
            visible = cut_at_stop(text, stops)
            if len(visible) > len(shown) and not text.endswith("\ufffd"):  # a split multi-byte character waits
                yield visible[len(shown) :]
                shown = visible
            if len(visible) < len(text):
                return


def load_generator(folder: str | Path, *, threads: int | None = None) -> Generator:
    """Check and load a language-model bundle (every file against bundle.json's checksums).

    Args:
        folder: A folder written by ``transferkit export MODEL --format onnx --bundle DIR`` for a language model.
        threads: onnxruntime's intra-op threads [TRANSFERKIT_THREADS, else onnxruntime's default].
    """
    folder = Path(folder)
    manifest = read_generator_manifest(folder)
    if threads is None and os.environ.get("TRANSFERKIT_THREADS", "").isdigit():
        threads = int(os.environ["TRANSFERKIT_THREADS"])
    return Generator(folder, manifest, threads=threads)
