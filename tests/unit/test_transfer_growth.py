"""The automatic connection count: one, then one more while that raises the throughput."""

from __future__ import annotations

import threading
import time

import pytest

from sregistry.errors import TransferError
from sregistry.transfer.parallel import Growth, Part, plan_parts, run_growing


def test_connections_are_added_while_the_throughput_grows() -> None:
    growth = Growth(limit=8)
    assert not growth.observe(5.0)  # the first window pays for connecting
    assert growth.observe(100.0)  # baseline with one: try two
    assert growth.observe(190.0)  # two beat one: try three
    assert growth.observe(260.0)  # three beat two: try four
    assert not growth.observe(270.0)  # four are no better than three: stay
    assert (growth.workers, growth.growing) == (4, False)
    assert not growth.observe(1000.0)  # decided


def test_a_link_that_one_connection_fills_stays_at_two_at_most() -> None:
    """Loopback on two cores: more connections only compete for the CPU."""
    growth = Growth()
    growth.observe(1.0)
    assert growth.observe(900.0)
    assert not growth.observe(850.0)
    assert growth.workers == 2


def test_the_limit_stops_growth() -> None:
    growth = Growth(limit=2)
    growth.observe(1.0)
    assert growth.observe(100.0)
    assert not growth.observe(400.0)
    assert growth.workers == 2


class FakeLink:
    """Throughput that grows with the parts in flight up to ``best`` of them."""

    def __init__(self, best: int) -> None:
        self.best = best
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.bytes = 0
        self.time = 0.0
        self.finish = threading.Event()

    def one(self, part: Part) -> int:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        self.finish.wait(30)
        with self.lock:
            self.running -= 1
        return part.number

    def clock(self) -> float:
        return self.time

    def done(self) -> int:
        return self.bytes

    def tick(self, workers: int) -> None:
        """One window: let the threads started settle, then count their bytes."""
        deadline = threading.Event()
        for _ in range(500):
            with self.lock:
                if self.running >= workers:
                    break
            deadline.wait(0.01)
        with self.lock:
            self.time += 1.0
            self.bytes += 100 * min(self.running, self.best)


def test_run_growing_settles_where_the_link_stops_gaining() -> None:
    link = FakeLink(best=3)
    parts = plan_parts(20, 1)

    class Deciding(Growth):
        def observe(self, rate: float) -> bool:
            more = super().observe(rate)
            if not self.growing:
                link.finish.set()  # decided: let the parts complete
            return more

    growth = Deciding(limit=8)

    def window(settled: threading.Event, seconds: float) -> bool:
        link.tick(growth.workers)
        return False

    try:
        results = run_growing(
            parts,
            link.one,
            threading.Event(),
            done=link.done,
            growth=growth,
            window=1.0,
            clock=link.clock,
            wait=window,
        )
    finally:
        link.finish.set()
    assert results == list(range(1, 21))  # every part once, in part order
    assert growth.workers == 4  # the fourth connection bought nothing over three
    assert link.peak == 4


def test_run_growing_raises_the_first_real_error() -> None:
    def one(part: Part) -> int:
        if part.number == 2:
            raise TransferError("part 2 failed")
        return part.number

    with pytest.raises(TransferError, match="part 2 failed"):
        run_growing(plan_parts(3, 1), one, threading.Event(), done=lambda: 0, window=0.01)


def test_the_watch_ends_when_the_last_part_has_started() -> None:
    """A transfer shorter than a window is not held up until the window ends."""
    began = time.monotonic()
    results = run_growing(
        plan_parts(2, 1), lambda part: part.number, threading.Event(), done=lambda: 0, window=60.0
    )
    assert results == [1, 2]
    assert time.monotonic() - began < 30  # not the 60 s window
