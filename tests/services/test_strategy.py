"""POST /signals: each strategy's signals on hand-made series, and the errors."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from services.days import weekdays
from services.strategy.app import create_app
from tests.services.asgi import post

app = create_app()


def series(closes: list[float], start: date = date(2024, 1, 1)) -> list[dict[str, Any]]:
    days = weekdays(start, start + timedelta(days=len(closes) * 2 + 7))
    return [
        {"date": day.isoformat(), "adjusted_close": close} for day, close in zip(days, closes, strict=False)
    ]


async def signals(
    strategy_type: str, closes: list[float] | list[dict[str, Any]], **config: Any
) -> dict[str, Any]:
    points = series(closes) if closes and not isinstance(closes[0], dict) else closes
    body = {"strategy_type": strategy_type, "config": config, "price_data": points}
    answer = await post(app, "/signals", json=body)
    assert answer.status == 200, answer.json()
    return answer.data


async def test_buy_the_dip_daily():
    # Mon 1 .. : 100 -> 94 (-6%) -> 95 -> 90.25 (-5% exactly) -> 90 -> 85.6 (-4.89%)
    data = await signals("buy_the_dip", [100, 94, 95, 90.25, 90, 85.6], price_change_threshold=-0.05)
    assert data["strategy_type"] == "buy_the_dip"
    assert data["total_signals"] == 2
    first, second = data["signals"]
    assert first == {
        "date": "2024-01-02",
        "action": "BUY",
        "price": 94,
        "trigger_details": {
            "price_change_pct": -6.0,
            "threshold_pct": -5.0,
            "lookback_period": "daily",
            "reference_date": "2024-01-01",
            "reference_price": 100,
        },
    }
    assert second["date"] == "2024-01-04"
    assert second["trigger_details"]["price_change_pct"] == -5.0


async def test_buy_the_dip_default_threshold_is_minus_five_percent():
    data = await signals("buy_the_dip", [100, 95.5, 90.5])  # -4.5%, then -5.24%
    assert [s["date"] for s in data["signals"]] == ["2024-01-03"]
    assert data["signals"][0]["trigger_details"]["price_change_pct"] == round((90.5 / 95.5 - 1) * 100, 2)


async def test_buy_the_dip_weekly_compares_with_five_trading_days_earlier():
    closes = [100, 101, 102, 103, 104, 95, 99, 97, 98, 99]  # day 5: 95/100 -5%; day 7: 97/102 -4.9%
    data = await signals("buy_the_dip", closes, price_change_threshold=-0.05, lookback_period="weekly")
    assert [s["date"] for s in data["signals"]] == ["2024-01-08"]
    details = data["signals"][0]["trigger_details"]
    assert (details["reference_date"], details["lookback_period"]) == ("2024-01-01", "weekly")


async def test_buy_the_dip_monthly_compares_with_21_trading_days_earlier():
    closes = [100.0] * 21 + [89.0, 100.0]  # day 21 vs day 0: -11%; day 22 vs day 1: 0%
    data = await signals("buy_the_dip", closes, price_change_threshold=-0.1, lookback_period="monthly")
    assert [s["trigger_details"]["price_change_pct"] for s in data["signals"]] == [-11.0]


async def test_buy_and_hold_buys_once_on_the_first_day():
    data = await signals("buy_and_hold", [50, 40, 60])
    assert data["signals"] == [
        {
            "date": "2024-01-01",
            "action": "BUY",
            "price": 50,
            "trigger_details": {"reason": "Buy and hold: invest on the first trading day"},
        }
    ]
    assert data["total_signals"] == 1


async def test_dollar_cost_average_every_n_trading_days():
    data = await signals("dollar_cost_average", [10, 11, 12, 13, 14, 15, 16], interval_days=3)
    assert [s["price"] for s in data["signals"]] == [10, 13, 16]
    assert data["signals"][0]["trigger_details"] == {"reason": "Scheduled purchase every 3 trading days"}


async def test_dollar_cost_average_defaults_to_every_21_trading_days():
    data = await signals("dollar_cost_average", [float(i + 1) for i in range(50)])
    assert [s["price"] for s in data["signals"]] == [1.0, 22.0, 43.0]


async def test_dollar_cost_average_weekly_and_monthly_buy_the_first_trading_day_of_each_period():
    points = series([float(i + 1) for i in range(30)], start=date(2024, 1, 24))  # Wed 24 Jan .. Tue 5 Mar
    weekly = await signals("dollar_cost_average", points, frequency="weekly")
    assert [s["date"] for s in weekly["signals"]] == [
        "2024-01-24",
        "2024-01-29",
        "2024-02-05",
        "2024-02-12",
        "2024-02-19",
        "2024-02-26",
        "2024-03-04",
    ]
    monthly = await signals("dollar_cost_average", points, frequency="monthly")
    assert [s["date"] for s in monthly["signals"]] == ["2024-01-24", "2024-02-01", "2024-03-01"]
    assert monthly["signals"][1]["trigger_details"]["reason"].endswith("of each month")


async def test_momentum_buys_when_the_lookback_return_exceeds_the_threshold():
    # day 2: 111/100 +11%; day 3: 112/105 +6.7%; day 4: 130/111 +17.1%; day 5: 123.2/112 +10% exactly
    closes = [100, 105, 111, 112, 130, 123.2]
    data = await signals("momentum", closes, lookback_days=2, momentum_threshold=0.1)
    assert [s["date"] for s in data["signals"]] == ["2024-01-03", "2024-01-05"]
    details = data["signals"][1]["trigger_details"]
    assert details["return_pct"] == round((130 / 111 - 1) * 100, 2) == 17.12
    assert (details["threshold_pct"], details["lookback_days"]) == (10.0, 2)
    assert details["reason"] == "2-day return of 17.1% exceeded 10.0%"


async def test_momentum_defaults_to_20_days_and_5_percent():
    closes = [100.0] * 20 + [105.5, 104.0]  # day 20: +5.5% over 20 days; day 21: +4%
    data = await signals("momentum", closes)
    assert [s["price"] for s in data["signals"]] == [105.5]


async def test_price_data_extra_fields_are_ignored_and_names_are_matched_loosely():
    points = [{**p, "open": 1, "volume": 5} for p in series([100, 90])]
    data = await signals(" Buy_The_Dip ", points)
    assert data["strategy_type"] == "buy_the_dip" and data["total_signals"] == 1


async def test_unknown_strategy_lists_the_known_ones():
    answer = await post(app, "/signals", json={"strategy_type": "martingale", "config": {}, "price_data": []})
    assert answer.status == 404
    error = answer.error
    assert error["code"] == "STRATEGY_NOT_FOUND"
    assert error["details"]["available"] == ["buy_the_dip", "buy_and_hold", "dollar_cost_average", "momentum"]


@pytest.mark.parametrize(
    ("strategy_type", "config", "field"),
    [
        ("buy_the_dip", {"price_change_threshold": 0.05}, "config.price_change_threshold"),
        ("buy_the_dip", {"price_change_threshold": -1.5}, "config.price_change_threshold"),
        ("buy_the_dip", {"price_change_threshold": "a lot"}, "config.price_change_threshold"),
        ("buy_the_dip", {"lookback_period": "yearly"}, "config.lookback_period"),
        ("buy_the_dip", {"price_change_treshold": -0.1}, "config.price_change_treshold"),
        ("buy_and_hold", {"anything": 1}, "config.anything"),
        ("dollar_cost_average", {"interval_days": 0}, "config.interval_days"),
        ("dollar_cost_average", {"frequency": "daily"}, "config.frequency"),
        ("dollar_cost_average", {"interval_days": 5, "frequency": "weekly"}, "config"),
        ("momentum", {"lookback_days": 0}, "config.lookback_days"),
        ("momentum", {"momentum_threshold": -2}, "config.momentum_threshold"),
    ],
)
async def test_invalid_config_is_invalid_request(strategy_type, config, field):
    body = {"strategy_type": strategy_type, "config": config, "price_data": series([1, 2])}
    answer = await post(app, "/signals", json=body)
    assert answer.status == 400
    error = answer.error
    assert error["code"] == "INVALID_REQUEST"
    assert error["message"].startswith(f"Invalid config for {strategy_type}: ")
    assert [p["field"] for p in error["details"]["errors"]] == [field]


@pytest.mark.parametrize(
    ("price_data", "field"),
    [
        ([{"date": "2024-01-02", "adjusted_close": 0}], "price_data.0.adjusted_close"),
        ([{"date": "2024-01-02"}], "price_data.0.adjusted_close"),
        ([{"date": "02/01/2024", "adjusted_close": 1}], "price_data.0.date"),
        (
            [{"date": "2024-01-03", "adjusted_close": 1}, {"date": "2024-01-02", "adjusted_close": 1}],
            "price_data",
        ),
        ("prices", "price_data"),
    ],
)
async def test_bad_price_data_is_invalid_request(price_data, field):
    answer = await post(app, "/signals", json={"strategy_type": "buy_and_hold", "price_data": price_data})
    assert answer.status == 400
    assert answer.error["code"] == "INVALID_REQUEST"
    assert [p["field"] for p in answer.error["details"]["errors"]] == [field]


async def test_no_prices_is_insufficient_data():
    answer = await post(
        app, "/signals", json={"strategy_type": "buy_and_hold", "config": None, "price_data": []}
    )
    assert answer.status == 400
    assert answer.error["code"] == "INSUFFICIENT_DATA"
