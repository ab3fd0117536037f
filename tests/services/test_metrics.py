"""POST /calculate: every metric on small series computed by hand, the comparison, and the errors."""

from __future__ import annotations

import math
from typing import Any

import pytest

from services.metrics.app import create_app
from tests.services.asgi import post

app = create_app()

# 2020-01-01 to 2024-01-01 is 1461 days, four years of 365.25 days
ACTIVE = (["2020-01-01", "2020-03-01", "2020-06-01", "2024-01-01"], [100.0, 110.0, 99.0, 118.8])
BASELINE = (["2020-01-01", "2020-03-01", "2020-06-01", "2024-01-01"], [100.0, 50.0, 100.0, 80.0])


def portfolio(dates: list[str], values: list[float]) -> dict[str, Any]:
    return {
        "time_series": {"dates": dates, "portfolio_value": values, "cash_balance": [0] * len(values)},
        "final_state": {"portfolio_value": values[-1] if values else 0, "total_invested": 100},
    }


async def calculate(risk_free: float = 0.0, **portfolios: tuple[list[str], list[float]]) -> dict[str, Any]:
    body = {
        "risk_free_rate_annual": risk_free,
        "start_date": "2020-01-01",
        "end_date": "2024-01-01",
        "portfolios": {name: portfolio(*series) for name, series in portfolios.items()},
    }
    answer = await post(app, "/calculate", json=body)
    assert answer.status == 200, answer.json()
    return answer.data


async def test_every_metric_on_a_hand_checked_series():
    scores = (await calculate(active=ACTIVE))["active"]
    # returns: 110/100 - 1 = +0.10, 99/110 - 1 = -0.10, 118.8/99 - 1 = +0.20
    mean = (0.10 - 0.10 + 0.20) / 3
    stdev = math.sqrt(((0.10 - mean) ** 2 + (-0.10 - mean) ** 2 + (0.20 - mean) ** 2) / (3 - 1))
    downside = math.sqrt((0.10**2) / 3)  # only -0.10 is below the 0% target; all three returns count
    annualized = 1.188 ** (365.25 / 1461) - 1
    assert scores == {
        "total_return_pct": 18.8,  # 118.8 / 100 - 1
        "annualized_return_pct": round(annualized * 100, 2),  # 4.40
        "max_drawdown_pct": -10.0,  # 99 / 110 - 1
        "max_drawdown_duration_days": 1401,  # from the 110 peak (2020-03-01) to 118.8 (2024-01-01)
        "volatility_annualized_pct": round(stdev * math.sqrt(252) * 100, 2),  # 242.49
        "sharpe_ratio": round(mean / stdev * math.sqrt(252), 4),  # 6.9282
        "sortino_ratio": round(mean / downside * math.sqrt(252), 4),  # 18.3303
        "calmar_ratio": round(annualized / 0.10, 4),  # 0.4401
    }
    assert scores["annualized_return_pct"] == 4.4
    assert scores["volatility_annualized_pct"] == 242.49
    assert scores["sharpe_ratio"] == 6.9282
    assert scores["sortino_ratio"] == 18.3303


async def test_the_risk_free_rate_is_a_yearly_fraction_spread_over_252_days():
    scores = (await calculate(risk_free=0.0252, active=ACTIVE))["active"]
    mean, daily_rf = (0.10 - 0.10 + 0.20) / 3, 0.0252 / 252  # 0.0001 a day
    stdev = math.sqrt(((0.10 - mean) ** 2 + (-0.10 - mean) ** 2 + (0.20 - mean) ** 2) / 2)
    downside = math.sqrt(((-0.10 - daily_rf) ** 2) / 3)
    assert scores["sharpe_ratio"] == round((mean - daily_rf) / stdev * math.sqrt(252), 4)
    assert scores["sortino_ratio"] == round((mean - daily_rf) / downside * math.sqrt(252), 4)
    assert scores["total_return_pct"] == 18.8  # returns themselves do not change


async def test_the_comparison_is_active_against_baseline():
    data = await calculate(active=ACTIVE, baseline=BASELINE)
    # baseline returns: -0.50, +1.00, -0.20; total -20%; max drawdown -50% (100 -> 50)
    base_mean = (-0.50 + 1.00 - 0.20) / 3
    base_stdev = math.sqrt(((-0.5 - base_mean) ** 2 + (1.0 - base_mean) ** 2 + (-0.2 - base_mean) ** 2) / 2)
    active_mean = 0.2 / 3
    active_stdev = math.sqrt(
        ((0.1 - active_mean) ** 2 + (-0.1 - active_mean) ** 2 + (0.2 - active_mean) ** 2) / 2
    )
    baseline = data["baseline"]
    assert (baseline["total_return_pct"], baseline["max_drawdown_pct"]) == (-20.0, -50.0)
    # under water 152 days (2020-01-01 to 2020-06-01, back to 100), then 1309 days to the end at 80
    assert baseline["max_drawdown_duration_days"] == 1309
    assert data["comparison"] == {
        "excess_return_pct": 38.8,  # 18.8 - (-20)
        "excess_annualized_return_pct": round(((1.188**0.25 - 1) - (0.8**0.25 - 1)) * 100, 2),
        "excess_sharpe": round((active_mean / active_stdev - base_mean / base_stdev) * math.sqrt(252), 4),
        "reduced_max_drawdown_pct": 40.0,  # |-50| - |-10|: the active strategy fell less
        "reduced_volatility_pct": round((base_stdev - active_stdev) * math.sqrt(252) * 100, 2),
    }


