"""The server's batch size follows measured cost: it settles on the size that is cheapest per input, follows a
change, and a fixed --call-size is used as given."""

import time
from concurrent.futures import ThreadPoolExecutor

from transferkit.serving.adaptive import AdaptiveCallSize


class _Model:
    """predict(inputs, batch_size): advances a fake clock by the cost of each call of `batch_size` inputs."""

    def __init__(self, cost) -> None:
        self.now = 0.0
        self.cost = cost  # seconds of one call of n inputs
        self.sizes: list[int] = []

    def clock(self) -> float:
        return self.now

    def __call__(self, inputs, *, batch_size):
        self.sizes.append(len(inputs))
        for start in range(0, len(inputs), batch_size):
            self.now += self.cost(len(inputs[start : start + batch_size]))
        return [x * 2 for x in inputs]


def _serve(adaptive, calls=80, waiting=32):
    """As the batcher does: gather next_size() of the waiting inputs, predict them in one call."""
    return [adaptive(list(range(min(waiting, adaptive.next_size())))) for _ in range(calls)]


def test_it_settles_on_the_cheapest_size_per_input_and_answers_in_order():
    model = _Model(lambda n: 0.01 + 0.002 * n + (0.004 * n if n > 4 else 0))  # per input: 4 is cheapest
    adaptive = AdaptiveCallSize(model, max_size=32, clock=model.clock)
    answers = _serve(adaptive)
    assert all(answer == [x * 2 for x in range(len(answer))] for answer in answers)
    assert adaptive.best == 4 and set(adaptive.seconds_per_input) == {1, 2, 4, 8, 16, 32}
    assert model.sizes[-16:].count(4) >= 13  # a neighbour now and then, the best otherwise
    assert adaptive.report()["call_size"] == 4


def test_it_follows_a_change_in_cost_and_a_fixed_size_is_kept():
    model = _Model(lambda n: 0.05 + 0.001 * n)  # a fixed cost per call: the whole batch
    adaptive = AdaptiveCallSize(model, max_size=32, clock=model.clock)
    _serve(adaptive)
    assert adaptive.best == 32
    model.cost = lambda n: 0.001 * n + (0.01 * n if n > 16 else 0)  # now 32 costs 11x per input
    _serve(adaptive, calls=100)
    assert adaptive.best == 16
    fixed = AdaptiveCallSize(model, max_size=32, fixed=8, clock=model.clock)
    _serve(fixed, calls=5)
    assert model.sizes[-5:] == [8] * 5 and fixed.seconds_per_input == {}


def test_idle_time_after_a_call_that_took_every_waiting_request_counts_against_its_size():
    model = _Model(lambda n: 0.02 + 0.01 * n)  # a cost per call: 32 a call is the cheapest per input...
    adaptive = AdaptiveCallSize(model, max_size=32, clock=model.clock)
    for _ in range(120):
        size = min(32, adaptive.next_size())
        adaptive(list(range(size)))
        if size == 32:  # ...but it takes all 32 clients: the model waits for their next requests
            model.now += 0.5
    assert adaptive.best == 16 and adaptive.seconds_per_input[32] > adaptive.seconds_per_input[16]


def test_a_call_of_any_size_counts_for_the_size_it_reaches_and_sizes_are_measured_afresh():
    model = _Model(lambda n: 0.01 + 0.001 * n)
    adaptive = AdaptiveCallSize(model, max_size=32, clock=model.clock)
    _serve(adaptive, calls=40, waiting=6)  # only 6 ever wait: sizes 8-32 are tried twice each, then left alone
    assert set(adaptive.seconds_per_input) == {1, 2, 4} and adaptive.best == 4
    assert 6 in model.sizes and model.sizes[-8:].count(4) >= 6  # the calls of 6 (asked 8-32) counted for 4
    _serve(adaptive, calls=256, waiting=6)
    assert adaptive.calls > 256 and set(adaptive.seconds_per_input) == {1, 2, 4}


def test_cpu_time_cost_from_concurrent_calls_ignores_time_spent_waiting():
    """With a pipeline, two calls run at once on their own threads: each is charged its own CPU seconds, so time
    a call spends descheduled (here: asleep, as when other processes hold the cores) is not counted against it."""

    def model(inputs, *, batch_size):
        per_input = 0.0005 if len(inputs) == 2 else 0.001  # CPU per input: 2 a call is the cheapest
        if len(inputs) == 2:
            time.sleep(0.02)  # but the slowest by the wall clock
        burn_until = time.thread_time() + per_input * len(inputs)
        while time.thread_time() < burn_until:
            pass
        return [x * 2 for x in inputs]

    adaptive = AdaptiveCallSize(model, max_size=8, cpu_time=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: adaptive(list(range(min(8, adaptive.next_size())))), range(60)))
    assert all(answer == [x * 2 for x in range(len(answer))] for answer in answers)
    assert set(adaptive.seconds_per_input) == {1, 2, 4, 8} and adaptive.best == 2
