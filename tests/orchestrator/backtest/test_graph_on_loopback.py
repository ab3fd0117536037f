"""The graph against fake services on real loopback sockets: order, cancellation, threads, health."""

from __future__ import annotations

import asyncio
import threading
import time

import aiohttp
import pytest

import fakes
from orchestrator.registry import SERVICES
from orchestrator.web.app import create_app
from tests.orchestrator.conftest import make_settings


async def test_calls_overlap_along_the_critical_path_over_real_sockets(start):
    """The virtual-time tests pin the graph to the tick; this checks the same order holds over HTTP."""
    delays = {"/prices": 0.2, "/dividends": 0.3, "/signals": 0.2, "/simulate": 0.2, "/calculate": 0.1}
    client, log = await start(delays)
    began = time.monotonic()
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    elapsed = time.monotonic() - began
    assert response.status == 200
    [prices_in], [dividends_in] = log.ended["/prices"], log.ended["/dividends"]
    assert all(prices_in <= begun < dividends_in for begun in log.started["/signals"])
    assert all(begun >= dividends_in for begun in log.started["/simulate"])
    assert log.started["/calculate"][0] >= max(log.ended["/simulate"])
    # critical path: prices 0.2 + signals 0.2 + simulate 0.2 + metrics 0.1 = 0.7 s; one after another
    # they take 1.4 s, which bounds the answer loosely enough for a busy machine
    assert 0.7 <= elapsed < 1.4


async def test_prices_called_once_over_the_wire(start):
    client, log = await start({})
    await client.post("/api/backtest", json=fakes.backtest_request())
    assert len(log.started["/prices"]) == 1


async def test_client_disconnect_cancels_calls_in_flight(start):
    client, log = await start({"/simulate": 30})
    with pytest.raises(asyncio.TimeoutError):
        await client.post(
            "/api/backtest", json=fakes.backtest_request(), timeout=aiohttp.ClientTimeout(total=0.5)
        )
    await asyncio.wait_for(log.cancelled_event.wait(), 5)
    await asyncio.sleep(0.1)  # let the second simulation's cancellation land too
    assert sorted(log.cancelled) == ["/simulate", "/simulate"]
    assert "/calculate" not in log.started


async def test_each_timed_out_attempt_of_a_stalled_call_is_cancelled(start):
    metrics = {"timeout": {"attempt_s": 0.3}, "hedge": {"enabled": False}}
    client, log = await start({"/calculate": 30}, services={"metrics": metrics})
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    assert (response.status, (await response.json())["error"]["code"]) == (504, "SERVICE_TIMEOUT")
    await asyncio.sleep(0.1)  # the last attempt's cancellation reaches the service
    assert log.cancelled == ["/calculate"] * 3  # three attempts, each given up on and cancelled


async def test_no_thread_started_while_a_backtest_with_timeouts_runs(start):
    client, _ = await start({"/prices": 0.05, "/simulate": 0.1})
    before = {thread.ident for thread in threading.enumerate()}
    seen: set[int | None] = set()

    async def watch() -> None:
        while True:
            seen.update(thread.ident for thread in threading.enumerate())
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    watcher.cancel()
    assert response.status == 200
    assert seen - before == set()


async def test_refused_connection_is_503(orchestrator_client):
    from orchestrator.cli.platform import free_port

    closed = f"http://127.0.0.1:{free_port()}"
    client = await orchestrator_client(create_app(make_settings(market_data_url=closed)))
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    error = (await response.json())["error"]
    assert (response.status, error["code"], error["details"]["service"]) == (
        503,
        "SERVICE_UNAVAILABLE",
        "market_data",
    )


async def test_health_answers_within_two_seconds_when_a_service_hangs(start):
    client, _ = await start({"/health": 30}, health_timeout_s=1.0)
    began = time.monotonic()
    response = await client.get("/api/health")
    assert time.monotonic() - began < 2
    body = await response.json()
    assert (response.status, body["status"]) == (503, "degraded")
    assert set(body["services"].values()) == {"timeout"}


async def test_health_is_200_when_all_healthy(start):
    client, _ = await start({})
    response = await client.get("/api/health")
    body = await response.json()
    assert set(body.pop("policies")) == {entry.name for entry in SERVICES}  # test_api_health.py
    assert (response.status, body) == (
        200,
        {
            "status": "healthy",
            "services": {
                "market_data": "healthy",
                "strategy": "healthy",
                "portfolio": "healthy",
                "metrics": "healthy",
            },
            "circuits": dict.fromkeys(
                ["market_data", "strategy", "portfolio", "metrics", "test_data"], "closed"
            ),
        },
    )


async def test_liveness_calls_nothing(start):
    client, log = await start({})
    response = await client.get("/health")
    assert (await response.json())["status"] == "healthy"
    assert log.started == {}