async def test_the_longest_time_under_water_is_the_duration_even_if_not_the_deepest():
    dates = ["2021-01-01", "2021-01-02", "2021-01-05", "2021-02-01", "2021-02-02", "2021-03-03"]
    values = [100.0, 50.0, 100.0, 95.0, 99.0, 101.0]
    scores = (await calculate(active=(dates, values)))["active"]
    assert scores["max_drawdown_pct"] == -50.0  # lasted 4 days (1st to 5th January)
    assert scores["max_drawdown_duration_days"] == 57  # 5 January to 3 March, for a 5% fall


async def test_a_drawdown_not_recovered_lasts_to_the_last_date():
    scores = (await calculate(active=(["2021-01-01", "2021-01-11", "2021-01-31"], [100.0, 120.0, 90.0])))[
        "active"
    ]
    assert scores["max_drawdown_pct"] == -25.0  # 90 / 120 - 1
    assert scores["max_drawdown_duration_days"] == 20


async def test_no_fall_means_no_drawdown_and_no_calmar_nor_sortino():
    scores = (await calculate(active=(["2021-01-01", "2021-01-02", "2021-01-03"], [100.0, 101.0, 102.01])))[
        "active"
    ]
    assert (scores["max_drawdown_pct"], scores["max_drawdown_duration_days"]) == (0.0, 0)
    assert scores["calmar_ratio"] is None
    assert scores["sortino_ratio"] is None  # no return below the target
    assert scores["sharpe_ratio"] is None  # +1% both days: no deviation at all


async def test_a_flat_series_has_no_ratios():
    scores = (await calculate(active=(["2021-01-01", "2021-01-02", "2021-01-03"], [100.0, 100.0, 100.0])))[
        "active"
    ]
    assert scores["total_return_pct"] == 0.0
    assert scores["volatility_annualized_pct"] is None
    assert (scores["sharpe_ratio"], scores["sortino_ratio"], scores["calmar_ratio"]) == (None, None, None)


async def test_a_single_day_has_a_return_but_no_yearly_rate():
    scores = (await calculate(active=(["2021-01-01"], [100.0])))["active"]
    assert scores["total_return_pct"] == 0.0
    assert scores["annualized_return_pct"] is None
    assert scores["volatility_annualized_pct"] is None


async def test_any_names_and_no_comparison_without_both_sides():
    data = await calculate(first=ACTIVE, second=BASELINE)
    assert set(data) == {"first", "second"}
    data = await calculate(active=ACTIVE)
    assert set(data) == {"active"}


async def test_the_final_state_is_optional():
    body = {"portfolios": {"active": {"time_series": {"dates": ACTIVE[0], "portfolio_value": ACTIVE[1]}}}}
    answer = await post(app, "/calculate", json=body)
    assert answer.data["active"]["total_return_pct"] == 18.8


async def test_an_empty_series_is_insufficient_data():
    answer = await post(app, "/calculate", json={"portfolios": {"active": portfolio([], [])}})
    assert answer.status == 400
    assert answer.error["code"] == "INSUFFICIENT_DATA"
    assert answer.error["details"] == {"portfolio": "active"}


@pytest.mark.parametrize(
    ("portfolios", "field"),
    [
        ({"active": portfolio(["2021-01-01", "2021-01-02"], [1.0])}, "portfolios.active.time_series"),
        ({"active": portfolio(["2021-01-02", "2021-01-01"], [1.0, 2.0])}, "portfolios.active.time_series"),
        ({"active": portfolio(["2021-01-01"], [0.0])}, "portfolios.active.time_series.portfolio_value.0"),
        ({"active": portfolio(["yesterday"], [1.0])}, "portfolios.active.time_series.dates.0"),
        ({"active": {"final_state": {}}}, "portfolios.active.time_series"),
        ({}, "portfolios"),
        ({"comparison": portfolio(["2021-01-01"], [1.0])}, "portfolios.comparison"),
    ],
)
async def test_bad_bodies_are_invalid_request(portfolios, field):
    answer = await post(app, "/calculate", json={"risk_free_rate_annual": 0.02, "portfolios": portfolios})
    assert answer.status == 400
    assert answer.error["code"] == "INVALID_REQUEST"
    assert [p["field"] for p in answer.error["details"]["errors"]] == [field]
