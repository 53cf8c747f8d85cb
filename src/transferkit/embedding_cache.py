"""Embedding extraction with an on-disk cache, so a frozen backbone runs once per input.

Entries are keyed by the backbone's cache key (spec, weights checksum, preprocessing) and the
SHA-256 of each input's content, so a changed or added file recomputes only its own entry.
Each extraction appends one safetensors shard, written to a temporary name and renamed into place.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

from transferkit.backbones.base import Backbone
from transferkit.progress import progress_bar


def default_cache_dir() -> Path:
    return Path(os.environ.get("TRANSFERKIT_CACHE", Path.home() / ".cache" / "transferkit")) / "features"


FILE_MODALITIES = ("image", "audio")  # inputs are file paths; their bytes, not their names, key the cache


def input_hash(modality: str, item: str) -> str:
    """Content hash of one input: file bytes for images and audio clips, the UTF-8 text for text."""
    payload = Path(item).read_bytes() if modality in FILE_MODALITIES else item.encode("utf-8")
    return hashlib.sha256(payload).hexdigest()


@dataclass
class ExtractionStats:
    hits: int = 0
    misses: int = 0


class FeatureCache:
    """Cached embeddings of one backbone configuration, stored as safetensors shards under `root/<key>/`."""

    def __init__(self, root: str | Path, backbone_key: str) -> None:
        self.folder = Path(root) / backbone_key
        self._entries: dict[str, np.ndarray] | None = None

    def _load(self) -> dict[str, np.ndarray]:
        if self._entries is None:
            self._entries = {}
            for shard in sorted(self.folder.glob("*.safetensors")):
                self._entries.update(load_file(shard))
        return self._entries

    def get(self, key: str) -> np.ndarray | None:
        return self._load().get(key)

    def put_many(self, entries: dict[str, np.ndarray]) -> None:
        if not entries:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        temporary = self.folder / f".{name}.tmp"
        save_file({key: np.ascontiguousarray(value) for key, value in entries.items()}, str(temporary))
        os.replace(temporary, self.folder / f"{name}.safetensors")  # atomic: readers never see half a shard
        self._load().update(entries)


def extract_features(
    backbone: Backbone,
    inputs: list[str],
    *,
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
    description: str = "Extracting features",
    use_cache: bool = True,
) -> tuple[np.ndarray, ExtractionStats]:
    """Embed `inputs` with the frozen backbone, reusing cached entries.

    Example:
        >>> features, stats = extract_features(backbone, ["great food", "awful"], cache_dir="/tmp/c")  # doctest: +SKIP
        >>> features.shape
        (2, 384)
    """
    stats = ExtractionStats()
    keys = [input_hash(backbone.modality, item) for item in inputs]
    cache = FeatureCache(cache_dir or default_cache_dir(), backbone.cache_key()) if use_cache else None
    found: dict[str, np.ndarray] = {}
    if cache is not None:
        for key in set(keys):
            value = cache.get(key)
            if value is not None:
                found[key] = value
    first_index: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key not in found:
            first_index.setdefault(key, index)  # duplicates are embedded once
    missing = list(first_index.items())
    sizes = backbone.input_sizes([inputs[index] for _, index in missing]) if missing else None
    if sizes is not None:  # longest first, so similar lengths share a batch and dynamic padding wastes little
        missing = [entry for _, entry in sorted(zip(sizes, missing, strict=True), key=lambda pair: -pair[0])]
    stats.hits = sum(key in found for key in keys)
    stats.misses = len(keys) - stats.hits
    computed: dict[str, np.ndarray] = {}
    if missing:
        backbone.eval()
        with torch.inference_mode(), progress_bar(description, total=len(missing)) as advance:
            for start in range(0, len(missing), batch_size):
                chunk = missing[start : start + batch_size]
                batch = backbone.load_batch([inputs[index] for _, index in chunk])
                embeddings = backbone(batch).float().cpu().numpy()
                for (key, _), embedding in zip(chunk, embeddings, strict=True):
                    computed[key] = embedding
                advance(len(chunk))
        if cache is not None:
            cache.put_many(computed)
    found.update(computed)
    if not keys:
        return np.zeros((0, backbone.num_features), np.float32), stats
    return np.stack([found[key] for key in keys]).astype(np.float32), stats
