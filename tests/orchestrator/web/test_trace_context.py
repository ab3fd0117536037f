"""W3C trace context through the app: the caller's trace continued (or a new one started), a span of
its own for every downstream call, the trace and span ids in every log line, ``traceresponse`` back."""

from __future__ import annotations

import re
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

import fakes
from orchestrator.registry import SERVICES
from tests.orchestrator.conftest import URLS
from tests.services_table import ServiceTable, json_answer

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN}-01"
SENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
THRESHOLD = "strategy_params.config.price_change_threshold"


@pytest.fixture
def logs():
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as captured:
        yield captured


def sent(services: ServiceTable) -> list[tuple[str, str, str]]:
    """``(trace id, span id, flags)`` of the ``traceparent`` of every call the services were sent."""
    found = []
    for request in services.requests:
        matched = SENT.fullmatch(request.headers["traceparent"])
        assert matched is not None, request.headers
        found.append(matched.groups())
    return found


def traceresponse(response: Any) -> tuple[str, str, str]:
    matched = SENT.fullmatch(response.headers["traceresponse"])
    assert matched is not None
    return matched.groups()  # type: ignore[return-value]


async def test_the_callers_trace_is_sent_on_all_seven_calls_each_a_span_of_its_own(client, happy):
    response = await client.post(
        "/api/backtest", json=fakes.backtest_request(), headers={"traceparent": TRACEPARENT}
    )
    assert response.status == 200
    calls = sent(happy)
    assert len(calls) == len(fakes.CALLS) == 7
    assert {(trace_id, flags) for trace_id, _, flags in calls} == {(TRACE_ID, "01")}
    spans = [span for _, span, _ in calls]
    assert len(set(spans)) == 7 and CALLER_SPAN not in spans


async def test_the_answer_names_our_span_in_traceresponse(client, happy):
    response = await client.post(
        "/api/backtest", json=fakes.backtest_request(), headers={"traceparent": TRACEPARENT}
    )
    trace_id, span_id, flags = traceresponse(response)
    assert (trace_id, flags) == (TRACE_ID, "01") and span_id != CALLER_SPAN
    assert span_id not in {span for _, span, _ in sent(happy)}  # the calls are its children, not it


async def test_a_streamed_backtest_carries_the_trace_too(client, happy):
    headers = {"traceparent": TRACEPARENT, "Accept": "text/event-stream"}
    response = await client.post("/api/backtest", json=fakes.backtest_request(), headers=headers)
    assert "event: result" in await response.text()
    assert traceresponse(response)[0] == TRACE_ID  # the headers of a stream go out early: there too
    assert {trace for trace, _, _ in sent(happy)} == {TRACE_ID} and len(sent(happy)) == 7


async def test_without_traceparent_a_new_trace_is_started_and_sent(client, happy):
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    assert response.status == 200
    trace_id, _, flags = traceresponse(response)
    assert {(trace, flag) for trace, _, flag in sent(happy)} == {(trace_id, flags)}
    assert trace_id != TRACE_ID and flags == "01"


@pytest.mark.parametrize(
    "invalid",
    [
        "garbage",
        f"00-{TRACE_ID.upper()}-{CALLER_SPAN}-01",  # hex must be lowercase
        f"00-{'0' * 32}-{CALLER_SPAN}-01",  # all-zero trace id
        f"00-{TRACE_ID}-{'0' * 16}-01",  # all-zero parent id
        f"ff-{TRACE_ID}-{CALLER_SPAN}-01",  # ff is no version
        f"00-{TRACE_ID}-{CALLER_SPAN}-01-extra",  # version 00 has nothing after the flags
    ],
)
async def test_an_invalid_traceparent_starts_a_new_trace_never_an_error(client, happy, invalid):
    response = await client.post(
        "/api/backtest",
        json=fakes.backtest_request(),
        headers={"traceparent": invalid, "tracestate": "vendor=kept-only-with-its-traceparent"},
    )
    assert response.status == 200
    trace_id, _, _ = traceresponse(response)
    assert trace_id.lower() != TRACE_ID and trace_id != "0" * 32
    assert {trace for trace, _, _ in sent(happy)} == {trace_id}
    assert happy.requests and all("tracestate" not in request.headers for request in happy.requests)


async def test_tracestate_goes_with_the_callers_traceparent_on_every_call(client, happy):
    headers = {"traceparent": TRACEPARENT, "tracestate": "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7"}
    await client.post("/api/backtest", json=fakes.backtest_request(), headers=headers)
    states = [request.headers.get("tracestate") for request in happy.requests]
    assert states == ["congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"] * 7


