"""POST /api/backtest against services answering as docs/contract.md says: the answer, field by field."""

from __future__ import annotations

import orjson
import pytest

import fakes
from orchestrator.schemas.responses import BacktestResponse
from tests.orchestrator.conftest import (
    MARKET,
    METRICS,
    PORTFOLIO,
    STRATEGY,
    TEST_DATA,
    answer_every_call,
    sent_bodies,
)


@pytest.fixture
async def answer(client, happy):
    response = await client.post(
        "/api/backtest", json=fakes.backtest_request(), headers={"X-Request-ID": "req-42"}
    )
    assert response.status == 200
    return response, await response.json()


async def test_envelope_and_sections(answer):
    _, body = answer
    assert body["success"] is True
    assert set(body["data"]) == {"metadata", "active_strategy", "baseline_strategy", "comparison"}


async def test_metadata(answer):
    _, body = answer
    metadata = body["data"]["metadata"]
    assert metadata["ticker"] == "TQQQ"
    assert (metadata["start_date"], metadata["end_date"]) == ("2020-01-01", "2020-01-08")
    assert metadata["strategy_type"] == "buy_the_dip"
    assert isinstance(metadata["execution_time_ms"], int) and metadata["execution_time_ms"] >= 0
    assert metadata["request_id"] == "req-42"
    assert (metadata["market_type"], metadata["frequency"], metadata["data_points"]) == ("ETF", "daily", 4)


async def test_active_summary_combines_metrics_and_final_state(answer):
    _, body = answer
    summary = body["data"]["active_strategy"]["summary"]
    scores = fakes.ACTIVE_SCORES
    assert summary == {
        "total_return_pct": scores["total_return_pct"],
        "annualized_return_pct": scores["annualized_return_pct"],
        "final_portfolio_value": 10002.13,
        "total_capital_invested": 100.0,
        "max_drawdown_pct": scores["max_drawdown_pct"],
        "volatility_annualized_pct": scores["volatility_annualized_pct"],
        "sharpe_ratio": scores["sharpe_ratio"],
        "total_trades": 1,
        "sortino_ratio": scores["sortino_ratio"],
        "calmar_ratio": scores["calmar_ratio"],
        "max_drawdown_duration_days": 3,
        "total_dividends_received": 0.5,
        "total_transaction_costs": 0.0,
    }


async def test_baseline_has_summary_and_time_series_only(answer):
    _, body = answer
    baseline = body["data"]["baseline_strategy"]
    assert set(baseline) == {"summary", "time_series"}
    assert baseline["summary"]["final_portfolio_value"] == 9600
    assert baseline["summary"]["total_capital_invested"] == 10000
    assert baseline["summary"]["sharpe_ratio"] == fakes.BASELINE_SCORES["sharpe_ratio"]


async def test_time_series_passed_on_with_extras(answer):
    _, body = answer
    series = body["data"]["active_strategy"]["time_series"]
    expected = fakes.simulation("active")["data"]["time_series"]
    assert series == expected
    assert {"shares_held", "cumulative_dividends"} <= set(series)


async def test_trades_carry_ticker_and_trigger_sentence(answer):
    _, body = answer
    assert body["data"]["active_strategy"]["trades"] == [
        {
            "date": "2020-01-03",
            "action": "BUY",
            "ticker": "TQQQ",
            "shares": 1.06383,
            "price": 94.0,
            "amount": 100.0,
            "transaction_cost": 0.0,
            "trigger": "Price dropped -6% from previous day (threshold -5%)",
        }
    ]


async def test_comparison_renames_reduced_drawdown_and_passes_the_rest(answer):
    _, body = answer
    assert body["data"]["comparison"] == {
        "excess_return_pct": 4.02,
        "excess_sharpe": 3.6,
        "reduced_drawdown_pct": 5.5,
        "excess_annualized_return_pct": 91.9,
        "reduced_volatility_pct": 58.8,
    }


async def test_request_id_echoed_and_forwarded_downstream(answer, happy):
    response, _ = answer
    assert response.headers["X-Request-ID"] == "req-42"
    assert len(happy.requests) == 7
    assert {request.headers["X-Request-ID"] for request in happy.requests} == {"req-42"}


async def test_invalid_request_id_replaced(client, happy):
    response = await client.post(
        "/api/backtest", json=fakes.backtest_request(), headers={"X-Request-ID": "no spaces!"}
    )
    assert response.headers["X-Request-ID"] != "no spaces!"
    assert len(response.headers["X-Request-ID"]) == 32


async def test_prices_and_dividends_fetched_once(client, happy):
    await client.post("/api/backtest", json=fakes.backtest_request())
    assert len(sent_bodies(happy, f"{MARKET}/prices")) == 1
    assert len(sent_bodies(happy, f"{MARKET}/dividends")) == 1


