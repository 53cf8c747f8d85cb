"""What `transferkit serve` is configured with: batching, limits and timeouts (each a --flag)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ServeSettings:
    """Batching, request limits and timeouts of one server process.

    Attributes:
        max_batch: Inputs predicted together, at most (requests batched across clients); also the largest model
            call, which the warm-up runs on each pipeline thread, so it sets the server's memory (8: MiniLM
            ~300 MB, EfficientNet-Lite0 ~450 MB; 32: ~450 MB and ~1.2 GB).
        call_size: Inputs per batch, i.e. per model call (None: measured while serving, the fastest per input of
            1, 2, 4, ... up to max_batch; see serving/adaptive.py).
        max_wait_ms: How long the first request of a batch waits for others to join it.
        max_items: Inputs per request, at most (HTTP 413 beyond).
        max_request_mb: Request body size, at most (HTTP 413 beyond).
        max_queue: Requests waiting for the model, at most (HTTP 503 beyond: retry later).
        timeout_s: A request not answered within this many seconds gets HTTP 504.
        truncate: Cut texts longer than the model's token limit (False: HTTP 422 naming the text).
        pipeline: Batches in flight at once: one is gathered (and preprocessed) while another runs.
        threads: onnxruntime threads per model call (None: the process's cores / pipeline; see model_threads).
        precision: The bundle's graph to run: fp32 or int8 (None: the bundle's default).
        warm_up: Run the largest calls (max_batch inputs; texts at the token limit) on every pipeline thread at
            start, so onnxruntime's memory arena reaches its peak before serving and memory stays flat.
    """

    max_batch: int = 8
    call_size: int | None = None
    max_wait_ms: float = 5.0
    max_items: int = 64
    max_request_mb: float = 16.0
    max_queue: int = 256
    timeout_s: float = 30.0
    truncate: bool = False
    pipeline: int = 2
    threads: int | None = None
    precision: str | None = None
    warm_up: bool = True

    def model_threads(self) -> int | None:
        """onnxruntime threads per model call: `threads`, else $TRANSFERKIT_THREADS (None: load_bundle reads it),
        else the process's cores shared among the pipeline's calls (one each on 2 cores: no call's threads wait on
        each other, and both cores stay busy while a batch is gathered)."""
        if self.threads or os.environ.get("TRANSFERKIT_THREADS", "").isdigit() or self.pipeline <= 1:
            return self.threads
        return max(1, len(os.sched_getaffinity(0)) // self.pipeline)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
