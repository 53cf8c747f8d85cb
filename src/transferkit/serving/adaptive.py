"""How many inputs each model call takes, chosen by measurement while the server runs.

The batcher gathers concurrent requests so that one worker hop, one preprocessing call and one answer loop serve
many inputs; how many of them one onnxruntime call should take is a property of the machine. On a 2-core CPU the
per-input cost was lowest at 1-4 inputs a call (a batch's activations leave the core's cache: EfficientNet-Lite0
ran batches of 8 at under half the per-image rate of batches of 1), while a GPU or a larger CPU wants the whole
batch. `AdaptiveCallSize` keeps the seconds per input of each call size it has run (a moving average of the call's
time plus the model's idle time until the next call; a call counts for the largest size it reaches), runs the best
so far, now and then tries its neighbours (half, double), and every 256 calls measures every size afresh, so a
change in the machine's load is followed. With `cpu_time=True` (the server's default on a small machine: one
onnxruntime thread per call, run on the calling thread) a call's cost is that thread's CPU seconds instead: other
processes on the machine stretch a call's wall time by 2x from one moment to the next, not its CPU time, and calls
running side by side in the batcher's pipeline do not charge each other.

The batcher asks `next_size()` how many waiting inputs to gather and answers them when their call returns, so
clients of one call send their next requests while the next call runs (a batch of every waiting request instead
left the model idle while 32 answers went out and 32 new requests came in: 0.4-0.5x one-at-a-time at 32 clients).

Example::

    predict = AdaptiveCallSize(bundle.predict, max_size=32)
    predict(["Great tea", "Stale"][: predict.next_size()])  # one bundle.predict call, timed
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

SMOOTHING = 0.2  # weight of the newest measurement in a size's moving average
EXPLORE_EVERY = 8  # every 8th call tries a neighbouring size
MAX_IDLE_S = 1.0  # a longer pause between calls is no traffic: not charged to the call before it
FORGET_EVERY = 256  # calls between fresh measurements of every size


class AdaptiveCallSize:
    """`predict(inputs, batch_size=n)` with `n` the measured best among 1, 2, 4, ... up to `max_size`."""

    def __init__(
        self,
        predict: Callable[..., list[Any]],
        *,
        max_size: int,
        fixed: int | None = None,
        clock: Callable[[], float] = time.perf_counter,
        cpu_time: bool = False,
    ) -> None:
        self.predict = predict
        self.clock = clock
        # Cost as the calling thread's CPU seconds (a model on one thread, in the calling thread): what a call costs
        # whatever share of the cores other processes leave it; idle time is then not charged.
        self.cpu_time = cpu_time
        self.sizes = [1 << k for k in range(max(1, int(max_size)).bit_length()) if 1 << k <= max_size]
        self.fixed = fixed
        self.seconds_per_input: dict[int, float] = {}
        self.warmed: set[int] = set()
        self.attempts: Counter[int] = Counter()
        self._pending: tuple[int, int, float] | None = None  # (inputs, size, seconds) of the last call
        self._ended: float | None = None
        self._running = 0  # calls in flight: with a pipeline of batches, two run at once
        self._lock = threading.Lock()
        self.calls = 0

    @property
    def best(self) -> int:
        """The size with the lowest measured seconds per input (the largest size before any measurement)."""
        if self.fixed:
            return self.fixed
        if not self.seconds_per_input:
            return self.sizes[-1]
        return min(self.seconds_per_input, key=self.seconds_per_input.__getitem__)

    def next_size(self) -> int:
        """How many inputs the next call should take: a size not measured yet, now and then a neighbour of the
        best (half, double), else the best. The batcher gathers this many waiting inputs for one call."""
        if self.fixed:
            return self.fixed
        self.calls += 1
        if self.calls % FORGET_EVERY == 0:  # measure every size afresh: old measurements go stale with the load
            self.seconds_per_input.clear()
            self.attempts.clear()
        untried = [s for s in self.sizes if s not in self.seconds_per_input and self.attempts[s] < 2]
        if untried:  # twice (a warm-up, then a measure); with fewer inputs waiting the call is smaller, measured so
            self.attempts[untried[0]] += 1
            return untried[0]
        best = self.best
        if self.calls % EXPLORE_EVERY == 0:
            index = self.sizes.index(best)
            neighbours = [self.sizes[i] for i in (index - 1, index + 1) if 0 <= i < len(self.sizes)]
            return neighbours[(self.calls // EXPLORE_EVERY) % len(neighbours)] if neighbours else best
        return best

    def __call__(self, inputs: list[Any]) -> list[Any]:
        """`inputs` predicted in one call (a request of more inputs than the largest size: in several). Safe to
        call from several threads (the batcher's pipeline); the model counts as idle only while no call runs."""
        with self._lock:
            started = self.clock()
            idle = started - self._ended if self._ended is not None and not self._running else 0.0
            self._settle(idle=0.0 if self.cpu_time else idle)
            self._running += 1
        cpu_started = time.thread_time()
        results = None
        try:
            # The largest size as the runtime's batch: a call of 5 runs as 4 + 1, shapes the warm-up has run
            results = self.predict(inputs, batch_size=self.sizes[-1])
        finally:
            with self._lock:
                self._running -= 1
                self._ended = self.clock()
                seconds = time.thread_time() - cpu_started if self.cpu_time else self._ended - started
                if results is not None:  # a failed call (one bad input) measures nothing
                    self._record(len(inputs), seconds)
        return results

    def _record(self, count: int, seconds: float) -> None:
        size = max([s for s in self.sizes if s <= count], default=0)  # a call of 5 counts for size 4
        if not size or self.fixed:
            return
        if size not in self.warmed:  # a size's first call allocates its buffers: not measured
            self.warmed.add(size)
            return
        self._settle(idle=0.0)  # a concurrent call's measurement not yet settled: no idle time after it
        self._pending = (count, size, seconds)

    def _settle(self, *, idle: float) -> None:
        """Record the previous call's cost with the model's idle time after it: a batch that took every waiting
        request leaves the model idle until those clients send again, a cost of that size that the call's own
        time does not show. A long pause is no traffic, not a cost."""
        if self._pending is None:
            return
        count, size, seconds = self._pending
        self._pending = None
        seconds = (seconds + (idle if idle < MAX_IDLE_S else 0.0)) / count
        before = self.seconds_per_input.get(size)
        self.seconds_per_input[size] = seconds if before is None else before + SMOOTHING * (seconds - before)

    def report(self) -> dict[str, Any]:
        """What GET /health shows: the size in use and the measured milliseconds per input of each size."""
        return {
            "call_size": self.best,
            "ms_per_input": {str(s): round(v * 1000, 2) for s, v in sorted(self.seconds_per_input.items())},
        }
