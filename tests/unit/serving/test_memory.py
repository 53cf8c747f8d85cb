"""Memory stays flat while serving: the default server warms onnxruntime up with the largest calls on each of its
model threads at once, then feeds the session only shapes the warm-up has run (so the arena cannot grow past
its warmed-up peak), and the session keeps no per-shape memory patterns (the server's half of it is in
test_app.py, on its tiny image bundle)."""

import asyncio
import threading
import time

import pytest

from transferkit.runtime.bundle import row_buckets, row_chunks
from transferkit.serving.batcher import DynamicBatcher


@pytest.mark.parametrize("count", [0, 1, 5, 8, 13, 21, 40])
@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_row_chunks_cover_the_inputs_in_order_with_bucketed_row_counts(count, batch_size):
    chunks = row_chunks(count, batch_size=batch_size)
    assert [i for start, stop in chunks for i in range(start, stop)] == list(range(count))
    assert {stop - start for start, stop in chunks} <= set(row_buckets(batch_size))


def test_the_batcher_warms_up_every_model_thread_at_once_before_serving():
    started: list[tuple[int, float]] = []

    def warm_up():
        started.append((threading.get_ident(), time.monotonic()))
        time.sleep(0.05)
        return "warm"

    async def main():
        batcher = DynamicBatcher(lambda items: items, max_batch=4, max_wait_s=0.0, pipeline=2, warm_up=warm_up)
        await batcher.start()
        assert await batcher.submit([1]) == [1]
        await batcher.stop()
        return batcher.warmed

    assert asyncio.run(main()) == ["warm", "warm"]
    assert len({thread for thread, _ in started}) == 2 and abs(started[0][1] - started[1][1]) < 0.04  # together
