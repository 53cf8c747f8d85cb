"""Embedding extraction with an on-disk cache, so a frozen backbone runs once per input.

Entries are keyed by the backbone's cache key (spec, weights checksum, preprocessing) and the
SHA-256 of each input's content, so a changed or added file recomputes only its own entry.
Each extraction appends one safetensors shard, written to a temporary name and renamed into place.
An index (``index.json`` per backbone) says which shard holds each entry, so a run reads only the shards it
needs; the index is a hint rebuilt from the shards' headers whenever it disagrees with them. A shard that
cannot be read is set aside (renamed ``*.corrupt``) with a warning and its entries are recomputed. The cache
has a size cap (default 2 GiB; ``TRANSFERKIT_CACHE_MAX_GB`` or ``max_bytes=``): past it, the least recently
used shards are deleted. Only files the cache itself writes are ever renamed or deleted. `extract_features(...,
devices=N)` embeds the rows the cache lacks over N processes (`embed_across`), each writing its own shard.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from transferkit.backbones.base import Backbone, Batch
from transferkit.backbones.bf16_embedder import Bf16Embedder, bf16_embeddable
from transferkit.backbones.onnx_embedder import OnnxEmbedder, check_embed_runtime
from transferkit.errors import ConfigError
from transferkit.modalities import get_modality
from transferkit.progress import progress_bar


def default_cache_dir() -> Path:
    return Path(os.environ.get("TRANSFERKIT_CACHE", Path.home() / ".cache" / "transferkit")) / "features"


EMBED_RUNTIME_ENV = "TRANSFERKIT_EMBED_RUNTIME"
_EMBEDDERS: dict[tuple[int, str], OnnxEmbedder] = {}  # one onnxruntime session per backbone and folder
_BF16: dict[tuple[int, bool], Bf16Embedder] = {}  # one per backbone (and fallback), so its check runs once


def default_onnx_dir() -> Path:
    """Where exported embedding graphs live: beside the features, one folder per backbone cache key."""
    return default_cache_dir().parent / "onnx"


def embed_runtime(runtime: str | None = None, *, default: str = "auto") -> str:
    """The frozen stage's runtime: `runtime` when given, else TRANSFERKIT_EMBED_RUNTIME, else `default`: ``auto``
    (`resolve_runtime` turns it into torch or bf16 per backbone) for extraction; streamed predict passes torch.

    Example:
        >>> embed_runtime("onnx")
        'onnx'
    """
    return check_embed_runtime(runtime or os.environ.get(EMBED_RUNTIME_ENV) or default)


def resolve_runtime(backbone: Backbone, runtime: str) -> str:
    """The runtime that embeds `backbone`: ``auto`` is bf16 for text backbones on a CPU with bfloat16 instructions
    (~2x fp32 at cosine >= 0.9999 to it on MiniLM, benchmarks/embed_throughput.py), else torch; others as given.

    Example:
        >>> resolve_runtime(backbone, "onnx")  # doctest: +SKIP
        'onnx'
    """
    if runtime != "auto":
        return runtime
    return "bf16" if get_modality(backbone.modality).bf16_by_default and bf16_embeddable(backbone) else "torch"


def runtime_cache_key(backbone: Backbone, runtime: str) -> str:
    """The cache key of `backbone`'s embeddings on `runtime`: ONNX Runtime's agree with torch's to float noise
    (cosine >= 0.9999) but are kept apart, so one cached set never mixes embeddings of two runtimes."""
    key = backbone.cache_key()
    return key if runtime == "torch" else hashlib.sha256(f"{key}:{runtime}".encode()).hexdigest()[:24]


def onnx_embedder(backbone: Backbone, folder: str | Path | None = None) -> OnnxEmbedder:
    """The ONNX Runtime embedder of `backbone`, exporting its graph once into `folder` (default: the cache's)."""
    folder = Path(folder) if folder is not None else default_onnx_dir() / backbone.cache_key()
    slot = (id(backbone), str(folder))
    if slot not in _EMBEDDERS or _EMBEDDERS[slot].backbone is not backbone:
        _EMBEDDERS[slot] = OnnxEmbedder(backbone, folder)
    return _EMBEDDERS[slot]


def input_hash(modality: str, item: str) -> str:
    """Content hash of one input, as its modality defines it: file bytes for images and clips (not their names),
    the UTF-8 text for texts and table rows."""
    return hashlib.sha256(get_modality(modality).item_bytes(item)).hexdigest()


@dataclass
class ExtractionStats:
    hits: int = 0
    misses: int = 0


DEFAULT_MAX_BYTES = 2 * 1024**3
MAX_BYTES_ENV = "TRANSFERKIT_CACHE_MAX_GB"
INDEX = "index.json"
CORRUPT = ".corrupt"
# The names this cache writes; nothing else in the folder is ever renamed or deleted.
KEY_FOLDER = re.compile(r"[0-9a-f]{24}")  # Backbone.cache_key()
SHARD = re.compile(r"[0-9a-f]{32}\.safetensors")
SET_ASIDE = re.compile(r"[0-9a-f]{32}\.safetensors\.corrupt")
TEMPORARY = re.compile(r"\.[0-9a-f]{32}\.tmp")


def cache_max_bytes() -> int:
    """The size cap: TRANSFERKIT_CACHE_MAX_GB (a number of GiB) when set, else 2 GiB."""
    text = os.environ.get(MAX_BYTES_ENV)
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        gigabytes = float(text)
    except ValueError:
        gigabytes = -1.0
    if not gigabytes > 0:
        raise ConfigError(f"{MAX_BYTES_ENV}={text!r} is not a positive number of GiB; set e.g. {MAX_BYTES_ENV}=2.")
    return int(gigabytes * 1024**3)


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{uuid.uuid4().hex}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


class FeatureCache:
    """Cached embeddings of one backbone configuration, stored as safetensors shards under `root/<key>/`."""

    def __init__(self, root: str | Path, backbone_key: str, *, max_bytes: int | None = None) -> None:
        self.root = Path(root)
        self.folder = self.root / backbone_key
        self.max_bytes = cache_max_bytes() if max_bytes is None else max_bytes
        self._index: dict[str, str] | None = None  # input hash -> shard file name

    def _saved_index(self) -> dict[str, str]:
        try:
            saved = json.loads((self.folder / INDEX).read_text(encoding="utf-8"))
        except (OSError, ValueError):  # missing or damaged: rebuilt from the shards' headers
            return {}
        entries = saved.get("entries") if isinstance(saved, dict) else None
        return {k: v for k, v in entries.items() if isinstance(v, str)} if isinstance(entries, dict) else {}

    def _shard_keys(self, shard: str) -> list[str]:
        try:
            with safe_open(str(self.folder / shard), framework="np") as reader:  # the header only
                return list(reader.keys())
        except FileNotFoundError:  # evicted by another process meanwhile
            return []
        except (SafetensorError, OSError, ValueError) as exc:
            self._set_aside(shard, exc)
            return []

    def _entries(self) -> dict[str, str]:
        """The index, reconciled with the shards on disk (other processes add and evict shards too)."""
        if self._index is None:
            saved = self._saved_index()
            shards = (
                {p.name for p in self.folder.iterdir() if SHARD.fullmatch(p.name)} if self.folder.is_dir() else set()
            )
            index = {key: shard for key, shard in saved.items() if shard in shards}
            for shard in sorted(shards - set(index.values())):
                index.update(dict.fromkeys(self._shard_keys(shard), shard))
            self._index = index
            if index != saved:
                self._write_index()
        return self._index

    def _write_index(self) -> None:
        if self.folder.is_dir() and self._index is not None:
            _write_atomic(self.folder / INDEX, json.dumps({"version": 1, "entries": self._index}))

    def _forget(self, shards: set[str]) -> None:
        if self._index is not None:
            self._index = {key: shard for key, shard in self._index.items() if shard not in shards}
            self._write_index()

    def _set_aside(self, shard: str, exc: BaseException) -> None:
        path = self.folder / shard
        aside = path.with_name(shard + CORRUPT)
        try:
            os.replace(path, aside)
        except FileNotFoundError:
            return
        warnings.warn(
            f"Embedding cache shard {path} is unreadable ({type(exc).__name__}: {str(exc)[:120]}); set aside as "
            f"{aside.name} and its embeddings will be recomputed. `transferkit cache clear` removes it.",
            RuntimeWarning,
            stacklevel=2,
        )
        self._forget({shard})

    def _read(self, shard: str, keys: list[str]) -> dict[str, np.ndarray]:
        path = self.folder / shard
        try:
            with safe_open(str(path), framework="np") as reader:
                values = {key: reader.get_tensor(key) for key in keys}
        except FileNotFoundError:
            self._forget({shard})
            return {}
        except (SafetensorError, OSError, ValueError) as exc:
            self._set_aside(shard, exc)
            return {}
        os.utime(path)  # its modification time is its last use: eviction removes the least recently used
        return values

    def get_many(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached embeddings of `keys` that exist, reading only the shards that hold them."""
        index = self._entries()
        wanted: dict[str, list[str]] = defaultdict(list)
        for key in keys:
            if key in index:
                wanted[index[key]].append(key)
        found: dict[str, np.ndarray] = {}
        for shard, shard_keys in wanted.items():
            found.update(self._read(shard, shard_keys))
        return found

    def get(self, key: str) -> np.ndarray | None:
        return self.get_many([key]).get(key)

    def put_many(self, entries: dict[str, np.ndarray]) -> None:
        if not entries:
            return
        index = self._entries()
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}.safetensors"
        temporary = self.folder / f".{uuid.uuid4().hex}.tmp"
        try:
            save_file({key: np.ascontiguousarray(value) for key, value in entries.items()}, str(temporary))
            os.replace(temporary, self.folder / name)  # atomic: readers never see half a shard
        finally:
            temporary.unlink(missing_ok=True)
        index.update(dict.fromkeys(entries, name))
        self._write_index()
        removed = evict(self.root, max_bytes=self.max_bytes, keep={self.folder / name})
        self._forget({path.name for path in removed if path.parent == self.folder})


def _shards(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    folders = [folder for folder in root.iterdir() if folder.is_dir() and KEY_FOLDER.fullmatch(folder.name)]
    return [path for folder in folders for path in folder.iterdir() if SHARD.fullmatch(path.name)]


def evict(root: str | Path, *, max_bytes: int, keep: Iterable[Path] = ()) -> list[Path]:
    """Delete the least recently used shards under `root` until they fit in `max_bytes`; returns those deleted."""
    sized = []
    for path in _shards(Path(root)):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        sized.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in sized)
    keep = set(keep)
    removed = []
    for _, size, path in sorted(sized):
        if total <= max_bytes:
            break
        if path in keep:
            continue
        path.unlink(missing_ok=True)
        total -= size
        removed.append(path)
    return removed


@dataclass(frozen=True)
class CacheInfo:
    location: Path
    size_bytes: int
    entries: int
    shards: int
    backbones: int
    set_aside: int
    max_bytes: int


def cache_info(root: str | Path | None = None) -> CacheInfo:
    """Size, entries and location of the embedding cache at `root` (default: the user's cache).

    Example:
        >>> cache_info("/tmp/no-cache-here").entries
        0
    """
    root = Path(root) if root is not None else default_cache_dir()
    shards = _shards(root)
    folders = {path.parent for path in shards}
    entries = sum(len(FeatureCache(root, folder.name, max_bytes=0)._entries()) for folder in folders)
    aside = [p for p in _owned_files(root) if SET_ASIDE.fullmatch(p.name)]
    size = sum(path.stat().st_size for path in _owned_files(root) if path.exists())
    return CacheInfo(root, size, entries, len(shards), len(folders), len(aside), cache_max_bytes())


def _owned_files(root: Path) -> list[Path]:
    return [
        path
        for folder in _key_folders(root)
        for path in folder.iterdir()
        if path.is_file() and not path.is_symlink() and _is_cache_file(path.name)
    ]


def _is_cache_file(name: str) -> bool:
    return name == INDEX or any(pattern.fullmatch(name) for pattern in (SHARD, SET_ASIDE, TEMPORARY))


def clear_cache(root: str | Path | None = None) -> tuple[int, int]:
    """Delete the embedding cache's own files at `root` (shards, index, set-aside shards, temporaries) and the
    folders they leave empty; anything else there stays. Returns (files removed, bytes freed).

    Example:
        >>> clear_cache("/tmp/no-cache-here")
        (0, 0)
    """
    root = Path(root) if root is not None else default_cache_dir()
    removed = freed = 0
    for path in _owned_files(root):
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue
        removed, freed = removed + 1, freed + size
    for folder in _key_folders(root):
        if not any(folder.iterdir()):  # a folder holding anything else stays, with it
            folder.rmdir()
    return removed, freed


def _key_folders(root: Path) -> set[Path]:
    if not root.is_dir():
        return set()
    return {f for f in root.iterdir() if f.is_dir() and not f.is_symlink() and KEY_FOLDER.fullmatch(f.name)}


def cached_count(backbone: Backbone, inputs: list[str], *, cache_dir: str | Path | None = None, runtime: str) -> int:
    """How many of `inputs` have an embedding cached for `runtime` (only the cache's index is read): strategy auto
    prices the held-out rows' scoring with it."""
    key = runtime_cache_key(backbone, resolve_runtime(backbone, embed_runtime(runtime)))
    entries = FeatureCache(cache_dir or default_cache_dir(), key)._entries()
    return sum(input_hash(backbone.modality, item) in entries for item in inputs)


def extract_features(
    backbone: Backbone,
    inputs: list[str],
    *,
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
    description: str = "Extracting features",
    use_cache: bool = True,
    runtime: str | None = None,
    devices: int = 1,
    num_nodes: int = 1,
    accelerator: str = "auto",
) -> tuple[np.ndarray, ExtractionStats]:
    """Embed `inputs` with the frozen backbone, reusing cached entries.

    `runtime` runs the backbone on ``torch``, ``onnx`` (ONNX Runtime, its graph exported once into the cache),
    ``bf16`` (torch autocast on CPUs with bfloat16 instructions, checked against fp32 on the first batch) or
    ``auto`` (bf16 for text where the CPU has it, falling back to fp32 if the check fails; else torch);
    default: TRANSFERKIT_EMBED_RUNTIME, else auto. Texts are embedded longest first, so each batch pads little.
    `devices` x `num_nodes` > 1 shares the rows the cache lacks over that many processes (`embed_across`).

    Example::

        features, stats = extract_features(backbone, ["great food", "awful"], cache_dir="/tmp/c")
        features.shape  # (2, 384)
    """
    keys = [input_hash(backbone.modality, item) for item in inputs]
    runtime = embed_runtime(runtime)  # auto stays auto below: only the default falls back to fp32
    key = runtime_cache_key(backbone, resolve_runtime(backbone, runtime))
    cache = FeatureCache(cache_dir or default_cache_dir(), key) if use_cache else None
    found = cache.get_many(set(keys)) if cache is not None else {}
    first_index: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key not in found:
            first_index.setdefault(key, index)  # duplicates are embedded once
    missing = list(first_index.items())
    sizes = backbone.input_sizes([inputs[index] for _, index in missing]) if missing else None
    if sizes is not None:  # longest first, so similar lengths share a batch and dynamic padding wastes little
        missing = [entry for _, entry in sorted(zip(sizes, missing, strict=True), key=lambda pair: -pair[0])]
    hits = sum(key in found for key in keys)
    stats = ExtractionStats(hits=hits, misses=len(keys) - hits)
    if missing and cache is not None and devices * num_nodes > 1 and share_strategy() is not None:
        shared = [(entry_key, inputs[row]) for entry_key, row in missing]
        places = {"devices": devices, "num_nodes": num_nodes, "accelerator": accelerator}
        embed_across(backbone, shared, cache, batch_size=batch_size, runtime=runtime, description=description, **places)
        cache = FeatureCache(cache.root, cache.folder.name, max_bytes=cache.max_bytes)  # as the ranks left it
        found.update(cache.get_many({entry_key for entry_key, _ in missing}))
        missing = [entry for entry in missing if entry[0] not in found]  # none, unless the size cap evicted some
    features = embed_missing(
        backbone,
        keys,
        found,
        missing,
        lambda rows: backbone.load_batch([inputs[row] for row in rows]),
        cache=cache,
        description=description,
        batch_size=batch_size,
        runtime=runtime,
    )
    return features, stats


def embed_missing(
    backbone: Backbone,
    keys: list[str],
    found: dict[str, np.ndarray],
    missing: list[tuple[str, int]],
    make_batch: Callable[[list[int]], Batch],
    *,
    cache: FeatureCache | None,
    description: str,
    batch_size: int,
    runtime: str = "torch",
) -> np.ndarray:
    """The embeddings of `keys` in order: those in `found`, and the `missing` (key, row) pairs embedded in
    batches that `make_batch(rows)` builds (on `runtime`, as `extract_features`), then stored in `cache`."""
    computed: dict[str, np.ndarray] = {}
    if missing:
        backbone.eval()
        embed = embedder(backbone, check_embed_runtime(runtime))
        with torch.inference_mode(), progress_bar(description, total=len(missing)) as advance:
            for start in range(0, len(missing), batch_size):
                chunk = missing[start : start + batch_size]
                embeddings = embed(make_batch([row for _, row in chunk]))
                computed.update(zip([key for key, _ in chunk], embeddings, strict=True))
                advance(len(chunk))
        if cache is not None:
            cache.put_many(computed)
    found.update(computed)
    if not keys:
        return np.zeros((0, backbone.num_features), np.float32)
    return np.stack([found[key] for key in keys]).astype(np.float32)


def embedder(backbone: Backbone, runtime: str) -> Callable[[Batch], np.ndarray]:
    """Backbone batch -> embeddings (numpy) on `runtime`: torch, onnx (ONNX Runtime), bf16 (torch autocast) or
    auto (bf16 where `resolve_runtime` picks it, back to fp32 if its first-batch check fails; else torch)."""
    chosen = resolve_runtime(backbone, runtime)
    if chosen == "onnx":
        return onnx_embedder(backbone)
    if chosen == "bf16":
        slot = (id(backbone), runtime == "auto")  # only the default falls back; an explicit bf16 raises
        if slot not in _BF16 or _BF16[slot].backbone is not backbone:
            _BF16[slot] = Bf16Embedder(backbone, fallback=runtime == "auto")
        return _BF16[slot]
    return lambda batch: backbone(batch).float().cpu().numpy()


def processes(run: Any) -> dict[str, Any]:
    """`extract_features`' devices, num_nodes and accelerator from a RunSpec's run section (--devices and co.).

    Example::

        extract_features(backbone, inputs, **processes(spec.run))
    """
    return {"devices": run.devices, "num_nodes": run.num_nodes, "accelerator": run.accelerator}


def in_process_group() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def close_process_group() -> None:
    """Close the gloo / nccl group Lightning leaves open after a multi-process job (else the process may abort at
    exit, and the next job in this process could not open its own)."""
    if in_process_group():
        torch.distributed.destroy_process_group()


def share_strategy() -> str | None:
    """How extraction is shared from this process: ``ddp`` in a rank that torchrun or SLURM started, ``ddp_spawn``
    in a plain process, None (embed locally) inside another distributed job: a process group already open, or a
    process of a Lightning Trainer's DDP (WORLD_SIZE set without torchrun); those read what the cache holds."""
    if in_process_group():
        return None
    if "TORCHELASTIC_RUN_ID" in os.environ or int(os.environ.get("SLURM_NTASKS", "1")) > 1:
        return "ddp"
    return None if int(os.environ.get("WORLD_SIZE", "1")) > 1 else "ddp_spawn"


def embed_across(
    backbone: Backbone,
    items: list[tuple[str, str]],
    cache: FeatureCache,
    *,
    devices: int,
    num_nodes: int = 1,
    accelerator: str = "auto",
    batch_size: int = 32,
    runtime: str = "torch",
    description: str = "Extracting features",
) -> None:
    """Embed the (cache key, input) `items` into `cache` over `devices` x `num_nodes` processes (Lightning Fabric,
    as `predict --devices`): batch i goes to rank i mod world size, each rank writes its own shard, and rank 0
    rewrites the index over every shard after a barrier. The batches are those one process would embed, so the
    embeddings equal one process's. One machine: processes are spawned; under torchrun or SLURM, the ranks that
    launched the command each take their share."""
    from lightning.fabric import Fabric

    if devices < 1 or num_nodes < 1:
        raise ConfigError("The 'devices' and 'num_nodes' options must be positive numbers.")
    if resolve_runtime(backbone, runtime) == "onnx":
        onnx_embedder(backbone)  # exported once here, so the ranks never write the same graph at once
    strategy = share_strategy() or "ddp_spawn"
    fabric = Fabric(accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy=strategy)
    share = {"batch_size": batch_size, "runtime": runtime, "description": description}
    port = os.environ.get("MASTER_PORT")
    try:
        fabric.launch(_embed_share, backbone, items, str(cache.root), cache.folder.name, share)
    finally:
        if port is None:  # the spawn launcher sets it: a later Trainer then picks its own port
            os.environ.pop("MASTER_PORT", None)


def _embed_share(fabric: Any, backbone: Backbone, items: list, root: str, key: str, share: dict[str, Any]) -> None:
    """One rank's batches of `items`, written to the cache as one shard; then rank 0 merges the index."""
    batch_size = share["batch_size"]
    batches = [items[start : start + batch_size] for start in range(0, len(items), batch_size)]
    mine = [item for batch in batches[fabric.global_rank :: fabric.world_size] for item in batch]
    device = fabric.device
    on_device = getattr(device, "type", "cpu") != "cpu"
    if on_device:
        backbone.to(device)

    def make_batch(rows: list[int]) -> Batch:
        batch = backbone.load_batch([mine[row][1] for row in rows])
        if not on_device:
            return batch
        return {k: v.to(device) for k, v in batch.items()} if isinstance(batch, dict) else batch.to(device)

    try:
        embed_missing(
            backbone,
            [],
            {},
            [(entry_key, row) for row, (entry_key, _) in enumerate(mine)],
            make_batch,
            cache=FeatureCache(root, key),
            description=f"{share['description']} (process {fabric.global_rank + 1} of {fabric.world_size})",
            batch_size=batch_size,
            runtime="torch" if on_device else share["runtime"],  # onnx and bf16 are the CPU's runtimes
        )
        fabric.barrier()
        if fabric.global_rank == 0:
            FeatureCache(root, key)._entries()  # rebuilt from every rank's shard header and saved
        fabric.barrier()
    finally:
        close_process_group()
