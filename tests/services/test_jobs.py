"""The worker layer with real threads and tiny jobs: wake-ups, backoff, drain, quick stops."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pytest

from wacoex.services.jobs import Backoff, Loop, Workers

SLOW_POLL = 30.0  # an idle timeout no test waits for: anything sooner was a wake-up


class Rounds:
    """A job that records when each round ran; `script` says what each round does (default: no work)."""

    name = "rounds"

    def __init__(self, script: Callable[[int], bool] | None = None) -> None:
        self.script = script or (lambda _: False)
        self.times: list[float] = []
        self.changed = threading.Condition()

    def run_once(self) -> bool:
        n = len(self.times)
        try:
            return self.script(n)
        finally:
            with self.changed:
                self.times.append(time.monotonic())
                self.changed.notify_all()

    def wait_for(self, rounds: int, timeout: float = 10.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.times) >= rounds, timeout), (
                f"{len(self.times)} of {rounds} rounds within {timeout} s"
            )


def test_a_wake_up_runs_an_idle_job_long_before_its_poll() -> None:
    job = Rounds()
    loop = Loop(job, idle_seconds=SLOW_POLL)
    loop.start()
    try:
        job.wait_for(1)
        time.sleep(0.05)  # idle now, waiting for up to SLOW_POLL
        woken_at = time.monotonic()
        loop.wake()
        job.wait_for(2)
        assert job.times[1] - woken_at < 2.0
    finally:
        assert loop.stop(5)


def test_a_job_that_did_work_runs_again_without_waiting() -> None:
    job = Rounds(lambda n: n < 5)  # work in the first five rounds, then none
    loop = Loop(job, idle_seconds=SLOW_POLL)
    loop.start()
    try:
        job.wait_for(6, timeout=5)
        time.sleep(0.1)
        assert len(job.times) == 6  # then it waits for a wake-up
    finally:
        assert loop.stop(5)


def test_failures_back_off_exponentially_and_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    def fails_three_times(n: int) -> bool:
        if n < 3:
            raise RuntimeError(f"store unreachable ({n})")
        return False

    job = Rounds(fails_three_times)
    loop = Loop(job, idle_seconds=SLOW_POLL, backoff=Backoff(initial=0.1, factor=2, cap=10))
    with caplog.at_level(logging.ERROR, logger="wacoex.jobs"):
        loop.start()
        try:
            job.wait_for(4)
        finally:
            assert loop.stop(5)
    gaps = [b - a for a, b in zip(job.times, job.times[1:], strict=False)]
    assert [round(gap, 1) >= want for gap, want in zip(gaps, (0.1, 0.2, 0.4), strict=False)] == [True] * 3, (
        gaps
    )
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert [r.exc_info[1].args[0] for r in failures if r.exc_info and r.exc_info[1]] == [
        "store unreachable (0)",
        "store unreachable (1)",
        "store unreachable (2)",
    ]
    assert loop.failures == 0  # a good round resets the count


def test_a_wake_up_does_not_cut_a_backoff_short() -> None:
    def always_fails(n: int) -> bool:
        raise RuntimeError("down")

    job = Rounds(always_fails)
    loop = Loop(job, idle_seconds=SLOW_POLL, backoff=Backoff(initial=0.5, cap=0.5))
    loop.start()
    try:
        job.wait_for(1)
        for _ in range(20):
            loop.wake()
            time.sleep(0.01)
        job.wait_for(2)
        assert job.times[1] - job.times[0] >= 0.45
    finally:
        assert loop.stop(5)


def test_backoff_is_capped() -> None:
    backoff = Backoff(initial=0.25, factor=2, cap=10)
    assert [backoff.delay(n) for n in range(1, 9)] == [0.25, 0.5, 1, 2, 4, 8, 10, 10]


def test_stop_lets_the_round_in_flight_finish_and_starts_no_other() -> None:
    started, release = threading.Event(), threading.Event()
    finished: list[int] = []

    def slow_round(n: int) -> bool:
        started.set()
        assert release.wait(10)
        finished.append(n)
        return True  # "there is more": only the stop keeps another round from starting

    job = Rounds(slow_round)
    loop = Loop(job, idle_seconds=SLOW_POLL)
    loop.start()
    assert started.wait(5)
    outcome: list[bool] = []
    stopper = threading.Thread(target=lambda: outcome.append(loop.stop(10)))
    stopper.start()
    time.sleep(0.2)
    assert stopper.is_alive(), "stop returned while a round was in flight"
    assert finished == []
    release.set()
    stopper.join(10)
    assert outcome == [True]
    assert finished == [0]
    assert len(job.times) == 1
    assert not loop.running


def test_stop_gives_up_after_its_timeout_on_a_stuck_round() -> None:
    started, release = threading.Event(), threading.Event()
    job = Rounds(lambda n: started.set() or release.wait(10))
    loop = Loop(job, idle_seconds=SLOW_POLL)
    loop.start()
    assert started.wait(5)
    began = time.monotonic()
    assert loop.stop(0.2) is False
    assert time.monotonic() - began < 2.0
    release.set()
    assert loop.stop(5) is True


def test_stopping_an_idle_loop_returns_at_once() -> None:
    job = Rounds()
    loop = Loop(job, idle_seconds=SLOW_POLL)
    loop.start()
    job.wait_for(1)
    began = time.monotonic()
    assert loop.stop(10)
    assert time.monotonic() - began < 1.0
    assert not loop.running


def test_workers_stop_together_each_after_its_round_in_flight() -> None:
    release = threading.Event()
    slow = Rounds(lambda n: release.wait(10) and False)
    idle = Rounds()
    workers = Workers([Loop(slow, idle_seconds=SLOW_POLL), Loop(idle, idle_seconds=SLOW_POLL)])
    workers.start()
    idle.wait_for(1)
    timer = threading.Timer(0.3, release.set)
    timer.start()
    began = time.monotonic()
    assert workers.stop(10)
    assert time.monotonic() - began >= 0.25  # waited for the slow round
    assert not any(loop.running for loop in workers)
    assert len(slow.times) == 1
    assert len(idle.times) == 1
    timer.join()
