"""Trading calendars: the NYSE's sessions, holidays, closures and early closes; which ticker follows which."""

from __future__ import annotations

from datetime import date

import pytest

from services.market_data.calendars import calendar, calendar_for

nyse = calendar("XNYS")


def test_2020_01_01_to_2022_01_01_has_505_nyse_sessions():
    assert len(nyse.between(date(2020, 1, 1), date(2022, 1, 1))) == 505


@pytest.mark.parametrize(
    ("year", "sessions"), [(2019, 252), (2020, 253), (2021, 252), (2022, 251), (2023, 250), (2024, 252)]
)
def test_sessions_a_year_match_the_nyse(year, sessions):
    assert len(nyse.between(date(year, 1, 1), date(year, 12, 31))) == sessions


@pytest.mark.parametrize(
    "holiday",
    [
        date(2020, 1, 1),  # New Year's Day
        date(2020, 1, 20),  # Martin Luther King Day
        date(2020, 4, 10),  # Good Friday
        date(2020, 7, 3),  # Independence Day, observed on the Friday
        date(2020, 11, 26),  # Thanksgiving
        date(2020, 12, 25),  # Christmas
        date(2021, 12, 24),  # Christmas, observed on the Friday
        date(2022, 6, 20),  # Juneteenth, observed on the Monday
    ],
)
def test_holidays_are_not_sessions(holiday):
    assert holiday not in nyse.sessions


@pytest.mark.parametrize(
    "closed",
    [date(2001, 9, 11), date(2001, 9, 14), date(2012, 10, 29), date(2012, 10, 30), date(2018, 12, 5)],
)
def test_days_the_market_closed_for_an_event_are_not_sessions(closed):
    assert closed not in nyse.sessions


def test_an_early_close_is_a_shorter_session():
    assert nyse.session_share(date(2020, 11, 27)) == pytest.approx(3.5 / 6.5, abs=0.01)  # 13:00
    assert nyse.session_share(date(2020, 11, 25)) == 1.0


def test_on_or_after_moves_a_holiday_to_the_next_session():
    assert nyse.on_or_after(date(2020, 12, 25)) == date(2020, 12, 28)
    assert nyse.on_or_after(date(2020, 12, 28)) == date(2020, 12, 28)


@pytest.mark.parametrize(
    ("ticker", "kind", "code"),
    [
        ("TQQQ", "leveraged_etf", "XNYS"),
        ("^GSPC", "index", "XNYS"),
        ("AAPL", None, "XNYS"),
        ("VOD.L", None, "XLON"),
        ("shop.to", None, "XTSE"),
        ("BTC-USD", "crypto", "24/7"),
        ("EURUSD=X", "fx", "24/5"),
        ("ES=F", "future", "CMES"),
    ],
)
def test_each_ticker_follows_its_exchange(ticker, kind, code):
    assert calendar_for(ticker, kind) == code


def test_a_calendar_the_library_cannot_evaluate_from_1970_starts_where_it_can():
    tokyo = calendar("XTKS")
    assert tokyo.sessions[0].year == 1997
    assert tokyo.between(date(1970, 1, 1), date(1996, 12, 31)) == ()


def test_a_calendar_is_built_once_per_process():
    assert calendar("XNYS") is nyse
