"""The orchestrator against services that fail in every way the contract lists, under concurrency.

Fake services on a real loopback server answer a third of all calls with a fault of
``services.chaos`` (5xx with and without envelopes, HTML, resets, stalls, slow trickles, wrong
shapes, errors inside 200s), sixteen clients at once. Every answer must be the error envelope with
a code and status of the contract (never a 500) or a success, inside the deadline; afterwards no
task, connection or file descriptor is left over, and a backtest on services that behave succeeds.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter

import pytest
from aiohttp.test_utils import TestServer

import fakes
from fakes.services import fake_services
from orchestrator.registry import SERVICES
from orchestrator.web.app import create_app
from services.chaos import FAULTS, Chaos
from tests.orchestrator.conftest import make_settings
from tests.serving import Client, Serving

#: The error table of docs/contract.md: what a backtest against failing services may answer.
CONTRACT = {
    "SERVICE_UNAVAILABLE": 503,
    "SERVICE_TIMEOUT": 504,
    "EXTERNAL_API_ERROR": 502,
    "INVALID_TICKER": 400,
    "INSUFFICIENT_DATA": 400,
    "STRATEGY_NOT_FOUND": 400,
    "INVALID_REQUEST": 400,
    "INVALID_DATE_RANGE": 400,
}
DEADLINE_S = 2.0
CLIENTS, BACKTESTS = 16, 128


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def settle(tasks_before: int) -> int:
    """Tasks still alive once the last cancellations have run (give them a moment)."""
    for _ in range(50):
        if len(asyncio.all_tasks()) <= tasks_before:
            break
        await asyncio.sleep(0.02)
    return len(asyncio.all_tasks())


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts file descriptors in /proc")
async def test_every_answer_keeps_the_contract_and_nothing_is_left_over():
    chaos = Chaos(rate=1 / 3, faults=FAULTS, seed=11, stall_s=30)
    services = TestServer(fake_services(middlewares=(chaos.middleware,)))
    await services.start_server()
    url = str(services.make_url("")).rstrip("/")
    tasks_before, fds_before = len(asyncio.all_tasks()), open_fds()

    settings = make_settings(
        **{entry.url_setting: url for entry in SERVICES},
        timeout={"attempt_s": 0.5},
        backtest_deadline_s=DEADLINE_S,
        breaker={"open_s": 0.3},
        hedge={"min_samples": 5},
    )
    serving = Serving()
    client = await serving.client(create_app(settings))
    outcomes: Counter[str] = Counter()

    async def backtest() -> None:
        began = time.monotonic()
        response = await client.post("/api/backtest", json=fakes.backtest_request())
        body = await response.json()
        elapsed = time.monotonic() - began
        assert elapsed < DEADLINE_S + 0.5, f"answered after {elapsed:.2f} s"
        if response.status == 200:
            assert body["success"] is True
            outcomes["success"] += 1
            return
        assert set(body) == {"success", "error"} and body["success"] is False
        code = body["error"]["code"]
        assert CONTRACT.get(code) == response.status, (response.status, body)
        assert "service" in body["error"]["details"]
        outcomes[code] += 1

    async def worker(count: int) -> None:
        for _ in range(count):
            await backtest()

    await asyncio.gather(*(worker(BACKTESTS // CLIENTS) for _ in range(CLIENTS)))
    assert sum(outcomes.values()) == BACKTESTS
    assert outcomes["success"] > 0
    assert set(chaos.seen) >= set(FAULTS), chaos.seen  # every fault was served

    chaos.rate = 0  # the services behave again: once the breakers let probes through, all is well
    for _ in range(20):
        response = await client.post("/api/backtest", json=fakes.backtest_request())
        if response.status == 200:
            break
        await asyncio.sleep(0.1)
    assert response.status == 200

    await serving.close()
    assert await settle(tasks_before) <= tasks_before
    assert open_fds() <= fds_before
    await services.close()


async def test_a_reset_connection_is_a_503_naming_the_service(start_with_chaos):
    client = await start_with_chaos("reset")
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    error = (await response.json())["error"]
    assert (response.status, error["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert error["details"]["service"] in {entry.name for entry in SERVICES}


async def test_a_trickling_answer_times_out_like_a_stall(start_with_chaos):
    client = await start_with_chaos("trickle")
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    assert (response.status, (await response.json())["error"]["code"]) == (504, "SERVICE_TIMEOUT")


async def test_wrong_shapes_are_not_retried(start_with_chaos):
    client = await start_with_chaos("wrong_shape")
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    assert (response.status, (await response.json())["error"]["code"]) == (502, "EXTERNAL_API_ERROR")


@pytest.fixture
def start_with_chaos(aiohttp_server, orchestrator_client):
    """Every call answered by one fault; one attempt each, short timeouts."""

    async def start(fault: str) -> Client:
        chaos = Chaos(rate=1.0, faults=[fault], stall_s=5)
        services = await aiohttp_server(fake_services(middlewares=(chaos.middleware,)))
        url = str(services.make_url("")).rstrip("/")
        settings = make_settings(
            **{entry.url_setting: url for entry in SERVICES},
            timeout={"attempt_s": 0.3},
            hedge={"enabled": False},
            retry={"max_attempts": 1},
        )
        return await orchestrator_client(create_app(settings))

    return start
