"""The circuit breaker: opens on a failure rate with a minimum of calls, probes, closes."""

from __future__ import annotations

from orchestrator.resilience.breaker import BreakerConfig, CircuitBreaker

CONFIG = BreakerConfig(failure_rate=0.5, window_s=10, min_calls=4, open_s=5, half_open_probes=2)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, changes: list[tuple[str, str]] | None = None) -> CircuitBreaker:
    log = changes if changes is not None else []
    return CircuitBreaker("metrics", CONFIG, clock, lambda _s, was, now: log.append((was, now)))


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        assert breaker.allow()
        breaker.record_failure()


def test_stays_closed_below_the_minimum_of_calls_whatever_fails():
    b = breaker(Clock())
    fail(b, 3)
    assert b.state == "closed"


def test_opens_when_the_failure_rate_is_reached():
    b = breaker(Clock())
    for _ in range(2):
        b.allow()
        b.record_success()
    fail(b, 1)
    assert b.state == "closed"  # 1 of 3, and under the minimum
    fail(b, 1)
    assert b.state == "open"  # 2 of 4 is 50%


def test_open_refuses_until_open_s_then_lets_probes_through():
    clock = Clock()
    b = breaker(clock)
    fail(b, 4)
    assert (b.allow(), b.retry_after_s()) == (False, 5.0)
    clock.now = 4.0
    assert (b.allow(), b.retry_after_s()) == (False, 1.0)
    clock.now = 5.0
    assert [b.allow() for _ in range(3)] == [True, True, False]  # two probes, no more
    assert b.state == "half_open"


def test_all_probes_succeeding_close_it():
    clock, changes = Clock(), []
    b = breaker(clock, changes)
    fail(b, 4)
    clock.now = 5.0
    for _ in range(2):
        assert b.allow()
        b.record_success()
    assert b.state == "closed"
    assert changes == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


def test_a_failed_probe_opens_it_again_for_another_period():
    clock = Clock()
    b = breaker(clock)
    fail(b, 4)
    clock.now = 6.0
    assert b.allow()
    b.record_failure()
    assert b.state == "open"
    assert b.retry_after_s() == 5.0


def test_a_cancelled_probe_frees_its_place():
    clock = Clock()
    b = breaker(clock)
    fail(b, 4)
    clock.now = 5.0
    assert b.allow() and b.allow() and not b.allow()
    b.record_cancelled()
    assert b.allow()


def test_failures_older_than_the_window_are_forgotten():
    clock = Clock()
    b = breaker(clock)
    fail(b, 3)
    clock.now = 11.0
    fail(b, 1)
    assert b.state == "closed"


def test_each_change_is_reported_once():
    clock, changes = Clock(), []
    b = breaker(clock, changes)
    fail(b, 4)
    clock.now = 1.0
    for _ in range(5):
        assert not b.allow()
        b.record_failure()  # late verdicts of calls let through before it opened
    clock.now = 0.0
    assert changes == [("closed", "open")]
    assert b.retry_after_s() == 5.0  # and they did not keep it open longer


def test_reading_an_open_breaker_past_open_s_changes_nothing():
    clock, changes = Clock(), []
    b = breaker(clock, changes)
    fail(b, 4)
    clock.now = 7.0
    for _ in range(3):
        assert (b.state, b.refuses_calls(), b.retry_after_s()) == ("open", False, 0.0)
    assert changes == [("closed", "open")]
    assert b.allow()  # the next call is what moves it
    assert (b.state, changes[-1]) == ("half_open", ("open", "half_open"))


def test_an_open_breaker_refuses_calls_until_open_s_is_over():
    clock = Clock()
    b = breaker(clock)
    fail(b, 4)
    clock.now = 4.9
    assert (b.refuses_calls(), b.state) == (True, "open")
    clock.now = 5.0
    assert (b.refuses_calls(), b.state) == (False, "open")
