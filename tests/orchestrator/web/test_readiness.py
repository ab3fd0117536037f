"""GET /ready: whether this process takes backtests now, from what it knows, asking no service.

Each state of the answer (ready, saturated, draining) in the app with fake services on loopback; the
same with every service unreachable. ``tests/e2e/test_readiness.py`` does it with real processes.
"""

from __future__ import annotations

import asyncio

import fakes
from orchestrator.web.keys import ADMISSION

ONE_AT_A_TIME = {"admission": {"min_limit": 1, "initial_limit": 1, "max_limit": 1}}


async def _ready(client) -> tuple[int, dict]:
    response = await client.get("/ready")
    assert response.content_type == "application/json"
    return response.status, await response.json()


async def test_ready_with_a_free_slot(start):
    client, _ = await start(**ONE_AT_A_TIME)
    assert await _ready(client) == (200, {"status": "ready", "in_flight": 0, "limit": 1})


async def test_saturated_while_every_slot_is_taken_then_ready_again(start):
    client, log = await start({"/simulate": 0.5}, **ONE_AT_A_TIME)
    running = asyncio.create_task(client.post("/api/backtest", json=fakes.backtest_request()))
    while "/simulate" not in log.started:  # noqa: ASYNC110 - the fakes' log has no event for it
        await asyncio.sleep(0.01)
    assert await _ready(client) == (503, {"status": "saturated", "in_flight": 1, "limit": 1})
    assert (await running).status == 200
    assert await _ready(client) == (200, {"status": "ready", "in_flight": 0, "limit": 1})


async def test_draining_once_the_drain_starts(start):
    client, _ = await start()
    gate = client.server.app[ADMISSION]
    await gate.drain(grace_s=0)  # nothing in flight: it returns at once, the gate left draining
    status, body = await _ready(client)
    assert (status, body["status"], body["in_flight"]) == (503, "draining", 0)
    assert body["limit"] == gate.limit.limit


async def test_draining_wins_over_saturated(start):
    client, log = await start({"/simulate": 0.5}, **ONE_AT_A_TIME)
    running = asyncio.create_task(client.post("/api/backtest", json=fakes.backtest_request()))
    while "/simulate" not in log.started:  # noqa: ASYNC110 - the fakes' log has no event for it
        await asyncio.sleep(0.01)
    client.server.app[ADMISSION].draining = True
    assert await _ready(client) == (503, {"status": "draining", "in_flight": 1, "limit": 1})
    await running


async def test_ready_asks_no_service_even_when_all_are_unreachable(client, services):
    """``services`` answers nothing: any call to a service would fail, and would be recorded."""
    assert (await client.get("/api/health")).status == 503  # the full view sees them down
    calls_by_health = len(services.requests)
    assert calls_by_health == 4  # market_data, strategy, portfolio, metrics: each asked once
    status, body = await _ready(client)
    assert (status, body["status"]) == (200, "ready")
    assert len(services.requests) == calls_by_health