async def test_the_canonical_line_and_every_call_line_carry_the_trace_and_our_span(client, happy, logs):
    response = await client.post(
        "/api/backtest", json=fakes.backtest_request(), headers={"traceparent": TRACEPARENT}
    )
    _, span_id, _ = traceresponse(response)
    [canonical] = [entry for entry in logs if entry["event"] == "backtest"]
    call_lines = [entry for entry in logs if entry["event"] in ("downstream call", "downstream answer")]
    assert len(call_lines) >= 14  # a "downstream call" and a "downstream answer" per call, at least
    for entry in [canonical, *call_lines]:
        assert (entry["trace_id"], entry["span_id"]) == (TRACE_ID, span_id), entry
    assert canonical["parent_span_id"] == CALLER_SPAN
    assert {(entry.get("trace_id"), entry.get("span_id")) for entry in logs} == {(TRACE_ID, span_id)}


async def test_a_failed_requests_lines_carry_the_trace_too(client, happy, logs, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug of ours")

    monkeypatch.setattr("orchestrator.backtest.graph.assemble_answer", broken)
    response = await client.post(
        "/api/backtest", json=fakes.backtest_request(), headers={"traceparent": TRACEPARENT}
    )
    assert response.status == 500
    _, span_id, _ = traceresponse(response)  # the error envelope names our span too
    [error] = [entry for entry in logs if entry["event"] == "unexpected error"]
    [canonical] = [entry for entry in logs if entry["event"] == "backtest"]
    for entry in (error, canonical):
        assert (entry["trace_id"], entry["span_id"]) == (TRACE_ID, span_id)


async def test_every_call_of_a_sweep_carries_the_callers_trace(client, happy):
    body = {**fakes.backtest_request(), "grid": {THRESHOLD: [-0.03, -0.05, -0.07]}}
    response = await client.post("/api/sweep", json=body, headers={"traceparent": TRACEPARENT})
    assert response.status == 200
    calls = sent(happy)
    assert len(calls) == 4 + 3 * 3  # the market and the baseline once, then three calls per combination
    assert {trace for trace, _, _ in calls} == {TRACE_ID}
    assert len({span for _, span, _ in calls}) == len(calls)


async def test_every_call_of_a_walk_forward_carries_the_callers_trace(client, happy):
    body = {
        **fakes.backtest_request(),
        "grid": {THRESHOLD: [-0.03, -0.05]},
        "walk_forward": {"split_date": "2020-01-06"},
    }
    response = await client.post("/api/sweep", json=body, headers={"traceparent": TRACEPARENT})
    assert response.status == 200, await response.text()
    calls = sent(happy)
    assert len(calls) > 7
    assert {trace for trace, _, _ in calls} == {TRACE_ID}


async def test_every_call_of_a_comparison_carries_the_callers_trace(client, happy):
    market = {key: value for key, value in fakes.backtest_request().items() if key != "strategy_params"}
    body = {
        **market,
        "strategies": [
            {"name": "dip 3%", "strategy_type": "buy_the_dip", "config": {"price_change_threshold": -0.03}},
            {"name": "dip 5%", "strategy_type": "buy_the_dip", "config": {"price_change_threshold": -0.05}},
        ],
    }
    response = await client.post("/api/compare", json=body, headers={"traceparent": TRACEPARENT})
    assert response.status == 200, await response.text()
    calls = sent(happy)
    assert len(calls) == 4 + 2 * 3  # the market and the baseline once, then three calls per strategy
    assert {trace for trace, _, _ in calls} == {TRACE_ID}


async def test_health_checks_are_spans_of_the_callers_trace(client, services):
    for entry in SERVICES:
        services.answer(
            URLS[entry.name] + entry.health_path, json_answer({"status": "healthy"}), method="GET"
        )
    response = await client.get("/api/health", headers={"traceparent": TRACEPARENT})
    assert response.status == 200
    calls = sent(services)
    assert len(calls) == len((await response.json())["services"]) > 0
    assert {trace for trace, _, _ in calls} == {TRACE_ID}
    assert len({span for _, span, _ in calls}) == len(calls)


async def test_a_browser_on_another_origin_may_send_traceparent_and_read_traceresponse(client):
    preflight = await client.options(
        "/api/backtest",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,traceparent,tracestate",
        },
    )
    assert preflight.status == 200
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert {"traceparent", "tracestate"} <= set(re.split(r"\s*,\s*", allowed))
    answer = await client.get("/health", headers={"Origin": "http://localhost:3000"})
    exposed = answer.headers["Access-Control-Expose-Headers"].lower()
    assert "traceresponse" in re.split(r"\s*,\s*", exposed) and "traceresponse" in answer.headers
