"""Admission, deadlines from the caller, circuits in the answers: the resilience the API shows."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

import fakes
from orchestrator.web.keys import ADMISSION
from tests.orchestrator.conftest import (
    MARKET,
    METRICS,
    TEST_DATA,
    answer_every_call,
    answer_instead,
    sent_bodies,
)

ONE_AT_A_TIME = {"admission": {"min_limit": 1, "initial_limit": 1, "max_limit": 1}}
STREAM = {"Accept": "text/event-stream"}


async def test_past_the_limit_a_backtest_is_refused_at_once_with_retry_after(start):
    client, _ = await start({"/simulate": 0.5}, **ONE_AT_A_TIME)
    first = asyncio.create_task(client.post("/api/backtest", json=fakes.backtest_request()))
    await asyncio.sleep(0.1)
    refused = await client.post("/api/backtest", json=fakes.backtest_request())
    error = (await refused.json())["error"]
    assert (refused.status, error["code"], refused.headers["Retry-After"]) == (
        503,
        "SERVICE_UNAVAILABLE",
        "1",
    )
    assert error["details"] == {
        "service": "orchestrator",
        "overloaded": True,
        "limit": 1,
        "retry_after_s": 1.0,
    }
    assert (await first).status == 200


async def test_the_streamed_form_is_refused_the_same_way_before_any_stream(start):
    client, _ = await start({"/simulate": 0.5}, **ONE_AT_A_TIME)
    first = asyncio.create_task(client.post("/api/backtest", json=fakes.backtest_request()))
    await asyncio.sleep(0.1)
    refused = await client.post("/api/backtest", json=fakes.backtest_request(), headers=STREAM)
    assert (refused.status, refused.content_type) == (503, "application/json")
    await first


async def test_liveness_and_health_are_never_refused(start):
    client, _ = await start({"/simulate": 0.5}, **ONE_AT_A_TIME)
    first = asyncio.create_task(client.post("/api/backtest", json=fakes.backtest_request()))
    await asyncio.sleep(0.1)
    assert (await client.get("/health")).status == 200
    assert (await client.get("/api/health")).status == 200
    await first


async def test_a_place_is_given_back_whatever_the_outcome(start):
    metrics = {"timeout": {"attempt_s": 0.1}, "hedge": {"enabled": False}}
    client, _ = await start({"/calculate": 5}, services={"metrics": metrics}, **ONE_AT_A_TIME)
    for _ in range(3):  # each times out; the next is still admitted
        response = await client.post("/api/backtest", json=fakes.backtest_request())
        assert (await response.json())["error"]["code"] == "SERVICE_TIMEOUT"
    assert client.server.app[ADMISSION].limit.in_flight == 0


async def test_the_caller_may_ask_for_a_shorter_deadline(start):
    client, _ = await start({"/simulate": 2})
    began = asyncio.get_running_loop().time()
    response = await client.post(
        "/api/backtest", json=fakes.backtest_request(), headers={"X-Request-Timeout-Ms": "300"}
    )
    elapsed = asyncio.get_running_loop().time() - began
    error = (await response.json())["error"]
    assert (response.status, error["code"], error["details"]["service"]) == (
        504,
        "SERVICE_TIMEOUT",
        "portfolio",
    )
    assert error["details"]["timeout_s"] <= 0.3
    assert elapsed < 1.5  # well before the 2 s simulation, let alone the configured deadline


@pytest.mark.parametrize("value", ["soon", "-5", "0", "1.5", ""])
async def test_a_malformed_deadline_header_is_a_400(client, services, value):
    response = await client.post(
        "/api/backtest", json=fakes.backtest_request(), headers={"X-Request-Timeout-Ms": value}
    )
    error = (await response.json())["error"]
    assert (response.status, error["code"]) == (400, "INVALID_REQUEST")
    assert "X-Request-Timeout-Ms" in error["message"]


async def test_each_call_tells_its_service_how_long_it_has(client, happy):
    await client.post(
        "/api/backtest", json=fakes.backtest_request(), headers={"X-Request-Timeout-Ms": "1500"}
    )
    budgets = [int(request.headers["X-Request-Timeout-Ms"]) for request in happy.requests]
    assert len(budgets) == 7
    assert all(0 < budget <= 1500 for budget in budgets)


async def test_an_open_circuit_fails_the_backtest_before_any_call(client_for, happy):
    client = await client_for(breaker={"min_calls": 2, "window_s": 60}, retry={"max_attempts": 1})
    answer_instead(happy, f"{METRICS}/calculate", status=500, body="boom")
    with capture_logs() as logs:
        for _ in range(2):  # two backtests fail on metrics: its circuit opens
            assert (await client.post("/api/backtest", json=fakes.backtest_request())).status == 502
    changes = [entry for entry in logs if entry["event"] == "circuit breaker"]
    assert [(c["service"], c["was"], c["state"], c["log_level"]) for c in changes] == [
        ("metrics", "closed", "open", "warning")
    ]
    calls_before = len(sent_bodies(happy, f"{MARKET}/prices"))
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    error = (await response.json())["error"]
    assert (response.status, error["code"], error["details"]["service"], error["details"]["circuit"]) == (
        503,
        "SERVICE_UNAVAILABLE",
        "metrics",
        "open",
    )
    assert int(response.headers["Retry-After"]) >= 1
    assert len(sent_bodies(happy, f"{MARKET}/prices")) == calls_before  # nothing was called
    health = await (await client.get("/api/health")).json()
    assert health["circuits"]["metrics"] == "open"


async def test_a_backtest_on_test_data_meets_the_test_data_services_circuit(client_for, happy):
    client = await client_for(breaker={"min_calls": 2, "window_s": 60}, retry={"max_attempts": 1})
    answer_every_call(happy, market=TEST_DATA)
    answer_instead(happy, f"{TEST_DATA}/prices", status=500, body="boom")
    on_test_data = fakes.backtest_request(use_test_data=True)
    for _ in range(2):  # two backtests fail on the test data's prices: its circuit opens
        assert (await client.post("/api/backtest", json=on_test_data)).status == 502
    refused = await client.post("/api/backtest", json=on_test_data)
    assert (refused.status, (await refused.json())["error"]["details"]["service"]) == (503, "test_data")
    assert (await client.post("/api/backtest", json=fakes.backtest_request())).status == 200


async def test_health_says_draining_at_once_when_the_server_drains(client, services):
    client.server.app[ADMISSION].draining = True
    response = await client.get("/api/health")
    assert (response.status, (await response.json())["status"]) == (503, "draining")
    refused = await client.post("/api/backtest", json=fakes.backtest_request())
    assert (refused.status, (await refused.json())["error"]["details"]["draining"]) == (503, True)


async def test_the_canonical_line_says_what_the_calls_went_through(start):
    client, _ = await start({"/simulate": 0.5}, **ONE_AT_A_TIME)
    with capture_logs() as logs:
        first = asyncio.create_task(client.post("/api/backtest", json=fakes.backtest_request()))
        await asyncio.sleep(0.1)
        await client.post("/api/backtest", json=fakes.backtest_request())
        await first
    lines = [entry for entry in logs if entry["event"] in ("backtest", "request") and "status" in entry]
    shed = [line for line in lines if line["status"] == 503]
    done = [line for line in lines if line["status"] == 200]
    assert [line["shed"] for line in shed] == ["overloaded"]
    assert [line["attempts"] for line in done] == [7]
