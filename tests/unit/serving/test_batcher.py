"""Dynamic batching: concurrent requests share batches, answers keep their order, one bad request fails alone."""

import asyncio
import threading
import time

from transferkit.errors import DataError
from transferkit.serving.batcher import DynamicBatcher


def _predict(items):
    if "bad" in items:
        raise DataError("bad input")
    return [item.upper() for item in items]


async def _many(batcher, requests):
    await batcher.start()
    try:
        return await asyncio.gather(*(batcher.submit(r) for r in requests), return_exceptions=True)
    finally:
        await batcher.stop()


def test_concurrent_requests_are_batched_and_answered_in_order():
    batcher = DynamicBatcher(_predict, max_batch=8, max_wait_s=0.05)
    requests = [[f"t{i}a", f"t{i}b"] for i in range(10)]
    answers = asyncio.run(_many(batcher, requests))
    assert answers == [[f"T{i}A", f"T{i}B"] for i in range(10)]
    assert batcher.stats.inputs == 20 and batcher.stats.largest == 8 and batcher.stats.batches < 10


def test_one_bad_request_does_not_fail_its_batch():
    batcher = DynamicBatcher(_predict, max_batch=16, max_wait_s=0.05)
    answers = asyncio.run(_many(batcher, [["a"], ["bad"], ["c"]]))
    assert answers[0] == ["A"] and answers[2] == ["C"] and isinstance(answers[1], DataError)


def test_batch_size_one_predicts_each_request_alone():
    batcher = DynamicBatcher(_predict, max_batch=1, max_wait_s=0.05)
    asyncio.run(_many(batcher, [["a"], ["b"], ["c"]]))
    assert batcher.stats.batches == 3 and batcher.stats.largest == 1


def test_the_batch_takes_as_many_inputs_as_next_size_asks():
    batcher = DynamicBatcher(_predict, max_batch=8, max_wait_s=0.05, next_size=lambda: 2)
    answers = asyncio.run(_many(batcher, [[f"t{i}"] for i in range(6)]))
    assert answers == [[f"T{i}"] for i in range(6)] and batcher.stats.largest == 2 and batcher.stats.batches == 3


def test_a_pipeline_runs_two_batches_at_once_and_answers_each_request():
    running, most = [0], [0]
    lock = threading.Lock()

    def slow(items):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.1)
        with lock:
            running[0] -= 1
        return [item.upper() for item in items]

    batcher = DynamicBatcher(slow, max_batch=32, max_wait_s=0.01, pipeline=2)
    answers = asyncio.run(_many(batcher, [[f"t{i}"] for i in range(8)]))
    # 8 requests in flight: the first batch takes half, not all 8, so the second runs beside it
    assert answers == [[f"T{i}"] for i in range(8)] and most[0] == 2 and batcher.stats.largest == 4


def test_a_lone_request_is_not_kept_waiting_for_others():
    batcher = DynamicBatcher(_predict, max_batch=8, max_wait_s=30.0)  # nobody else is in flight: no 30 s wait
    started = time.monotonic()
    assert asyncio.run(_many(batcher, [["a"]])) == [["A"]]
    assert time.monotonic() - started < 15.0
