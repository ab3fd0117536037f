"""The whole platform as processes (reference services + `orchestrator serve`), through HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from orchestrator.client import sse
from tests.requests import TQQQ


def post(platform, body: dict[str, Any], accept: str = "application/json") -> tuple[int, Any]:
    request = urllib.request.Request(
        platform.url + "/api/backtest",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": accept},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            text = answer.read().decode()
            return answer.status, json.loads(text) if accept == "application/json" else text
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def with_strategy(strategy_type: str, config: dict[str, Any] | None = None, **market: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(TQQQ))
    body["strategy_params"] = {"strategy_type": strategy_type, "config": config or {}}
    body["market_params"].update(market)
    return body


def test_health_of_the_whole_platform(platform):
    with urllib.request.urlopen(platform.url + "/api/health", timeout=10) as answer:
        assert (answer.status, json.loads(answer.read())["status"]) == (200, "healthy")


def test_tqqq_buy_the_dip_against_buy_and_hold(platform):
    status, body = post(platform, TQQQ)
    assert status == 200, body
    data = body["data"]
    active, baseline = data["active_strategy"], data["baseline_strategy"]
    assert data["metadata"]["data_points"] == 505  # the NYSE's sessions in those two years
    assert {
        key: data["metadata"]["data_source"][key] for key in ("service", "provider", "synthetic", "calendar")
    } == {
        "service": "market_data",
        "provider": "sample",
        "synthetic": True,
        "calendar": "XNYS",
    }
    assert active["summary"]["total_trades"] == len(active["trades"]) > 0
    assert baseline["summary"]["total_trades"] == 1
    assert active["summary"]["total_capital_invested"] == pytest.approx(100 * len(active["trades"]), abs=0.01)
    assert baseline["summary"]["total_capital_invested"] == pytest.approx(10000, abs=0.01)
    for result in (active, baseline):
        series = result["time_series"]
        assert len(series["dates"]) == len(series["portfolio_value"]) == data["metadata"]["data_points"]
        assert result["summary"]["final_portfolio_value"] == pytest.approx(
            series["portfolio_value"][-1], abs=0.01
        )
    assert all(
        trade["ticker"] == "TQQQ" and trade["trigger"].startswith("Price dropped")
        for trade in active["trades"]
    )
    comparison = data["comparison"]
    assert comparison["excess_return_pct"] == pytest.approx(
        active["summary"]["total_return_pct"] - baseline["summary"]["total_return_pct"], abs=0.02
    )


@pytest.mark.parametrize(
    ("strategy_type", "config"),
    [
        ("buy_and_hold", {}),
        ("dollar_cost_average", {"interval_days": 21}),
        ("momentum", {"lookback_days": 20, "momentum_threshold": 0.05}),
        ("buy_the_dip", {"price_change_threshold": -0.1, "lookback_period": "weekly"}),
    ],
)
def test_each_strategy_runs_end_to_end(platform, strategy_type, config):
    status, body = post(platform, with_strategy(strategy_type, config))
    assert status == 200, body
    assert body["data"]["metadata"]["strategy_type"] == strategy_type


@pytest.mark.parametrize("frequency", ["weekly", "monthly"])
def test_resampled_frequencies(platform, frequency):
    status, body = post(platform, with_strategy("buy_and_hold", frequency=frequency))
    assert status == 200, body
    assert body["data"]["metadata"]["data_points"] == {"weekly": 105, "monthly": 24}[frequency]


def test_unknown_ticker_is_invalid_ticker(platform):
    status, body = post(platform, with_strategy("buy_and_hold", ticker="ZZZZ"))
    assert (status, body["error"]["code"]) == (400, "INVALID_TICKER")


def test_unknown_strategy_is_strategy_not_found(platform):
    status, body = post(platform, with_strategy("astrology"))
    assert (status, body["error"]["code"]) == (400, "STRATEGY_NOT_FOUND")


def test_range_without_trading_days_is_insufficient_data(platform):
    status, body = post(
        platform, with_strategy("buy_and_hold", start_date="2021-01-02", end_date="2021-01-03")
    )
    assert (status, body["error"]["code"]) == (400, "INSUFFICIENT_DATA")


def test_test_data_has_twenty_days_and_one_dip(platform):
    body = with_strategy(
        "buy_the_dip", {"price_change_threshold": -0.05}, start_date="2000-01-01", end_date="2030-01-01"
    )
    body["use_test_data"] = True
    status, answer = post(platform, body)
    assert status == 200, answer
    assert answer["data"]["metadata"]["data_points"] == 20
    assert len(answer["data"]["active_strategy"]["trades"]) == 1


def test_streamed_backtest_ends_with_the_result(platform):
    status, text = post(platform, TQQQ, accept="text/event-stream")
    events = sse.parse(text)
    assert status == 200
    assert events[-1].event == "result"
    assert sum(1 for e in events if e.event == "progress" and e.json()["state"] in ("done", "cached")) == 7
