"""POST /prices and /dividends: the contract's fields, the errors, frequencies, the test-data mode."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.market_data.app import create_app, create_test_data_app
from services.market_data.providers import SampleProvider
from tests.services.asgi import post


def prices_body(**changes: Any) -> dict[str, Any]:
    body = {
        "ticker": "TQQQ",
        "market_type": "ETF",
        "start_date": "2020-01-01",
        "end_date": "2022-01-01",
        "frequency": "daily",
    }
    return {**body, **changes}


def dividends_body(**changes: Any) -> dict[str, Any]:
    return {"ticker": "AAPL", "start_date": "2020-01-01", "end_date": "2021-01-01", **changes}


@pytest.fixture
def app():
    return create_app(SampleProvider())


async def test_prices_answer_the_contract_fields(app):
    answer = await post(app, "/prices", json=prices_body())
    assert answer.status == 200
    data = answer.data
    assert {"ticker", "frequency", "prices", "metadata"} <= set(data)
    assert (data["ticker"], data["frequency"]) == ("TQQQ", "daily")
    assert set(data["prices"][0]) == {"date", "open", "high", "low", "close", "adjusted_close", "volume"}
    assert data["prices"][0]["date"] == "2020-01-02"  # New Year's Day is no session
    assert data["prices"][-1]["date"] == "2021-12-31"
    assert len(data["prices"]) == data["metadata"]["data_points"] == 505
    assert isinstance(data["prices"][0]["volume"], int)
    assert data["metadata"]["synthetic"] is True
    assert data["metadata"]["provider"] == "sample"
    assert data["metadata"]["calendar"] == "XNYS"
    assert "not real" in data["metadata"]["note"]


async def test_dividends_answer_the_contract_fields(app):
    data = (await post(app, "/dividends", json=dividends_body())).data
    assert data["ticker"] == "AAPL"
    assert len(data["dividends"]) == 4
    assert set(data["dividends"][0]) == {"ex_date", "payment_date", "amount_per_share"}
    assert data["metadata"]["synthetic"] is True


async def test_an_index_pays_no_dividends_and_that_is_success(app):
    data = (await post(app, "/dividends", json=dividends_body(ticker="^GSPC"))).data
    assert data["dividends"] == []


async def test_the_ticker_is_answered_as_asked_and_its_case_does_not_matter(app):
    upper = (await post(app, "/prices", json=prices_body(ticker="AAPL"))).data
    lower = (await post(app, "/prices", json=prices_body(ticker="aapl"))).data
    assert lower["ticker"] == "aapl"
    assert lower["prices"] == upper["prices"]


@pytest.mark.parametrize("path", ["/prices", "/dividends"])
@pytest.mark.parametrize("ticker", ["ZZZ", "zzzfake", "ZZZZ.L"])
async def test_zzz_tickers_are_unknown(app, path, ticker):
    answer = await post(app, path, json=prices_body(ticker=ticker))
    assert answer.status == 404
    assert answer.error["code"] == "INVALID_TICKER"
    assert answer.error["details"] == {"ticker": ticker}


@pytest.mark.parametrize("ticker", ["BAD TICKER", "A/B", "ABCDEFGHIJKLMNOP", "$$$"])
async def test_malformed_tickers_are_invalid(app, ticker):
    answer = await post(app, "/prices", json=prices_body(ticker=ticker))
    assert answer.status == 404
    assert answer.error["code"] == "INVALID_TICKER"


@pytest.mark.parametrize("path", ["/prices", "/dividends"])
@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2022-01-01", "2020-01-01"),
        ("2020-01-01", "2020-01-01"),
        ("2020-02-30", "2020-03-01"),
        ("2020/01/01", "2020-03-01"),
        ("2020-01-01", "soon"),
    ],
)
async def test_bad_date_ranges(app, path, start, end):
    answer = await post(app, path, json=prices_body(start_date=start, end_date=end))
    assert answer.status == 400
    assert answer.error["code"] == "INVALID_DATE_RANGE"


async def test_a_range_without_trading_days_is_an_empty_success(app):
    data = (await post(app, "/prices", json=prices_body(start_date="2020-01-04", end_date="2020-01-05"))).data
    assert data["prices"] == []


async def test_bad_bodies_list_each_field(app):
    body = prices_body(frequency="hourly", start_date=20200101)
    del body["ticker"]
    answer = await post(app, "/prices", json=body)
    assert answer.status == 400
    error = answer.error
    assert error["code"] == "INVALID_REQUEST"
    assert {p["field"] for p in error["details"]["errors"]} == {"ticker", "start_date", "frequency"}


async def test_market_type_and_frequency_are_optional(app):
    body = prices_body()
    del body["market_type"], body["frequency"]
    data = (await post(app, "/prices", json=body)).data
    assert data["frequency"] == "daily"


@pytest.mark.parametrize(("frequency", "bars"), [("weekly", 52), ("monthly", 12)])
async def test_weekly_and_monthly_bars_are_dated_the_last_session(app, frequency, bars):
    body = prices_body(start_date="2021-01-01", end_date="2021-12-31", frequency=frequency)
    data = (await post(app, "/prices", json=body)).data
    assert data["frequency"] == frequency
    days = [date.fromisoformat(bar["date"]) for bar in data["prices"]]
    assert len(days) == bars
    if frequency == "weekly":
        # 2021-01-01 is a holiday, so the first week is the 8th's; Good Friday and the Christmas
        # holiday (Friday the 24th) end their weeks on a Thursday
        assert days[0] == date(2021, 1, 8)
        assert [day for day in days if day.weekday() != 4] == [date(2021, 4, 1), date(2021, 12, 23)]
    else:
        # May ends on Memorial Day: its bar is Friday the 28th's
        assert (days[0], days[4], days[-1]) == (date(2021, 1, 29), date(2021, 5, 28), date(2021, 12, 31))


async def test_test_data_mode_answers_the_fixture_under_the_asked_ticker():
    app = create_test_data_app()
    body = prices_body(ticker="ANYTHING", start_date="2024-01-01", end_date="2024-02-01")
    data = (await post(app, "/prices", json=body)).data
    assert data["ticker"] == "ANYTHING"
    assert len(data["prices"]) == 20
    dividends = await post(
        app, "/dividends", json=dividends_body(start_date="2024-01-01", end_date="2024-02-01")
    )
    assert [d["ex_date"] for d in dividends.data["dividends"]] == ["2024-01-18"]


@pytest.mark.parametrize("path", ["/prices", "/dividends"])
async def test_a_date_range_longer_than_fifty_years_is_refused(app, path):
    """One request must not make the service build centuries of bars (it answered 9.9 MB before)."""
    answer = await post(app, path, prices_body(start_date="0001-01-01", end_date="9999-12-31"))
    assert (answer.status, answer.error["code"]) == (400, "INVALID_DATE_RANGE")
    assert answer.error["details"]["max_days"] == 18_263
