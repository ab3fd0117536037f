"""POST /api/backtest with Accept: text/event-stream."""

from __future__ import annotations

import asyncio

import aiohttp

import fakes
from fakes import CALLS
from orchestrator.client import sse

STREAM = {"Accept": "text/event-stream"}


async def _stream(client, body=None, headers=None) -> tuple[aiohttp.ClientResponse, list[sse.Event]]:
    response = await client.post(
        "/api/backtest", json=body or fakes.backtest_request(), headers=headers or STREAM
    )
    return response, sse.parse(await response.text())


async def test_answer_is_an_event_stream(start):
    client, _ = await start()
    response, _ = await _stream(client)
    assert response.status == 200
    assert response.content_type == "text/event-stream"
    assert response.headers["X-Request-ID"]


async def test_ids_count_from_one(start):
    client, _ = await start()
    _, events = await _stream(client)
    assert [event.id for event in events] == [str(n) for n in range(1, len(events) + 1)]


async def test_progress_started_and_done_for_each_stage_then_one_result(start):
    client, _ = await start()
    _, events = await _stream(client)
    *progress, last = events
    assert {event.event for event in progress} == {"progress"} and last.event == "result"
    states = [(event.json()["stage"], event.json()["state"]) for event in progress]
    assert sorted(states) == sorted([(stage, state) for stage in CALLS for state in ("started", "done")])
    for stage in CALLS:
        assert states.index((stage, "started")) < states.index((stage, "done"))


async def test_progress_carries_counts_elapsed_and_facts(start):
    client, _ = await start()
    _, events = await _stream(client)
    done = [event.json() for event in events if event.event == "progress" and event.json()["state"] == "done"]
    assert [event["done"] for event in done] == list(range(1, 8))
    assert all(
        event["total"] == 7 and event["elapsed_ms"] >= 0 and event["duration_ms"] >= 0 for event in done
    )
    facts = {event["stage"]: event.get("facts") for event in done}
    assert facts["market_data.prices"] == {"prices": 4}
    assert facts["market_data.dividends"] == {"dividends": 1}
    assert facts["signals.active"] == {"signals": 1}


async def test_result_is_the_json_answer(start):
    client, _ = await start()
    headers = {"X-Request-ID": "same-id"}
    _, events = await _stream(client, headers={**STREAM, **headers})
    streamed = events[-1].json()
    plain = await (await client.post("/api/backtest", json=fakes.backtest_request(), headers=headers)).json()
    for answer in (streamed, plain):
        answer["data"]["metadata"]["execution_time_ms"] = 0
    assert streamed == plain


async def test_failure_mid_stream_ends_with_one_error_event(start):
    client, _ = await start({"/calculate": 30}, services={"metrics": {"timeout": {"attempt_s": 0.2}}})
    _, events = await _stream(client)
    assert events[-1].event == "error"
    assert [event.event for event in events].count("error") == 1
    assert "result" not in {event.event for event in events}
    assert events[-1].json() == {
        "success": False,
        "error": {
            "code": "SERVICE_TIMEOUT",
            "message": "The metrics service did not answer within 0.2 s",
            "details": {"service": "metrics", "timeout_s": 0.2},
        },
    }
    failed = [
        event.json() for event in events if event.event == "progress" and event.json()["state"] == "failed"
    ]
    assert failed == [{**failed[0], "stage": "metrics", "error": "SERVICE_TIMEOUT"}]


async def test_validation_error_is_plain_json_before_any_stream(start):
    client, _ = await start()
    response = await client.post(
        "/api/backtest", json=fakes.backtest_request(market_params__ticker=""), headers=STREAM
    )
    assert (response.status, response.content_type) == (400, "application/json")
    assert (await response.json())["error"]["code"] == "INVALID_REQUEST"


async def test_idle_stream_gets_comment_heartbeats(start):
    client, _ = await start({"/simulate": 1.2}, sse_heartbeat_s=0.3)
    _, events = await _stream(client)
    assert sum(len(event.comments) for event in events) >= 2
    assert events[-1].event == "result"


async def test_disconnect_mid_stream_cancels_calls_in_flight(start):
    client, log = await start({"/simulate": 30})
    response = await client.post("/api/backtest", json=fakes.backtest_request(), headers=STREAM)
    async for line in response.content:  # read until both simulations have started
        if b"simulate.baseline" in line or len(log.started.get("/simulate", [])) == 2:
            break
    response.close()
    await asyncio.wait_for(log.cancelled_event.wait(), 5)
    await asyncio.sleep(0.1)
    assert sorted(log.cancelled) == ["/simulate", "/simulate"]


async def test_shutdown_ends_streams_still_open_after_the_grace_with_an_error_event(start):
    client, _ = await start({"/simulate": 30}, drain={"grace_s": 0.2})
    response = await client.post("/api/backtest", json=fakes.backtest_request(), headers=STREAM)
    await response.content.readline()  # the stream is open
    shutdown = asyncio.create_task(client.server.app.shutdown())
    events = sse.parse((await asyncio.wait_for(response.content.read(), 5)).decode())
    await shutdown
    assert events[-1].event == "error"
    error = events[-1].json()["error"]
    assert (error["code"], error["details"]["draining"]) == ("SERVICE_UNAVAILABLE", True)
