"""Dynamic batching: concurrent requests wait in one asyncio queue; one worker takes up to `max_batch` inputs (or
`next_size()` of them, or what arrived within `max_wait_s` of the first), predicts them in one call on a worker
thread, and answers each.

One bad request must not fail the others it was batched with: when a batch raises, its requests are retried one
by one, so only the request that caused the error receives it.
"""

from __future__ import annotations

import asyncio
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

    def add(self, size: int) -> None:
        self.batches += 1
        self.inputs += size
        self.largest = max(self.largest, size)


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
    ) -> None:
        self.predict = predict
        self.max_batch = max(1, int(max_batch))
        self.next_size = next_size  # how many inputs the next batch takes (serving/adaptive.py); else max_batch
        self.max_wait_s = max(0.0, float(max_wait_s))
        self.max_queue = max_queue
        self.stats = BatchStats()
        self._queue: asyncio.Queue[_Job] | None = None
        self._worker: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="transferkit-batch")

    @property
    def waiting(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run(), name="transferkit-batcher")

    async def stop(self) -> None:
        """Finish the queued requests, then stop the worker."""
        if self._queue is not None:
            await self._queue.join()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        self._executor.shutdown(wait=True)

    async def submit(self, items: Sequence[Any]) -> list[Any]:
        """The results for `items`, predicted in a batch with other concurrent requests."""
        if self._queue is None:
            raise RuntimeError("DynamicBatcher.submit before start()")
        if self._queue.qsize() >= self.max_queue:
            raise QueueFull(f"{self._queue.qsize()} requests are waiting (limit {self.max_queue}); retry shortly.")
        job = _Job(items, asyncio.get_running_loop().create_future())
        await self._queue.put(job)
        return await job.future

    async def _collect(self) -> list[_Job]:
        jobs = [await self._queue.get()]
        size = len(jobs[0].items)
        limit = min(self.max_batch, self.next_size()) if self.next_size else self.max_batch
        deadline = time.monotonic() + self.max_wait_s
        while size < limit:
            remaining = deadline - time.monotonic()
            try:
                job = (
                    self._queue.get_nowait() if remaining <= 0 else await asyncio.wait_for(self._queue.get(), remaining)
                )
            except (asyncio.QueueEmpty, TimeoutError):
                break
            jobs.append(job)
            size += len(job.items)
        return jobs

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
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
        try:
            results = await loop.run_in_executor(self._executor, self.predict, items)
        except Exception as exc:
            if len(jobs) == 1:
                _settle(jobs[0].future, exception=exc)
                return
            for job in jobs:  # retried alone: only the request at fault gets the error
                await self._answer(loop, [job])
            return
        self.stats.add(len(items))
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
