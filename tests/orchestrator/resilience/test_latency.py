"""The latency quantile: when a call has run long enough to be hedged."""

from __future__ import annotations

from orchestrator.resilience.latency import HedgeConfig, LatencyQuantile


def test_no_hedging_before_enough_answers():
    quantile = LatencyQuantile(HedgeConfig(min_samples=20, floor_s=0))
    for _ in range(19):
        quantile.record(0.1)
    assert quantile.hedge_after_s() is None
    quantile.record(0.1)
    assert quantile.hedge_after_s() == 0.1


def test_hedges_after_the_recent_p95():
    quantile = LatencyQuantile(HedgeConfig(quantile=0.95, floor_s=0, samples=100, min_samples=10))
    for answer in range(1000):  # 1 ms .. 100 ms, over and over: the last 100 are always all of them
        quantile.record((answer % 100 + 1) / 1000)
    assert quantile.hedge_after_s() == 0.096


def test_never_sooner_than_the_floor():
    quantile = LatencyQuantile(HedgeConfig(floor_s=0.05, min_samples=10))
    for _ in range(50):
        quantile.record(0.002)
    assert quantile.hedge_after_s() == 0.05


def test_follows_the_service_as_it_slows_down():
    quantile = LatencyQuantile(HedgeConfig(floor_s=0, samples=100, min_samples=10))
    for _ in range(100):
        quantile.record(0.01)
    assert quantile.hedge_after_s() == 0.01
    for _ in range(100):
        quantile.record(0.5)
    assert quantile.hedge_after_s() == 0.5
