"""Embeddings per second measured on this machine, cached as JSON for the advisor and `backbones show`.

The cache lives at ``$TRANSFERKIT_CACHE/backbone_speed.json`` (default ``~/.cache/transferkit``), keyed
by the backbone's cache key and the torch thread count, since both change the figure.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import torch

from transferkit.backbones.base import Backbone
from transferkit.run_folder import write_json


def speed_cache_path() -> Path:
    root = Path(os.environ.get("TRANSFERKIT_CACHE", Path.home() / ".cache" / "transferkit"))
    return root / "backbone_speed.json"


def _key(backbone: Backbone) -> str:
    return f"{backbone.cache_key()}|threads={torch.get_num_threads()}"


def _read() -> dict[str, Any]:
    path = speed_cache_path()
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def cached_speed(backbone: Backbone) -> dict[str, Any] | None:
    """The stored measurement for this backbone and thread count, or None."""
    return _read().get(_key(backbone))


def measure_speed(backbone: Backbone, inputs: list[str], *, batch_size: int = 32, repeats: int = 1) -> dict[str, Any]:
    """Embed `inputs` (after one warm-up batch) and store embeddings/s in the speed cache."""
    backbone.eval()
    with torch.inference_mode():
        backbone(backbone.load_batch(inputs[:batch_size]))  # warm-up: lazy init, allocator, caches
        started = time.perf_counter()
        for _ in range(repeats):
            for start in range(0, len(inputs), batch_size):
                backbone(backbone.load_batch(inputs[start : start + batch_size]))
        seconds = time.perf_counter() - started
    record = {
        "spec": backbone.spec,
        "embeddings_per_s": round(len(inputs) * repeats / seconds, 2),
        "inputs": len(inputs) * repeats,
        "batch_size": batch_size,
        "threads": torch.get_num_threads(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    speed_cache_path().parent.mkdir(parents=True, exist_ok=True)
    write_json(speed_cache_path(), _read() | {_key(backbone): record})
    return record


def sample_inputs(modality: str, folder: Path, *, count: int = 64) -> list[str]:
    """Real inputs to time a backbone on: skimage photos, fine-food-like sentences, or synthetic tone clips."""
    if modality == "image":
        from PIL import Image
        from skimage import data

        paths = []
        for index, name in enumerate(("chelsea", "coffee", "astronaut", "rocket")):
            path = folder / f"{index}.png"
            Image.fromarray(getattr(data, name)()).save(path)
            paths.append(str(path))
        return [paths[i % len(paths)] for i in range(count)]
    if modality == "text":
        sentences = (
            "The coffee was fresh and rich.",
            "Delivery took far too long and the box was damaged.",
            "Great taste, my kids love these crackers and ask for more every day.",
            "Stale.",
        )
        return [f"{sentences[i % len(sentences)]} ({i})" for i in range(count)]
    import numpy as np
    import soundfile

    paths = []
    for index in range(4):
        seconds = 1.0 + index
        t = np.arange(int(16000 * seconds)) / 16000
        path = folder / f"{index}.wav"
        soundfile.write(path, (0.2 * np.sin(2 * np.pi * (220 + 110 * index) * t)).astype(np.float32), 16000)
        paths.append(str(path))
    return [paths[i % len(paths)] for i in range(max(count // 4, 8))]
