"""Each field rule of docs/contract.md, and malformed bodies: the envelope, the right code, no call made."""

from __future__ import annotations

from typing import Any

import pytest

import fakes


async def _post(client, body: Any) -> tuple[int, dict[str, Any]]:
    response = await client.post("/api/backtest", json=body)
    return response.status, (await response.json())["error"]


def _fields(error: dict[str, Any]) -> set[str]:
    return {item["field"] for item in error["details"]["errors"]}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"market_params__ticker": ""}, "market_params.ticker"),
        ({"market_params__ticker": "A" * 16}, "market_params.ticker"),
        ({"market_params__ticker": "TQ QQ"}, "market_params.ticker"),
        ({"market_params__ticker": "TQQQ$"}, "market_params.ticker"),
        ({"market_params__ticker": 42}, "market_params.ticker"),
        ({"market_params__market_type": None}, "market_params.market_type"),
        ({"market_params__frequency": "hourly"}, "market_params.frequency"),
        ({"market_params__start_date": 20200101}, "market_params.start_date"),
        ({"strategy_params__strategy_type": ""}, "strategy_params.strategy_type"),
        ({"strategy_params__config": []}, "strategy_params.config"),
        (
            {"strategy_params__config": {"price_change_threshold": 0.05}},
            "strategy_params.config.price_change_threshold",
        ),
        (
            {"strategy_params__config": {"price_change_threshold": -1}},
            "strategy_params.config.price_change_threshold",
        ),
        (
            {"strategy_params__config": {"price_change_threshold": "-5%"}},
            "strategy_params.config.price_change_threshold",
        ),
        (
            {"strategy_params__config": {"lookback_period": "yearly"}},
            "strategy_params.config.lookback_period",
        ),
        ({"portfolio_params__initial_capital": 0}, "portfolio_params.initial_capital"),
        ({"portfolio_params__initial_capital": "10000"}, "portfolio_params.initial_capital"),
        ({"portfolio_params__investment_per_trade": -100}, "portfolio_params.investment_per_trade"),
        ({"portfolio_params__reinvest_dividends": "yes"}, "portfolio_params.reinvest_dividends"),
        ({"portfolio_params__transaction_cost_pct": -0.1}, "portfolio_params.transaction_cost_pct"),
        ({"portfolio_params__cash_interest_rate_pct": -1}, "portfolio_params.cash_interest_rate_pct"),
        ({"baseline_params__initial_capital": 0}, "baseline_params.initial_capital"),
        ({"baseline_params__reinvest_dividends": 1}, "baseline_params.reinvest_dividends"),
        ({"use_test_data": "true"}, "use_test_data"),
        ({"include": ["prices"]}, "include.0"),
        ({"include": "signals"}, "include"),
    ],
)
async def test_field_rule_is_invalid_request_naming_the_field(client, services, changes, field):
    status, error = await _post(client, fakes.backtest_request(**changes))
    assert (status, error["code"]) == (400, "INVALID_REQUEST")
    assert field in _fields(error)
    assert not services.requests  # nothing was called downstream


@pytest.mark.parametrize(
    "section", ["market_params", "strategy_params", "portfolio_params", "baseline_params"]
)
async def test_missing_section_is_reported(client, services, section):
    body = fakes.backtest_request()
    del body[section]
    status, error = await _post(client, body)
    assert (status, error["code"], _fields(error)) == (400, "INVALID_REQUEST", {section})


@pytest.mark.parametrize("field", ["ticker", "market_type", "start_date", "end_date"])
async def test_missing_market_field_is_reported(client, services, field):
    body = fakes.backtest_request()
    del body["market_params"][field]
    _, error = await _post(client, body)
    assert _fields(error) == {f"market_params.{field}"}


async def test_every_problem_listed_at_once(client, services):
    body = fakes.backtest_request(
        market_params__ticker="",
        portfolio_params__initial_capital=-1,
        strategy_params__config={"price_change_threshold": 2},
    )
    _, error = await _post(client, body)
    assert _fields(error) == {
        "market_params.ticker",
        "portfolio_params.initial_capital",
        "strategy_params.config.price_change_threshold",
    }
    assert all(item["message"] for item in error["details"]["errors"])


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2022-01-01", "2020-01-01"),
        ("2020-01-01", "2020-01-01"),
        ("2020-02-30", "2021-01-01"),
        ("2020/01/01", "2021-01-01"),
        ("20200101", "2021-01-01"),
        ("2020-01-01", "tomorrow"),
    ],
)
async def test_bad_date_range(client, services, start, end):
    status, error = await _post(
        client, fakes.backtest_request(market_params__start_date=start, market_params__end_date=end)
    )
    assert (status, error["code"]) == (400, "INVALID_DATE_RANGE")
    assert not services.requests


async def test_defaults_are_applied(client, happy):
    from tests.orchestrator.conftest import MARKET, PORTFOLIO, sent_bodies

    body = fakes.backtest_request()
    del body["market_params"]["frequency"]
    body["strategy_params"] = {"strategy_type": "buy_and_hold"}
    body["portfolio_params"] = {"initial_capital": 1000, "investment_per_trade": 100}
    body["baseline_params"] = {"initial_capital": 1000}
    assert (await client.post("/api/backtest", json=body)).status == 200
    assert sent_bodies(happy, f"{MARKET}/prices")[0]["frequency"] == "daily"
    active = next(b for b in sent_bodies(happy, f"{PORTFOLIO}/simulate") if b["investment_per_trade"] == 100)
    assert (
        active["reinvest_dividends"],
        active["transaction_cost_pct"],
        active["cash_interest_rate_pct"],
    ) == (True, 0, 0)


async def test_unknown_strategies_are_left_to_the_strategy_service(client, happy):
    body = fakes.backtest_request(
        strategy_params__strategy_type="momentum",
        strategy_params__config={"lookback_days": 20, "price_change_threshold": 7},
    )
    assert (await client.post("/api/backtest", json=body)).status == 200


@pytest.mark.parametrize("body", [[1, 2], "a string", 42, None])
async def test_body_not_an_object(client, services, body):
    import orjson

    response = await client.post(
        "/api/backtest", data=orjson.dumps(body), headers={"Content-Type": "application/json"}
    )
    status, error = response.status, (await response.json())["error"]
    assert (status, error["code"]) == (400, "INVALID_REQUEST")
