"""The yahoo provider on recorded Yahoo answers: yfinance's own requests and parsing, no network.

The recordings (``recordings/yahoo/``) are Yahoo's HTTP answers: SPY's daily chart for two weeks of
December 2023 with a dividend, a weekend with no bar, an unknown ticker's 404, a 429, a 502, a
truncated body, and a search. :class:`Replay` serves them to yfinance as a curl_cffi session.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yfinance  # noqa: F401  (the yahoo extra is part of every test install: never skipped)
from curl_cffi.requests.exceptions import ConnectionError as CurlConnectionError

from services.market_data.app import create_app
from services.market_data.providers import make_provider
from services.market_data.providers.base import ProviderUnavailable, TickerMatch, UnknownTicker
from services.market_data.providers.yahoo import YahooProvider
from services.market_data.providers.yfinance_insides import forget_process_state
from tests.services.asgi import get, post
from tests.services.yahoo_replay import Replay, recording

# yfinance's own use of what pandas 3 deprecates: its concern, not ours
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:yfinance")

CHART = "/v8/finance/chart/SPY"
FIRST, LAST = date(2023, 12, 11), date(2023, 12, 22)
SPY = ("spy_2023-12-11_2023-12-22", "spy_timezone")
#: Clocks: long after the recorded range, and the evening of its last day.
LATER = datetime(2024, 6, 3, 12, tzinfo=UTC).timestamp()
ON_THE_LAST_DAY = datetime(2023, 12, 22, 22, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def fresh_yfinance() -> Iterator[None]:
    """yfinance keeps process-wide state: one shared session holder (with its cookie, crumb and cookie
    strategy), its time zone cache's database, and a count of fallback lookups. Each test starts anew
    (``yfinance_insides.forget_process_state``), and leaves none of it to the next."""
    forget_process_state()
    yield
    forget_process_state()


Make = Callable[..., tuple[YahooProvider, Replay]]


@pytest.fixture
def yahoo(tmp_path: Path) -> Make:
    """A provider over ``tmp_path/cache`` whose session replays ``exchanges``."""

    def make(
        *exchanges: str | dict[str, Any], now: float = LATER, failures: dict[str, BaseException] | None = None
    ) -> tuple[YahooProvider, Replay]:
        session = Replay(*exchanges, failures=failures)
        return YahooProvider(tmp_path / "cache", session=session, clock=Clock(now)), session

    return make


def body(ticker: str = "SPY", start: date = FIRST, end: date = LAST) -> dict[str, str]:
    return {"ticker": ticker, "start_date": start.isoformat(), "end_date": end.isoformat()}


def chart_requests(session: Replay) -> list[dict[str, str]]:
    """The parameters of each chart request for a range (not the one-day time zone lookup)."""
    return [params for _, url, params in session.sent if url.endswith(CHART) and "period1" in params]


# --- prices and dividends --------------------------------------------------------------------------


def test_bars_keep_the_close_and_the_adjusted_close(yahoo):
    provider, _ = yahoo(*SPY)
    bars = provider.daily_bars("SPY", FIRST, LAST)
    first = bars[0]
    assert (first.date, first.open, first.high, first.low, first.volume) == (
        FIRST,
        pytest.approx(457.99),
        pytest.approx(461.17),
        pytest.approx(457.80),
        65002200,
    )
    assert first.close == pytest.approx(461.99)
    assert first.adjusted_close == pytest.approx(446.5563, abs=1e-4)  # Yahoo's Adj Close, not the close
    assert all(bar.adjusted_close < bar.close for bar in bars)


def test_both_ends_of_the_range_are_included(yahoo):
    provider, session = yahoo(*SPY)
    bars = provider.daily_bars("SPY", FIRST, LAST)
    assert [bar.date.day for bar in bars] == [11, 12, 13, 14, 15, 18, 19, 20, 21, 22]
    # yfinance's end is exclusive: asked as midnight in New York after the last day
    [asked] = chart_requests(session)
    assert (asked["period1"], asked["period2"]) == ("1702270800", "1703307600")  # 12-11, 12-23 00:00 EST


def test_dividends_are_ex_dates_without_a_payment_date(yahoo):
    provider, _ = yahoo(*SPY)
    [dividend] = provider.dividends("SPY", FIRST, LAST)
    assert (dividend.ex_date, dividend.amount_per_share, dividend.payment_date) == (
        date(2023, 12, 15),
        1.906,
        None,
    )


def test_a_row_with_a_missing_or_non_positive_price_is_skipped(yahoo):
    changed = recording("spy_2023-12-11_2023-12-22")
    quote = changed["response"]["body"]["chart"]["result"][0]["indicators"]["quote"][0]
    quote["open"][1] = None  # 12-12
    quote["close"][2] = 0.0  # 12-13
    provider, _ = yahoo(changed, "spy_timezone")
    days = [bar.date.day for bar in provider.daily_bars("SPY", FIRST, LAST)]
    assert days == [11, 14, 15, 18, 19, 20, 21, 22]


def test_provenance_names_the_exchange_yahoo_reports(yahoo):
    provider, session = yahoo(*SPY)
    assert provider.provenance("SPY")["calendar"] == "yahoo"  # nothing read yet
    provider.daily_bars("SPY", FIRST, LAST)
    assert session.unmatched == []  # read from the chart's metadata: no request of its own
    assert provider.provenance("spy") == {
        "provider": "yahoo",
        "synthetic": False,
        "note": provider.metadata["note"],
        "calendar": "NYSEArca",
    }
    assert "Yahoo Finance" in provider.metadata["note"]


async def test_the_service_answers_real_prices_with_their_provenance(yahoo):
    provider, _ = yahoo(*SPY)
    answer = await post(create_app(provider), "/prices", json=body())
    assert answer.status == 200
    data = answer.data
    assert len(data["prices"]) == 10
    assert data["metadata"]["synthetic"] is False
    assert (data["metadata"]["calendar"], data["metadata"]["data_points"]) == ("NYSEArca", 10)


# --- unknown ticker, empty range -------------------------------------------------------------------


async def test_an_unknown_ticker_is_invalid_ticker(yahoo):
    provider, _ = yahoo("unknown_chart", "unknown_quote_summary")
    answer = await post(create_app(provider), "/prices", json=body("ZZZZQ"))
    assert (answer.status, answer.error["code"]) == (404, "INVALID_TICKER")


def test_an_unknown_ticker_is_unknown_once_the_fallback_lookups_are_spent(yahoo, monkeypatch):
    """yfinance tries the quote summary for a missing time zone twice per process, then says so."""
    from yfinance import base

    monkeypatch.setattr(base, "_tz_info_fetch_ctr", 2, raising=False)
    provider, session = yahoo("unknown_chart", "unknown_quote_summary")
    with pytest.raises(UnknownTicker):
        provider.dividends("ZZZZQ", FIRST, LAST)
    assert not any("quoteSummary" in url for _, url, _ in session.sent)


def test_a_ticker_whose_range_answers_404_is_unknown(yahoo):
    """Delisted since its time zone was cached: the range itself says there is no such symbol."""
    unknown = recording("unknown_chart")
    unknown["request"]["url"] = unknown["request"]["url"].replace("ZZZZQ", "SPY")
    provider, _ = yahoo("spy_timezone", unknown)
    with pytest.raises(UnknownTicker):
        provider.daily_bars("SPY", FIRST, LAST)


async def test_a_range_without_bars_is_an_empty_success(yahoo):
    provider, _ = yahoo("spy_weekend", "spy_timezone")
    app = create_app(provider)
    weekend = body(start=date(2023, 12, 23), end=date(2023, 12, 24))
    prices, dividends = await post(app, "/prices", json=weekend), await post(app, "/dividends", json=weekend)
    assert (prices.status, prices.data["prices"]) == (200, [])
    assert (dividends.status, dividends.data["dividends"]) == (200, [])


# --- Yahoo misbehaving ------------------------------------------------------------------------------


async def test_a_rate_limit_is_503_with_retry_after(yahoo):
    provider, _ = yahoo("too_many_requests")
    answer = await post(create_app(provider), "/prices", json=body())
    assert (answer.status, answer.error["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert answer.error["details"] == {"provider": "yahoo", "reason": "rate_limited", "retry_after": 60}
    assert answer.headers["retry-after"] == "60"


def test_a_rate_limit_keeps_yahoos_retry_after_when_it_gives_one(yahoo):
    limited = recording("too_many_requests")
    limited["response"]["headers"]["Retry-After"] = "120"
    provider, _ = yahoo(limited)
    with pytest.raises(ProviderUnavailable) as raised:
        provider.daily_bars("SPY", FIRST, LAST)
    assert (raised.value.reason, raised.value.retry_after) == ("rate_limited", 120)


def test_a_rate_limit_is_not_tried_again_with_another_cookie(yahoo):
    provider, session = yahoo("too_many_requests")
    with pytest.raises(ProviderUnavailable):
        provider.daily_bars("SPY", FIRST, LAST)
    assert len(session.data_requests()) == 1


async def test_a_5xx_is_503_unavailable_not_an_empty_range(yahoo):
    provider, _ = yahoo("bad_gateway")
    answer = await post(create_app(provider), "/dividends", json=body())
    assert (answer.status, answer.error["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert answer.error["details"] == {"provider": "yahoo", "reason": "unavailable", "retry_after": None}
    assert "retry-after" not in answer.headers


def test_no_connection_is_unavailable(yahoo):
    provider, _ = yahoo(
        failures={CHART: CurlConnectionError("Failed to connect to query2.finance.yahoo.com")}
    )
    with pytest.raises(ProviderUnavailable) as raised:
        provider.daily_bars("SPY", FIRST, LAST)
    assert raised.value.reason == "unavailable"


def test_a_refusal_after_yfinances_second_try_is_unavailable(yahoo):
    """401 "Invalid Crumb" on both cookie strategies: Yahoo refused us, which is not an empty range."""
    refused = recording("bad_gateway")
    refused["response"]["status"] = 401
    refused["response"]["body"]["chart"]["error"] = {"code": "Unauthorized", "description": "Invalid Crumb"}
    provider, _ = yahoo("spy_timezone", refused)
    with pytest.raises(ProviderUnavailable) as raised:
        provider.daily_bars("SPY", FIRST, LAST)
    assert raised.value.reason == "unavailable"


async def test_a_truncated_answer_is_503_bad_answer(yahoo):
    provider, _ = yahoo("spy_truncated", "spy_timezone")
    answer = await post(create_app(provider), "/prices", json=body())
    assert (answer.status, answer.error["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert answer.error["details"]["reason"] == "bad_answer"


# --- the disk cache ---------------------------------------------------------------------------------


def test_the_same_request_again_needs_no_network(yahoo):
    provider, session = yahoo(*SPY)
    first = provider.daily_bars("SPY", FIRST, LAST)
    sent = len(session.sent)
    assert provider.daily_bars("SPY", FIRST, LAST) == first
    assert len(session.sent) == sent


def test_a_new_process_reads_the_cache_left_on_disk(yahoo):
    provider, _ = yahoo(*SPY)
    bars = provider.daily_bars("SPY", FIRST, LAST)
    again, session = yahoo()  # a session with nothing to answer
    assert again.daily_bars("SPY", FIRST, LAST) == bars
    assert again.provenance("SPY")["calendar"] == "NYSEArca"
    assert session.sent == []


def test_prices_and_dividends_share_one_request(yahoo):
    provider, session = yahoo(*SPY)
    provider.daily_bars("SPY", FIRST, LAST)
    provider.dividends("SPY", FIRST, LAST)
    assert len(chart_requests(session)) == 1


def test_a_past_range_is_kept_past_the_ttl(yahoo):
    provider, session = yahoo(*SPY, now=LATER)
    provider.daily_bars("SPY", FIRST, LAST)
    provider._clock.now += 30 * 86400
    provider.daily_bars("SPY", FIRST, LAST)
    assert len(chart_requests(session)) == 1


def test_a_range_reaching_today_expires_after_the_ttl(yahoo):
    provider, session = yahoo(*SPY, now=ON_THE_LAST_DAY)
    provider.daily_bars("SPY", FIRST, LAST)
    provider._clock.now += provider.ttl_s - 1
    provider.daily_bars("SPY", FIRST, LAST)
    assert len(chart_requests(session)) == 1
    provider._clock.now += 2
    provider.daily_bars("SPY", FIRST, LAST)
    assert len(chart_requests(session)) == 2


def test_an_empty_answer_expires_after_the_ttl_even_for_a_past_range(yahoo):
    provider, session = yahoo("spy_weekend", "spy_timezone", now=LATER)
    weekend = (date(2023, 12, 23), date(2023, 12, 24))
    provider.daily_bars("SPY", *weekend)
    provider._clock.now += provider.ttl_s + 1
    provider.daily_bars("SPY", *weekend)
    assert len(chart_requests(session)) == 2


def test_a_failure_is_not_cached(yahoo):
    provider, session = yahoo("too_many_requests")
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            provider.daily_bars("SPY", FIRST, LAST)
    assert len(session.data_requests()) == 2
    assert list((provider.cache_dir).glob("*.json")) == []


def test_the_cache_is_one_json_file_per_ticker_and_range_with_no_leftovers(yahoo):
    provider, _ = yahoo(*SPY)
    provider.daily_bars("SPY", FIRST, LAST)
    files = sorted(path.name for path in provider.cache_dir.iterdir() if path.is_file())
    assert files == ["SPY_2023-12-11_2023-12-22.json"]


def test_a_damaged_cache_file_is_fetched_again(yahoo):
    provider, session = yahoo(*SPY)
    provider.daily_bars("SPY", FIRST, LAST)
    (provider.cache_dir / "SPY_2023-12-11_2023-12-22.json").write_text('{"version": 1, "bars": [')
    assert len(provider.daily_bars("SPY", FIRST, LAST)) == 10
    assert len(chart_requests(session)) == 2


def test_concurrent_requests_for_one_range_make_one_request(yahoo):
    provider, session = yahoo(*SPY)
    results: list[int] = []
    workers = [
        threading.Thread(target=lambda: results.append(len(provider.daily_bars("SPY", FIRST, LAST))))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert (results, len(chart_requests(session))) == ([10] * 4, 1)


# --- search -----------------------------------------------------------------------------------------


def test_search_maps_yahoos_quote_types_to_market_types(yahoo):
    provider, _ = yahoo("search_sp500")
    assert provider.search("S&P 500", 10) == [
        TickerMatch("^GSPC", "S&P 500", "Index", "S&P Index"),
        TickerMatch("SPY", "SPDR S&P 500 ETF Trust", "ETF", "NYSEArca"),
        TickerMatch("ES=F", "E-Mini S&P 500 Mar 26", "Future", "Chicago Mercantile Exchange"),
        TickerMatch("VOO", "Vanguard S&P 500 ETF", "ETF", "NYSEArca"),
        TickerMatch("SPGI", "S&P Global Inc.", "Stock", "NYSE"),
    ]  # the fund and the option are not offered


@pytest.mark.parametrize(("quote_type", "kind"), [("CRYPTOCURRENCY", "Crypto"), ("CURRENCY", "FX")])
def test_search_maps_crypto_and_currencies(yahoo, quote_type, kind):
    found = recording("search_sp500")
    found["response"]["body"]["quotes"][0]["quoteType"] = quote_type
    provider, _ = yahoo(found)
    assert provider.search("S&P 500", 1)[0].kind == kind


def test_search_answers_at_most_the_limit(yahoo):
    provider, _ = yahoo("search_sp500")
    assert [match.symbol for match in provider.search("S&P 500", 2)] == ["^GSPC", "SPY"]


async def test_a_rate_limited_search_is_503_with_retry_after(yahoo):
    limited = recording("too_many_requests")
    limited["request"]["url"] = "https://query2.finance.yahoo.com/v1/finance/search"
    provider, _ = yahoo(limited)
    answer = await get(create_app(provider), "/tickers/search?q=S%26P%20500")
    assert (answer.status, answer.error["code"]) == (503, "SERVICE_UNAVAILABLE")
    assert answer.error["details"]["reason"] == "rate_limited"
    assert answer.headers["retry-after"] == "60"


# --- the service around it --------------------------------------------------------------------------


async def test_a_blocking_provider_is_called_off_the_event_loop(yahoo):
    provider, _ = yahoo(*SPY)
    threads: list[int] = []
    original = provider.daily_bars

    def daily_bars(*args: Any) -> Any:
        threads.append(threading.get_ident())
        return original(*args)

    provider.daily_bars = daily_bars  # type: ignore[method-assign]
    await post(create_app(provider), "/prices", json=body())
    assert threads and threads[0] != threading.get_ident()


async def test_health_answers_while_yahoo_is_slow(yahoo):
    provider, _ = yahoo(*SPY)
    release = threading.Event()
    provider.daily_bars = lambda *_: release.wait(5) and []  # type: ignore[method-assign,assignment]
    app = create_app(provider)
    slow = asyncio.create_task(post(app, "/prices", json=body()))
    health = await asyncio.wait_for(get(app, "/health"), 2)
    release.set()
    assert (health.status, (await slow).status) == (200, 200)


def test_make_provider_reads_the_cache_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("MARKET_DATA_PROVIDER", "yahoo")
    monkeypatch.setenv("MARKET_DATA_CACHE_DIR", str(tmp_path / "yahoo"))
    monkeypatch.setenv("MARKET_DATA_CACHE_TTL_S", "600")
    provider = make_provider()
    assert isinstance(provider, YahooProvider)
    assert (provider.cache_dir, provider.ttl_s) == (tmp_path / "yahoo", 600)


def test_without_yfinance_make_provider_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "yfinance", None)  # what `import yfinance` sees when not installed
    with pytest.raises(ValueError, match=r"pip install 'backtest-orchestrator\[yahoo\]'"):
        make_provider("yahoo")
