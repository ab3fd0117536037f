"""GET /api/health: each service's effective policy, and circuits read without being moved."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

import fakes
from orchestrator.registry import SERVICES
from tests.orchestrator.conftest import METRICS, answer_instead
from tests.services_table import as_the_fakes_do

#: Two failed backtests open the metrics breaker, for 0.3 s.
OPENS_AFTER_TWO = {"breaker": {"min_calls": 2, "window_s": 60, "open_s": 0.3}, "retry": {"max_attempts": 1}}


async def test_health_shows_each_services_effective_policy(client_for, happy, monkeypatch):
    monkeypatch.setenv("SERVICES__METRICS__RETRY__MAX_ATTEMPTS", "1")
    monkeypatch.setenv("SERVICES__METRICS__HEDGE__FLOOR_S", "0.2")
    client = await client_for()
    policies = (await (await client.get("/api/health")).json())["policies"]
    assert list(policies) == [entry.name for entry in SERVICES]
    assert {name: policy["retry"]["max_attempts"] for name, policy in policies.items()} == {
        "market_data": 3,
        "strategy": 3,
        "portfolio": 3,
        "metrics": 1,
        "test_data": 3,
    }
    assert policies["metrics"]["hedge"]["floor_s"] == 0.2
    assert policies["strategy"]["hedge"]["floor_s"] == 0.05
    assert set(policies["metrics"]) == {"timeout", "retry", "retry_budget", "hedge", "breaker", "bulkhead"}


async def open_the_metrics_circuit(client) -> None:
    for _ in range(2):
        assert (await client.post("/api/backtest", json=fakes.backtest_request())).status == 502


async def test_reading_health_never_moves_an_open_breaker_past_its_cool_down(client_for, happy):
    client = await client_for(**OPENS_AFTER_TWO)
    answer_instead(happy, f"{METRICS}/calculate", status=500, body="boom")
    await open_the_metrics_circuit(client)
    await asyncio.sleep(0.4)  # past open_s: the next call may probe
    with capture_logs() as logs:
        for _ in range(3):
            health = await (await client.get("/api/health")).json()
            assert health["circuits"]["metrics"] == "open"
    assert [entry for entry in logs if entry["event"] == "circuit breaker"] == []


async def test_the_next_call_after_the_cool_down_is_what_moves_the_breaker(client_for, happy):
    client = await client_for(**OPENS_AFTER_TWO)
    answer_instead(happy, f"{METRICS}/calculate", status=500, body="boom")
    await open_the_metrics_circuit(client)
    await asyncio.sleep(0.4)
    await client.get("/api/health")
    happy.answer(f"{METRICS}/calculate", as_the_fakes_do("/calculate"))  # metrics is well again
    with capture_logs() as logs:
        assert (await client.post("/api/backtest", json=fakes.backtest_request())).status == 200
    changes = [(entry["was"], entry["state"]) for entry in logs if entry["event"] == "circuit breaker"]
    assert changes == [("open", "half_open")]  # one probe of three passed: half-open still
    assert (await (await client.get("/api/health")).json())["circuits"]["metrics"] == "half_open"
