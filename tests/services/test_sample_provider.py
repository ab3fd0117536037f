"""The sample provider: deterministic, consistent across ranges, on exchange sessions, volatility by kind."""

from __future__ import annotations

import itertools
import math
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from services.market_data.calendars import calendar
from services.market_data.providers import SampleProvider, UnknownTicker
from services.market_data.providers.sample import _anchors, _year

ROOT = Path(__file__).resolve().parents[2]
provider = SampleProvider()


def closes(ticker: str, start: date, end: date) -> list[float]:
    return [bar.close for bar in provider.daily_bars(ticker, start, end)]


def annual_volatility(ticker: str) -> float:
    values = closes(ticker, date(2005, 1, 1), date(2020, 12, 31))
    returns = [math.log(b / a) for a, b in itertools.pairwise(values)]
    return statistics.stdev(returns) * math.sqrt(252)


def test_the_same_ticker_gives_the_same_series_even_with_cold_caches():
    first = provider.daily_bars("TQQQ", date(2020, 1, 1), date(2022, 1, 1))
    _year.cache_clear()
    _anchors.cache_clear()
    again = SampleProvider().daily_bars("TQQQ", date(2020, 1, 1), date(2022, 1, 1))
    assert first == again
    assert closes("TQQQ", date(2020, 1, 1), date(2020, 3, 1)) != closes(
        "QQQ", date(2020, 1, 1), date(2020, 3, 1)
    )


def test_the_series_is_the_same_in_another_process_with_another_hash_seed():
    code = (
        "from datetime import date; from services.market_data.providers import SampleProvider; "
        "print([b.close for b in SampleProvider().daily_bars('AAPL', date(2021, 3, 1), date(2021, 3, 12))])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
        cwd=ROOT,
    )
    assert out.stdout.strip() == str(closes("AAPL", date(2021, 3, 1), date(2021, 3, 12)))


@pytest.mark.parametrize(
    ("inner_start", "inner_end"),
    [
        (date(2020, 2, 3), date(2020, 3, 31)),
        (date(2019, 12, 20), date(2020, 1, 10)),
        (date(2019, 6, 1), date(2021, 6, 30)),
    ],
)
def test_a_sub_range_is_the_slice_of_a_larger_range(inner_start, inner_end):
    whole = provider.daily_bars("SPY", date(2019, 6, 1), date(2021, 6, 30))
    part = provider.daily_bars("SPY", inner_start, inner_end)
    assert part == [bar for bar in whole if inner_start <= bar.date <= inner_end]
    dividends = provider.dividends("SPY", date(2019, 6, 1), date(2021, 6, 30))
    assert provider.dividends("SPY", inner_start, inner_end) == [
        d for d in dividends if inner_start <= d.ex_date <= inner_end
    ]


def test_a_us_ticker_trades_on_every_nyse_session_and_no_other_day():
    bars = provider.daily_bars("MSFT", date(2020, 1, 1), date(2020, 12, 31))
    assert [bar.date for bar in bars] == list(calendar("XNYS").between(date(2020, 1, 1), date(2020, 12, 31)))
    assert len(bars) == 253  # 262 weekdays less 9 holidays


def test_tqqq_2020_to_2022_has_505_daily_bars():
    assert len(provider.daily_bars("TQQQ", date(2020, 1, 1), date(2022, 1, 1))) == 505


def test_crypto_trades_every_day_weekends_and_holidays_included():
    bars = provider.daily_bars("BTC-USD", date(2020, 12, 24), date(2020, 12, 28))
    assert [bar.date.day for bar in bars] == [24, 25, 26, 27, 28]


def test_a_london_ticker_follows_the_london_calendar():
    days = {bar.date for bar in provider.daily_bars("VOD.L", date(2020, 5, 1), date(2020, 5, 31))}
    assert date(2020, 5, 8) not in days  # VE Day bank holiday, London only
    assert date(2020, 5, 25) not in days  # Spring bank holiday (the NYSE's Memorial Day too)
    assert provider.provenance("VOD.L")["calendar"] == "XLON"


def test_early_closes_trade_less_than_full_sessions():
    sessions = calendar("XNYS")
    bars = provider.daily_bars("SPY", date(2000, 1, 1), date(2019, 12, 31))
    early = [bar.volume for bar in bars if sessions.session_share(bar.date) < 1]
    full = [bar.volume for bar in bars if sessions.session_share(bar.date) == 1]
    assert len(early) > 30
    assert statistics.fmean(early) < 0.75 * statistics.fmean(full)


