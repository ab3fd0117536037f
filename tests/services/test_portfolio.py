"""POST /simulate: the day's order, dividends reinvested or not, costs, interest, partial buys, rounding."""

from __future__ import annotations

from typing import Any

import pytest

from services.portfolio.app import create_app
from tests.services.asgi import post

app = create_app()

# Mon 4 Jan 2021 .. Fri 8 Jan (Thursday 7th missing, so the last step is two calendar days)
PRICES = [("2021-01-04", 10.0), ("2021-01-05", 8.0), ("2021-01-06", 10.0), ("2021-01-08", 12.5)]


def body(**changes: Any) -> dict[str, Any]:
    base = {
        "initial_capital": 1000,
        "investment_per_trade": 400,
        "reinvest_dividends": False,
        "transaction_cost_pct": 0,
        "cash_interest_rate_pct": 0,
        "signals": [buy("2021-01-04"), buy("2021-01-05"), buy("2021-01-06")],
        "price_data": [{"date": d, "adjusted_close": p, "open": p, "volume": 1} for d, p in PRICES],
        "dividend_data": [{"ex_date": "2021-01-06", "amount_per_share": 1.0}],
    }
    return {**base, **changes}


def buy(day: str) -> dict[str, Any]:
    return {"date": day, "action": "BUY", "price": 1.0, "trigger_details": {"reason": "test"}}


async def simulate(**changes: Any) -> dict[str, Any]:
    answer = await post(app, "/simulate", json=body(**changes))
    assert answer.status == 200, answer.json()
    return answer.data


async def test_dividends_kept_as_cash_and_a_partial_last_buy():
    data = await simulate()
    # 4th: 400 buys 40 sh, cash 600. 5th: 400 buys 50 sh (90), cash 200.
    # 6th: dividend 90 x 1.00 = 90 -> cash 290; the buy of 400 spends the 290 left: 29 sh (119), cash 0.
    series = data["time_series"]
    assert series["dates"] == [d for d, _ in PRICES]
    assert series["shares_held"] == [40, 90, 119, 119]
    assert series["cash_balance"] == [600, 200, 0, 0]
    assert series["holdings_value"] == [400, 720, 1190, 119 * 12.5]
    assert series["portfolio_value"] == [1000, 920, 1190, 1487.5]
    assert series["cumulative_invested"] == [400, 800, 1090, 1090]
    assert series["cumulative_dividends"] == [0, 0, 90, 90]
    assert [t["amount"] for t in data["trades"]] == [400, 400, 290]
    assert data["trades"][0] == {
        "date": "2021-01-04",
        "action": "BUY",
        "ticker": None,
        "shares": 40,
        "price": 10.0,
        "amount": 400,
        "transaction_cost": 0,
    }
    assert data["final_state"] == {
        "total_shares": 119,
        "cash_balance": 0,
        "holdings_value": 1487.5,
        "portfolio_value": 1487.5,
        "total_invested": 1090,
        "total_dividends_received": 90,
        "total_transaction_costs": 0,
        "total_interest_earned": 0,
    }


async def test_dividends_reinvested_buy_shares_at_the_ex_date_close():
    data = await simulate(reinvest_dividends=True)
    # 6th: dividend 90 buys 9 sh at 10 (99 sh), cash stays 200; the buy spends the 200: 20 sh (119).
    series = data["time_series"]
    assert series["shares_held"] == [40, 90, 119, 119]
    assert series["cash_balance"] == [600, 200, 0, 0]
    assert series["cumulative_invested"] == [400, 800, 1000, 1000]  # reinvested dividends are not invested
    assert series["cumulative_dividends"] == [0, 0, 90, 90]
    assert [t["amount"] for t in data["trades"]] == [400, 400, 200]  # a reinvestment is not a trade
    assert data["final_state"]["total_dividends_received"] == 90


async def test_a_dividend_is_paid_on_shares_held_before_the_ex_date_buy():
    data = await simulate(signals=[buy("2021-01-06")], reinvest_dividends=False)
    assert data["final_state"]["total_dividends_received"] == 0
    assert data["time_series"]["cumulative_dividends"] == [0, 0, 0, 0]


async def test_a_dividend_going_ex_on_a_non_trading_day_is_paid_the_next_trading_day():
    data = await simulate(
        signals=[buy("2021-01-04")], dividend_data=[{"ex_date": "2021-01-07", "amount_per_share": 0.5}]
    )
    assert data["time_series"]["cumulative_dividends"] == [0, 0, 0, 20]  # 40 shares x 0.50 on the 8th
    assert data["time_series"]["cash_balance"] == [600, 600, 600, 620]


