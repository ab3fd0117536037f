"""The adaptive admission limit: grows while latency holds, shrinks when it climbs or calls time out."""

from __future__ import annotations

from orchestrator.resilience.limit import AdaptiveLimit, AdmissionConfig

CONFIG = AdmissionConfig(min_limit=5, max_limit=100, initial_limit=20)


def run(limit: AdaptiveLimit, latency_s: float, samples: int) -> None:
    """``samples`` backtests, each taking ``latency_s``, with the limit kept full."""
    for _ in range(samples):
        while limit.try_acquire():
            pass
        limit.release(latency_s)


def test_refuses_past_the_limit_and_admits_again_when_one_ends():
    limit = AdaptiveLimit(CONFIG)
    assert all(limit.try_acquire() for _ in range(20))
    assert not limit.try_acquire()
    limit.release(None)
    assert limit.try_acquire()


def test_grows_to_the_ceiling_while_latency_holds():
    limit = AdaptiveLimit(CONFIG)
    run(limit, 4.0, 200)
    assert limit.limit == 100


def test_shrinks_when_latency_climbs_past_the_tolerance():
    limit = AdaptiveLimit(CONFIG)
    run(limit, 1.0, 300)
    assert limit.limit == 100
    run(limit, 3.0, 15)  # three times as slow: something behind us is queueing
    assert limit.limit < 60
    run(limit, 3.0, 100)
    assert limit.limit <= 20


def test_never_below_the_floor():
    limit = AdaptiveLimit(AdmissionConfig(min_limit=10, max_limit=100, initial_limit=20))
    run(limit, 1.0, 50)
    run(limit, 50.0, 60)
    assert limit.limit == 10


def test_a_latency_that_lasts_becomes_the_new_normal():
    """Gradient2 compares with a long-run average: a service that is slower for good is not overload."""
    limit = AdaptiveLimit(CONFIG)
    run(limit, 1.0, 300)
    run(limit, 3.0, 2000)
    assert limit.limit == 100


def test_a_timeout_cuts_the_limit():
    limit = AdaptiveLimit(CONFIG)
    run(limit, 1.0, 300)
    limit.try_acquire()
    limit.release(None, dropped=True)
    assert limit.limit == 90


def test_does_not_grow_while_little_of_it_is_used():
    limit = AdaptiveLimit(CONFIG)
    for _ in range(200):  # one backtest at a time: no evidence that more would hold
        limit.try_acquire()
        limit.release(1.0)
    assert limit.limit == 20


def test_recovers_when_latency_is_back_to_normal():
    limit = AdaptiveLimit(CONFIG)
    run(limit, 1.0, 300)
    run(limit, 5.0, 100)
    low = limit.limit
    run(limit, 1.0, 300)
    assert low < 30 and limit.limit == 100


def test_a_refused_backtest_is_told_to_come_back_when_one_would_be_done():
    limit = AdaptiveLimit(CONFIG)
    assert limit.retry_after_s() == 1.0  # nothing measured yet: the configured floor
    run(limit, 4.0, 50)
    assert limit.retry_after_s() == 4.0
    run(limit, 0.2, 2000)
    assert limit.retry_after_s() == 1.0
