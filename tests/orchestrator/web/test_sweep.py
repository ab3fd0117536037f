"""POST /api/sweep over the fake services: shared calls, rows, ranking, streams, cancellation."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import orjson

import fakes
from orchestrator.client import sse
from orchestrator.clients.transport import Answer, Request
from orchestrator.web.keys import ADMISSION
from tests.orchestrator.conftest import STRATEGY, answer_every_call, answer_instead
from tests.services_table import body_of

THRESHOLD = "strategy_params.config.price_change_threshold"
STREAM = {"Accept": "text/event-stream"}
NO_CACHE = {"cache": {"enabled": False}}


def sweep_request(grid: dict[str, list[Any]] | None = None, **options: Any) -> dict[str, Any]:
    return {**fakes.backtest_request(), "grid": grid or {THRESHOLD: [-0.03, -0.05, -0.07]}, **options}


def _made(log) -> dict[str, int]:
    return {path: len(times) for path, times in sorted(log.started.items())}


async def test_market_data_and_baseline_are_fetched_once_per_ticker(start):
    client, log = await start(**NO_CACHE)
    grid = {THRESHOLD: [-0.03, -0.05, -0.07], "market_params.ticker": ["TQQQ", "SPY"]}
    answer = await (await client.post("/api/sweep", json=sweep_request(grid))).json()
    assert _made(log) == {"/calculate": 6, "/dividends": 2, "/prices": 2, "/signals": 8, "/simulate": 8}
    assert answer["data"]["metadata"]["calls_total"] == 3 * 6 + 4 * 2


async def test_the_metadata_counts_each_call_by_name(start):
    client, _ = await start(**NO_CACHE)
    metadata = (await (await client.post("/api/sweep", json=sweep_request())).json())["data"]["metadata"]
    assert metadata["calls"] == {
        "market_data.prices": 1,
        "market_data.dividends": 1,
        "signals.baseline": 1,
        "simulate.baseline": 1,
        "signals.active": 3,
        "simulate.active": 3,
        "metrics": 3,
    }
    assert (metadata["combinations"], metadata["succeeded"], metadata["failed"]) == (3, 3, 0)


async def test_every_row_has_its_params_summary_and_comparison_ranked(start):
    client, _ = await start()
    rows = (await (await client.post("/api/sweep", json=sweep_request())).json())["data"]["rows"]
    assert [row["rank"] for row in rows] == [1, 2, 3]
    assert sorted(row["params"][THRESHOLD] for row in rows) == [-0.07, -0.05, -0.03]
    assert all({"summary", "comparison"} <= row.keys() and "time_series" not in row for row in rows)


async def test_time_series_are_kept_only_when_asked(start):
    client, _ = await start()
    body = sweep_request(include_time_series=True)
    rows = (await (await client.post("/api/sweep", json=body)).json())["data"]["rows"]
    assert all(row["time_series"]["dates"] == fakes.DATES for row in rows)


async def test_a_failing_combination_is_reported_in_its_row_and_the_rest_succeed(client_for, services):
    answer_every_call(services)

    def signals(request: Request) -> Answer:
        body = body_of(request)
        if body["strategy_type"] == "nope":
            return Answer(400, orjson.dumps(fakes.error_envelope("STRATEGY_NOT_FOUND", "no such")))
        return Answer(200, orjson.dumps(fakes.answer("/signals", body)))

    answer_instead(services, STRATEGY + "/signals", reply=signals)
    client = await client_for()
    grid = {"strategy_params.strategy_type": ["buy_the_dip", "nope"]}
    response = await client.post("/api/sweep", json=sweep_request(grid))
    data = (await response.json())["data"]
    assert response.status == 200
    assert [row["rank"] for row in data["rows"]] == [1, None]
    assert data["rows"][1]["error"]["code"] == "STRATEGY_NOT_FOUND"
    assert (data["metadata"]["succeeded"], data["metadata"]["failed"]) == (1, 1)


async def test_more_combinations_than_allowed_is_a_400_before_any_call(start):
    client, log = await start(sweep={"max_combinations": 2})
    response = await client.post("/api/sweep", json=sweep_request())
    answer = await response.json()
    assert response.status == 400
    assert answer["error"]["code"] == "INVALID_REQUEST"
    assert (answer["error"]["details"]["combinations"], answer["error"]["details"]["max_combinations"]) == (
        3,
        2,
    )
    assert log.started == {}


async def test_a_bad_sweep_option_is_a_400_naming_the_field(start):
    client, _ = await start()
    response = await client.post("/api/sweep", json=sweep_request(rank_by="luck"))
    assert response.status == 400
    assert (await response.json())["error"]["details"]["errors"][0]["field"] == "rank_by"


async def test_a_walk_forward_over_weekly_bars_is_refused(start):
    client, _ = await start()
    body = sweep_request(walk_forward={"split_date": "2020-01-05"})
    body["market_params"]["frequency"] = "weekly"
    response = await client.post("/api/sweep", json=body)
    assert response.status == 400
    assert (await response.json())["error"]["details"]["errors"][0]["field"] == "market_params.frequency"


async def test_a_stream_gives_results_then_progress_then_the_summary(start):
    client, _ = await start(sweep={"progress_interval_s": 60})
    events = sse.parse(await (await client.post("/api/sweep", json=sweep_request(), headers=STREAM)).text())
    assert [event.event for event in events] == ["result", "result", "result", "progress", "summary"]
    progress = events[3].json()
    assert (progress["done"], progress["total"], progress["failed"]) == (3, 3, 0)
    assert len(progress["top"]) == 3 and progress["top"][0]["rank"] == 1


async def test_the_streams_summary_is_the_json_answer(start):
    client, _ = await start(**NO_CACHE)
    streamed = sse.parse(await (await client.post("/api/sweep", json=sweep_request(), headers=STREAM)).text())
    answered = await (await client.post("/api/sweep", json=sweep_request())).json()
    summary = streamed[-1].json()
    for document in (summary, answered):
        for varying in ("request_id", "execution_time_ms"):
            document["data"]["metadata"].pop(varying)
    assert summary == answered


async def test_progress_carries_only_the_best_top_k(start):
    client, _ = await start(sweep={"progress_interval_s": 0})
    body = sweep_request(top_k=1)
    events = sse.parse(await (await client.post("/api/sweep", json=body, headers=STREAM)).text())
    assert all(len(event.json()["top"]) == 1 for event in events if event.event == "progress")


async def test_a_client_that_leaves_cancels_every_call_in_flight(start):
    client, log = await start({"/simulate": 30}, **NO_CACHE)
    grid = {THRESHOLD: [-0.01 * i for i in range(1, 41)]}
    response = await client.post("/api/sweep", json=sweep_request(grid), headers=STREAM)
    while len(log.started.get("/simulate", [])) < 3:  # noqa: ASYNC110 - the fakes' log has no event for it
        await asyncio.sleep(0.01)
    response.close()
    await asyncio.wait_for(log.cancelled_event.wait(), 5)
    await asyncio.sleep(0.2)
    started = sum(len(times) for times in log.started.values())
    ended = sum(len(times) for times in log.ended.values())
    assert started == ended + len(log.cancelled)
    assert len(log.started["/simulate"]) < 40


async def test_a_sweep_runs_several_combinations_at_once_up_to_its_concurrency(start):
    client, log = await start({"/calculate": 0.5}, sweep={"concurrency": 3}, **NO_CACHE)
    grid = {THRESHOLD: [-0.01 * i for i in range(1, 7)]}
    await client.post("/api/sweep", json=sweep_request(grid))
    starts = sorted(log.started["/calculate"])
    assert starts[2] - starts[0] < 0.3  # three ran together
    assert starts[3] - starts[0] >= 0.45  # the fourth waited for one of them to end


async def test_a_busy_server_runs_a_sweep_on_its_own_slot_one_at_a_time(start):
    fixed = {"min_limit": 1, "max_limit": 1, "initial_limit": 1}
    client, log = await start({"/calculate": 0.1}, admission=fixed, sweep={"concurrency": 4}, **NO_CACHE)
    response = await client.post("/api/sweep", json=sweep_request())
    starts = sorted(log.started["/calculate"])
    assert response.status == 200
    assert all(later - earlier >= 0.09 for earlier, later in itertools.pairwise(starts))


async def test_each_further_combination_in_flight_takes_an_admission_slot(start):
    client, log = await start({"/calculate": 0.3}, sweep={"concurrency": 3}, **NO_CACHE)
    admission = client.server.app[ADMISSION]
    sweeping = asyncio.ensure_future(client.post("/api/sweep", json=sweep_request()))
    while len(log.started.get("/calculate", [])) < 3:  # noqa: ASYNC110 - the fakes' log has no event for it
        await asyncio.sleep(0.01)
    assert admission.limit.in_flight == 3  # the sweep's own and two more
    await sweeping
    assert admission.limit.in_flight == 0


async def test_a_sweeps_own_duration_is_not_taught_to_the_admission_limit(start, monkeypatch):
    client, _ = await start(sweep={"concurrency": 1})
    taught = []
    admission = client.server.app[ADMISSION]
    monkeypatch.setattr(admission, "done", lambda latency_s, dropped: taught.append(latency_s))
    await client.post("/api/sweep", json=sweep_request())
    assert taught == [None]