async def test_transaction_costs_are_paid_out_of_the_amount():
    data = await simulate(
        transaction_cost_pct=1.5, signals=[buy("2021-01-04"), buy("2021-01-05")], dividend_data=[]
    )
    # 400 with a 1.5% cost: cost 6, so 394 buys 39.4 sh at 10; then 394 buys 49.25 sh at 8
    first, second = data["trades"]
    assert (first["amount"], first["transaction_cost"], first["shares"]) == (400, 6, 39.4)
    assert (second["amount"], second["transaction_cost"], second["shares"]) == (400, 6, 49.25)
    final = data["final_state"]
    assert final["total_transaction_costs"] == 12
    assert final["total_invested"] == 800  # costs included
    assert final["total_shares"] == 88.65
    assert final["portfolio_value"] == round(200 + 88.65 * 12.5, 2)


async def test_cash_interest_compounds_per_calendar_day():
    data = await simulate(signals=[], cash_interest_rate_pct=10, dividend_data=[])
    daily = 1.10 ** (1 / 365)
    expected = [1000, 1000 * daily, 1000 * daily**2, 1000 * daily**4]  # the 6th to the 8th is 2 days
    assert data["time_series"]["cash_balance"] == [round(v, 2) for v in expected]
    assert data["final_state"]["total_interest_earned"] == round(1000 * (daily**4 - 1), 2)


async def test_interest_is_earned_before_the_day_buys():
    data = await simulate(signals=[buy("2021-01-05")], investment_per_trade=1000, cash_interest_rate_pct=10)
    # the 5th: 1000 grows by a day of interest, then 1000 is spent and the interest is left
    assert data["time_series"]["cash_balance"][1] == round(1000 * (1.10 ** (1 / 365) - 1), 2)


async def test_no_cash_means_no_trade():
    signals = [buy("2021-01-04"), buy("2021-01-04"), buy("2021-01-05")]
    data = await simulate(initial_capital=400, signals=signals, dividend_data=[])
    assert len(data["trades"]) == 1  # two signals on one day would buy twice; here cash ran out
    assert data["time_series"]["cash_balance"] == [0, 0, 0, 0]


async def test_two_signals_on_one_day_buy_twice():
    data = await simulate(signals=[buy("2021-01-04"), buy("2021-01-04")])
    assert [t["date"] for t in data["trades"]] == ["2021-01-04", "2021-01-04"]


async def test_signals_on_days_without_prices_are_ignored():
    data = await simulate(signals=[buy("2021-01-07"), buy("2020-12-31")])
    assert data["trades"] == []


async def test_money_is_rounded_to_cents_and_shares_to_six_decimals():
    prices = [{"date": "2021-01-04", "adjusted_close": 3.0}, {"date": "2021-01-05", "adjusted_close": 3.1}]
    data = await simulate(price_data=prices, signals=[buy("2021-01-04")], investment_per_trade=100)
    assert data["trades"][0]["shares"] == 33.333333
    # holdings keep full precision until the answer: 100 / 3 x 3.1 = 103.333..., not 33.333333 x 3.1
    assert data["time_series"]["holdings_value"] == [100.0, 103.33]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"initial_capital": 0}, "initial_capital"),
        ({"investment_per_trade": -5}, "investment_per_trade"),
        ({"transaction_cost_pct": -1}, "transaction_cost_pct"),
        ({"transaction_cost_pct": 100}, "transaction_cost_pct"),
        ({"cash_interest_rate_pct": -0.5}, "cash_interest_rate_pct"),
        ({"signals": [{"date": "2021-01-04", "action": "SELL"}]}, "signals.0.action"),
        (
            {"dividend_data": [{"ex_date": "2021-01-04", "amount_per_share": -1}]},
            "dividend_data.0.amount_per_share",
        ),
        ({"price_data": [{"date": "2021-01-04", "adjusted_close": 0}]}, "price_data.0.adjusted_close"),
    ],
)
async def test_invalid_values_are_invalid_request(changes, field):
    answer = await post(app, "/simulate", json=body(**changes))
    assert answer.status == 400
    assert answer.error["code"] == "INVALID_REQUEST"
    assert [p["field"] for p in answer.error["details"]["errors"]] == [field]


async def test_no_prices_is_insufficient_data():
    answer = await post(app, "/simulate", json=body(price_data=[]))
    assert answer.status == 400
    assert answer.error["code"] == "INSUFFICIENT_DATA"


async def test_optional_fields_default():
    minimal = {"initial_capital": 100, "investment_per_trade": 100, "price_data": body()["price_data"]}
    data = (await post(app, "/simulate", json={**minimal, "signals": None, "dividend_data": None})).data
    assert data["trades"] == [] and data["final_state"]["portfolio_value"] == 100