def test_dividends_go_ex_and_are_paid_on_sessions():
    sessions = set(calendar("XNYS").sessions)
    dividends = provider.dividends("KO", date(1990, 1, 1), date(2030, 12, 31))
    assert len(dividends) == 164
    assert all(item.ex_date in sessions and item.payment_date in sessions for item in dividends)


def test_a_year_past_the_exchange_calendar_has_no_bars():
    assert provider.daily_bars("0700.HK", date(2050, 1, 1), date(2050, 12, 31)) == []
    assert provider.daily_bars("0700.HK", date(2049, 12, 1), date(2049, 12, 31)) != []


def test_its_provenance_says_synthetic_and_names_the_calendar():
    assert provider.provenance("TQQQ") == {**provider.metadata, "calendar": "XNYS", "synthetic": True}
    assert provider.provenance("BTC-USD")["calendar"] == "24/7"


@pytest.mark.parametrize("ticker", ["TQQQ", "^GSPC", "AAPL", "BTC-USD", "SQQQ", "EURUSD=X"])
def test_bars_are_well_formed(ticker):
    decimals = 4 if ticker.endswith("=X") else 2
    for bar in provider.daily_bars(ticker, date(2000, 1, 1), date(2024, 12, 31)):
        assert 0 < bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert bar.adjusted_close == bar.close
        assert all(round(v, decimals) == v for v in (bar.open, bar.high, bar.low, bar.close))
        assert isinstance(bar.volume, int) and bar.volume >= 0


def test_a_3x_etf_swings_about_three_times_an_index():
    index, leveraged = annual_volatility("^NDX"), annual_volatility("TQQQ")
    assert 0.13 < index < 0.20
    assert 2.4 < leveraged / index < 3.6


@pytest.mark.parametrize(
    ("ticker", "low", "high"), [("SPY", 0.14, 0.22), ("AAPL", 0.22, 0.38), ("ETH-USD", 0.55, 0.95)]
)
def test_volatility_fits_the_kind(ticker, low, high):
    assert low < annual_volatility(ticker) < high


@pytest.mark.parametrize("ticker", ["AAPL", "KO", "SPY", "TQQQ"])
def test_stocks_and_etfs_pay_quarterly(ticker):
    dividends = provider.dividends(ticker, date(2015, 1, 1), date(2019, 12, 31))
    assert len(dividends) == 20
    gaps = [(b.ex_date - a.ex_date).days for a, b in itertools.pairwise(dividends)]
    assert all(85 <= gap <= 97 for gap in gaps)
    for item in dividends:
        assert item.ex_date in calendar("XNYS").sessions
        assert item.payment_date is not None and 14 <= (item.payment_date - item.ex_date).days <= 24
        assert item.amount_per_share > 0 and round(item.amount_per_share, 4) == item.amount_per_share
    yearly = sum(d.amount_per_share for d in dividends if d.ex_date.year == 2018)
    price = statistics.fmean(closes(ticker, date(2018, 1, 1), date(2018, 12, 31)))
    assert 0.002 < yearly / price < 0.035


@pytest.mark.parametrize("ticker", ["^GSPC", "^VIX", "BTC-USD", "EURUSD=X", "GC=F"])
def test_indexes_crypto_fx_and_futures_pay_nothing(ticker):
    assert provider.dividends(ticker, date(2000, 1, 1), date(2020, 1, 1)) == []


@pytest.mark.parametrize("ticker", ["ZZZ", "zzzq", "ZZZ.TO"])
def test_zzz_is_unknown(ticker):
    with pytest.raises(UnknownTicker):
        provider.daily_bars(ticker, date(2020, 1, 1), date(2020, 2, 1))
    with pytest.raises(UnknownTicker):
        provider.dividends(ticker, date(2020, 1, 1), date(2020, 2, 1))


def test_outside_1970_to_2099_there_is_no_data():
    assert provider.daily_bars("AAPL", date(1960, 1, 1), date(1969, 12, 31)) == []
    # 1970-01-01 is New Year's Day: the first bar is on the first session
    assert provider.daily_bars("AAPL", date(1969, 12, 29), date(1970, 1, 2))[0].date == date(1970, 1, 2)