async def test_market_data_requests_as_specified(client, happy):
    await client.post("/api/backtest", json=fakes.backtest_request(market_params__ticker="brk.b"))
    assert sent_bodies(happy, f"{MARKET}/prices") == [
        {
            "ticker": "brk.b",
            "market_type": "ETF",
            "start_date": "2020-01-01",
            "end_date": "2020-01-08",
            "frequency": "daily",
        }
    ]
    assert sent_bodies(happy, f"{MARKET}/dividends") == [
        {"ticker": "brk.b", "start_date": "2020-01-01", "end_date": "2020-01-08"}
    ]


async def test_strategy_requests_for_active_and_baseline(client, happy):
    await client.post("/api/backtest", json=fakes.backtest_request())
    bodies = sorted(sent_bodies(happy, f"{STRATEGY}/signals"), key=lambda body: body["strategy_type"])
    points = [{"date": d, "adjusted_close": c} for d, c in zip(fakes.DATES, fakes.CLOSES, strict=True)]
    assert bodies == [
        {"strategy_type": "buy_and_hold", "config": {}, "price_data": points},
        {
            "strategy_type": "buy_the_dip",
            "config": {"price_change_threshold": -0.05, "lookback_period": "daily"},
            "price_data": points,
        },
    ]


async def test_baseline_simulated_all_in_without_costs(client, happy):
    request = fakes.backtest_request(
        portfolio_params__transaction_cost_pct=0.1,
        portfolio_params__cash_interest_rate_pct=2,
        baseline_params__initial_capital=5000,
        baseline_params__reinvest_dividends=False,
    )
    await client.post("/api/backtest", json=request)
    bodies = {body["initial_capital"]: body for body in sent_bodies(happy, f"{PORTFOLIO}/simulate")}
    baseline, active = bodies[5000], bodies[10000]
    assert (baseline["investment_per_trade"], baseline["reinvest_dividends"]) == (5000, False)
    assert (baseline["transaction_cost_pct"], baseline["cash_interest_rate_pct"]) == (0, 0)
    assert baseline["signals"] == fakes.signals("buy_and_hold")["data"]["signals"]
    assert (
        active["investment_per_trade"],
        active["transaction_cost_pct"],
        active["cash_interest_rate_pct"],
    ) == (100, 0.1, 2)
    assert active["dividend_data"] == [{"ex_date": "2020-01-06", "amount_per_share": 0.5}]


async def test_metrics_request_as_specified(client, happy):
    await client.post("/api/backtest", json=fakes.backtest_request())
    [body] = sent_bodies(happy, f"{METRICS}/calculate")
    active = fakes.simulation("active")["data"]
    assert body["risk_free_rate_annual"] == 0.02
    assert (body["start_date"], body["end_date"]) == ("2020-01-01", "2020-01-08")
    assert body["portfolios"]["active"] == {
        "time_series": {"dates": fakes.DATES, "portfolio_value": active["time_series"]["portfolio_value"]},
        "final_state": {"portfolio_value": 10002.13, "total_invested": 100.0},
    }
    assert body["portfolios"]["baseline"]["final_state"] == {"portfolio_value": 9600, "total_invested": 10000}


async def test_include_market_data_and_signals(client, happy):
    request = fakes.backtest_request(include=["market_data", "signals"])
    body = await (await client.post("/api/backtest", json=request)).json()
    market_data = body["data"]["market_data"]
    assert [bar["date"] for bar in market_data["prices"]] == fakes.DATES
    assert market_data["prices"][0]["vwap"] == 100.0  # extra fields pass on
    assert market_data["dividends"] == fakes.dividends()["data"]["dividends"]
    assert body["data"]["signals"] == fakes.signals("buy_the_dip")["data"]["signals"]


async def test_use_test_data_sends_market_calls_to_test_data_url(client, services):
    answer_every_call(services, market=TEST_DATA)
    response = await client.post("/api/backtest", json=fakes.backtest_request(use_test_data=True))
    assert response.status == 200
    assert sent_bodies(services, f"{MARKET}/prices") == []
    assert len(sent_bodies(services, f"{TEST_DATA}/prices")) == 1


async def test_every_answer_is_the_document_the_response_models_describe(client, happy):
    """The answer is assembled as dicts for speed; the models are its documented schema."""
    request = fakes.backtest_request(include=["market_data", "signals"])
    raw = await (await client.post("/api/backtest", json=request)).read()
    described = BacktestResponse.model_validate_json(raw)
    assert described.model_dump(mode="json") == orjson.loads(raw)
