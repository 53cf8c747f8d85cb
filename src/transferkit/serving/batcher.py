"""Dynamic batching: concurrent requests wait in one asyncio queue; a worker takes up to `max_batch` inputs (or
`next_size()` of them, or what arrived within `max_wait_s` of the first), predicts them in one call on a worker
thread, and answers each. With `pipeline` workers, one gathers while the others' batches run, and a batch takes at
most its share of the requests in flight (so one batch of everything cannot leave the other workers idle).

One bad request must not fail the others it was batched with: when a batch raises, its requests are retried one
by one, so only the request that caused the error receives it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from transferkit.errors import TransferKitError


class QueueFull(TransferKitError, RuntimeError):
    """More requests wait than the server's queue limit: the client should retry later (HTTP 503)."""


@dataclass
class _Job:
    items: Sequence[Any]
    future: asyncio.Future = field(repr=False)


@dataclass
class BatchStats:
    """Counters GET /health reports: batches run, inputs predicted, the largest batch."""

    batches: int = 0
    inputs: int = 0
    largest: int = 0
    busy_s: float = 0.0  # seconds inside model calls (summed over concurrent calls)

    def add(self, size: int, seconds: float = 0.0) -> None:
        self.batches += 1
        self.inputs += size
        self.largest = max(self.largest, size)
        self.busy_s += seconds


class DynamicBatcher:
    """Feeds `predict` (inputs -> one result per input) with batches of concurrent requests.

    Example::

        batcher = DynamicBatcher(bundle.predict, max_batch=32, max_wait_s=0.005)
        await batcher.start()
        results = await batcher.submit(["Great tea"])
    """

    def __init__(
        self,
        predict: Callable[[list[Any]], list[Any]],
        *,
        max_batch: int,
        max_wait_s: float,
        max_queue: int = 1024,
        next_size: Callable[[], int] | None = None,
        pipeline: int = 1,
        warm_up: Callable[[], Any] | None = None,
    ) -> None:
        self.predict = predict
        self.max_batch = max(1, int(max_batch))
        self.next_size = next_size  # how many inputs the next batch takes (serving/adaptive.py); else max_batch
        self.max_wait_s = max(0.0, float(max_wait_s))
        self.max_queue = max_queue
        self.stats = BatchStats()
        self.pipeline = max(1, int(pipeline))  # batches in flight at once: one is gathered while another runs
        self.warm_up = warm_up  # run on every model thread at once before serving (Bundle.warm_up)
        self.warmed: list[Any] = []  # what each thread's warm-up returned
        self._queue: asyncio.Queue[_Job] | None = None
        self._gathering: asyncio.Lock | None = None
        self._in_flight = 0  # requests submitted and not answered: queued, in a batch, or being answered
        self._workers: list[asyncio.Task] = []
        self._executor = ThreadPoolExecutor(max_workers=self.pipeline, thread_name_prefix="transferkit-batch")

    @property
    def waiting(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    async def start(self) -> None:
        if self.warm_up is not None:
            await self._warm_up()
        self._queue = asyncio.Queue()
        self._gathering = asyncio.Lock()
        self._workers = [
            asyncio.create_task(self._run(), name=f"transferkit-batcher-{i}") for i in range(self.pipeline)
        ]

    async def _warm_up(self) -> None:
        """`warm_up` on each of the pipeline's threads, all at once (a barrier holds each thread until the others
        have started): onnxruntime's arena then holds the buffers of `pipeline` largest calls in flight together,
        its peak, before the first request, so memory stays flat while serving."""
        barrier = threading.Barrier(self.pipeline)

        def run() -> Any:
            barrier.wait(timeout=120)
            return self.warm_up()

        loop = asyncio.get_running_loop()
        self.warmed = await asyncio.gather(*(loop.run_in_executor(self._executor, run) for _ in range(self.pipeline)))

    async def stop(self) -> None:
        """Finish the queued requests, then stop the worker."""
        if self._queue is not None:
            await self._queue.join()
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._executor.shutdown(wait=True)

    async def submit(self, items: Sequence[Any]) -> list[Any]:
        """The results for `items`, predicted in a batch with other concurrent requests."""
        if self._queue is None:
            raise RuntimeError("DynamicBatcher.submit before start()")
        if self._queue.qsize() >= self.max_queue:
            raise QueueFull(f"{self._queue.qsize()} requests are waiting (limit {self.max_queue}); retry shortly.")
        job = _Job(items, asyncio.get_running_loop().create_future())
        self._in_flight += 1
        try:
            await self._queue.put(job)
            return await job.future
        finally:
            self._in_flight -= 1

    async def _collect(self) -> list[_Job]:
        """Up to `next_size()` inputs (at most a 1 / pipeline share of the requests in flight): what waits, and what
        arrives within max_wait of the first. Nothing is waited for when no other request is in flight (one client:
        nobody to wait for)."""
        jobs = [await self._queue.get()]
        size = len(jobs[0].items)
        limit = min(self.max_batch, self.next_size()) if self.next_size else self.max_batch
        if self.pipeline > 1:  # a fair share of the requests in flight: one batch of all of them idles the others
            limit = min(limit, max(1, -(-self._in_flight // self.pipeline)))
        deadline = time.monotonic() + self.max_wait_s
        while size < limit:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0 or self._in_flight <= len(jobs):
                    job = self._queue.get_nowait()
                else:
                    job = await asyncio.wait_for(self._queue.get(), remaining)
            except (asyncio.QueueEmpty, TimeoutError):
                break
            jobs.append(job)
            size += len(job.items)
        return jobs

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            async with self._gathering:  # one worker gathers at a time; the others' batches run meanwhile
                jobs = await self._collect()
            try:
                live = [job for job in jobs if not job.future.done()]  # a timed-out client's job is skipped
                if live:
                    await self._answer(loop, live)
            finally:
                for _ in jobs:
                    self._queue.task_done()

    async def _answer(self, loop: asyncio.AbstractEventLoop, jobs: list[_Job]) -> None:
        items = [item for job in jobs for item in job.items]
        started = time.perf_counter()
        try:
            results = await loop.run_in_executor(self._executor, self.predict, items)
        except Exception as exc:
            if len(jobs) == 1:
                _settle(jobs[0].future, exception=exc)
                return
            for job in jobs:  # retried alone: only the request at fault gets the error
                await self._answer(loop, [job])
            return
        self.stats.add(len(items), time.perf_counter() - started)
        start = 0
        for job in jobs:
            _settle(job.future, result=results[start : start + len(job.items)])
            start += len(job.items)


def _settle(future: asyncio.Future, *, result: Any = None, exception: BaseException | None = None) -> None:
    if future.done():  # the client gave up (timeout) while its batch ran
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)
