"""The test-data fixture: 20 trading days, exactly one drop of more than 5%, one dividend inside."""

from __future__ import annotations

import itertools
from datetime import date

from services.market_data.providers import FixtureProvider

provider = FixtureProvider()
WHOLE = (date(2024, 1, 1), date(2024, 12, 31))


def test_twenty_nyse_sessions_from_2024_01_02():
    bars = provider.daily_bars("TQQQ", *WHOLE)
    assert len(bars) == 20
    assert (bars[0].date, bars[-1].date) == (date(2024, 1, 2), date(2024, 1, 30))
    assert all(bar.date.weekday() < 5 for bar in bars)
    assert date(2024, 1, 15) not in {bar.date for bar in bars}  # Martin Luther King Day
    assert all(bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high for bar in bars)


def test_exactly_one_drop_of_more_than_five_percent():
    bars = provider.daily_bars("X", *WHOLE)
    moves = [(b.date, b.adjusted_close / a.adjusted_close - 1) for a, b in itertools.pairwise(bars)]
    drops = [(day, move) for day, move in moves if move < -0.05]
    assert len(drops) == 1
    assert drops[0][0] == date(2024, 1, 17)
    assert drops[0][1] == 99.40 / 105.80 - 1


def test_one_dividend_inside_the_series():
    (dividend,) = provider.dividends("X", *WHOLE)
    assert date(2024, 1, 2) < dividend.ex_date < date(2024, 1, 30)
    assert dividend.amount_per_share == 0.5


def test_the_range_filters_the_fixture():
    assert len(provider.daily_bars("X", date(2024, 1, 10), date(2024, 1, 12))) == 3
    assert provider.daily_bars("X", date(2023, 1, 1), date(2023, 12, 31)) == []
    assert provider.dividends("X", date(2024, 1, 19), date(2024, 2, 1)) == []


def test_any_ticker_gets_the_same_fixture():
    assert provider.daily_bars("ZZZ", *WHOLE) == provider.daily_bars("^GSPC", *WHOLE)


def test_its_provenance_names_the_nyse_calendar():
    assert provider.provenance("X") == {**provider.metadata, "calendar": "XNYS"}
