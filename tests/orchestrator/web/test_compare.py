"""POST /api/compare over the fake services: one market, one baseline, a backtest per strategy."""

from __future__ import annotations

from typing import Any

from structlog.testing import capture_logs

import fakes
from orchestrator.client import sse

STREAM = {"Accept": "text/event-stream"}
DIP = {"name": "dip 5%", "strategy_type": "buy_the_dip", "config": {"price_change_threshold": -0.05}}
DCA = {"name": "monthly", "strategy_type": "dollar_cost_average", "config": {}}


def compare_request(*strategies: dict[str, Any]) -> dict[str, Any]:
    body = {key: value for key, value in fakes.backtest_request().items() if key != "strategy_params"}
    return {**body, "strategies": list(strategies or (DIP, DCA))}


async def test_each_strategy_has_its_summary_series_trades_and_comparison_in_order(start):
    client, _ = await start()
    data = (await (await client.post("/api/compare", json=compare_request())).json())["data"]
    assert [strategy["name"] for strategy in data["strategies"]] == ["dip 5%", "monthly"]
    assert all(
        {"summary", "time_series", "trades", "comparison", "strategy_type", "config"} <= strategy.keys()
        for strategy in data["strategies"]
    )
    assert data["metadata"]["strategies"] == ["dip 5%", "monthly"]
    assert "summary" in data["baseline_strategy"] and "strategy_type" not in data["metadata"]


async def test_market_data_and_the_baseline_run_are_made_once(start):
    client, log = await start(cache={"enabled": False})
    await client.post("/api/compare", json=compare_request())
    made = {path: len(times) for path, times in log.started.items()}
    assert made == {"/prices": 1, "/dividends": 1, "/signals": 3, "/simulate": 3, "/calculate": 2}


async def test_a_stream_names_each_strategys_calls_and_ends_with_the_answer(start):
    client, _ = await start()
    events = sse.parse(
        await (await client.post("/api/compare", json=compare_request(), headers=STREAM)).text()
    )
    stages = {event.json()["stage"] for event in events if event.event == "progress"}
    assert {"signals.dip 5%", "simulate.monthly", "metrics.dip 5%", "signals.baseline"} <= stages
    assert events[-1].event == "result"
    assert [s["name"] for s in events[-1].json()["data"]["strategies"]] == ["dip 5%", "monthly"]


async def test_two_strategies_with_one_name_are_refused(start):
    client, _ = await start()
    response = await client.post("/api/compare", json=compare_request(DIP, DIP))
    assert response.status == 400
    assert (await response.json())["error"]["details"]["errors"][0]["field"] == "strategies"


async def test_the_baselines_name_is_refused(start):
    client, _ = await start()
    response = await client.post("/api/compare", json=compare_request({**DCA, "name": "baseline"}))
    assert (await response.json())["error"]["details"]["errors"][0]["field"] == "strategies[0].name"


async def test_more_strategies_than_allowed_are_refused(start):
    client, _ = await start(compare={"max_strategies": 1})
    response = await client.post("/api/compare", json=compare_request())
    assert response.status == 400


async def test_a_strategys_bad_config_is_named_after_it(start):
    client, _ = await start()
    bad = {**DIP, "name": "bad", "config": {"price_change_threshold": 5}}
    response = await client.post("/api/compare", json=compare_request(DCA, bad))
    field = (await response.json())["error"]["details"]["errors"][0]["field"]
    assert field == "strategies[1].config.price_change_threshold"


async def test_the_caller_may_ask_a_comparison_for_a_shorter_deadline(start):
    client, _ = await start({"/simulate": 2})
    response = await client.post(
        "/api/compare", json=compare_request(), headers={"X-Request-Timeout-Ms": "300"}
    )
    error = (await response.json())["error"]
    assert (response.status, error["code"]) == (504, "SERVICE_TIMEOUT")
    assert error["details"]["timeout_s"] <= 0.3


async def test_a_malformed_deadline_header_is_a_400_before_any_call(start):
    client, log = await start()
    response = await client.post(
        "/api/compare", json=compare_request(), headers={"X-Request-Timeout-Ms": "soon"}
    )
    error = (await response.json())["error"]
    assert (response.status, error["code"], error["details"]["errors"][0]["field"]) == (
        400,
        "INVALID_REQUEST",
        "header X-Request-Timeout-Ms",
    )
    assert log.started == {}


async def test_the_canonical_line_names_the_comparison_and_counts_its_calls(start):
    client, _ = await start()
    with capture_logs() as logs:
        await client.post("/api/compare", json=compare_request())
    line = next(entry for entry in logs if entry.get("event") == "compare")
    assert (line["ticker"], line["strategies"]) == ("TQQQ", 2)
    assert line["calls_ms"]["signals.dip 5%"] >= 0
