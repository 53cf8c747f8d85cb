"""Measuring a backbone's cost on this machine: peak memory while it runs, single-input latency, size.

Example:
    >>> with PeakMemory() as memory:
    ...     block = bytearray(50 << 20)
    >>> memory.peak_mb >= 0
    True
"""

from __future__ import annotations

import os
import re
import resource
import sys
import threading
import time
from pathlib import Path

import torch

from transferkit.backbones.base import Backbone

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_STATM = Path("/proc/self/statm")


def current_rss_bytes() -> int | None:
    """Resident set size of this process now (Linux /proc), or None where it cannot be read."""
    try:
        return int(_STATM.read_text().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def _max_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux


class PeakMemory:
    """Context manager: how far the process's resident memory rose above its level on entry (MB).

    RSS is sampled every `interval` seconds by a background thread (torch's CPU allocations are not
    visible to tracemalloc, so RSS is the honest measure). Without /proc it falls back to the
    process high-water mark, which only shows rises above every earlier peak.
    """

    def __init__(self, *, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = 0
        self._peak = 0

    def _sample(self) -> None:
        while not self._stop.is_set():
            rss = current_rss_bytes() or 0
            self._peak = max(self._peak, rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        rss = current_rss_bytes()
        if rss is None:
            self._start = _max_rss_bytes()
        else:
            self._start = self._peak = rss
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._peak = max(self._peak, current_rss_bytes() or 0)
        else:
            self._peak = _max_rss_bytes()
        self.peak_mb = max(0.0, (self._peak - self._start) / 2**20)


def measure_latency(backbone: Backbone, sample: list[str], *, repeats: int = 3, device: str = "cpu") -> float:
    """Median milliseconds to embed one input (preprocessing included), after one warm-up run."""
    backbone.eval()
    backbone.to(device)
    timings = []
    with torch.inference_mode():
        for attempt in range(repeats + 1):
            started = time.perf_counter()
            batch = backbone.load_batch(sample[:1])
            batch = batch.to(device) if isinstance(batch, torch.Tensor) else {k: v.to(device) for k, v in batch.items()}
            backbone(batch)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            if attempt:  # the first run warms caches and allocators
                timings.append(time.perf_counter() - started)
    backbone.to("cpu")
    timings.sort()
    return 1000.0 * timings[len(timings) // 2]


_PARAMS = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kKmMbBgG]?)\s*$")
_PARAM_UNITS = {"": 1e-6, "k": 1e-3, "m": 1.0, "b": 1e3, "g": 1e3}


def parse_params(text: str | None) -> float | None:
    """Millions of parameters from a registry string such as '4.7M', '135M', '1.1B'; None if unknown."""
    match = _PARAMS.match(text or "")
    if not match:
        return None
    return float(match.group(1)) * _PARAM_UNITS[match.group(2).lower()]


def weights_mb(backbone: Backbone) -> float:
    """Size of the backbone's parameters and buffers in memory (MB)."""
    tensors = [*backbone.parameters(), *backbone.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors) / 2**20
