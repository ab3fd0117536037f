"""Weekly and monthly bars from daily ones, checked by hand."""

from __future__ import annotations

from datetime import date, timedelta

from services.days import weekdays
from services.market_data.providers import Bar
from services.market_data.resample import resample


def daily(start: date, end: date) -> list[Bar]:
    """Day i (from 0) opens at 100 + i, closes at 100.5 + i, high +2, low -1, volume 10 * (i + 1)."""
    return [
        Bar(day, 100.0 + i, 102.0 + i, 99.0 + i, 100.5 + i, 100.25 + i, 10 * (i + 1))
        for i, day in enumerate(weekdays(start, end))
    ]


def test_daily_is_unchanged():
    bars = daily(date(2024, 1, 29), date(2024, 2, 9))
    assert resample(bars, "daily") == bars


def test_weekly_one_bar_per_iso_week():
    # Mon 2024-01-29 .. Fri 2024-02-09: days 0-4 then 5-9
    weeks = resample(daily(date(2024, 1, 29), date(2024, 2, 9)), "weekly")
    assert weeks == [
        Bar(date(2024, 2, 2), 100.0, 106.0, 99.0, 104.5, 104.25, 10 + 20 + 30 + 40 + 50),
        Bar(date(2024, 2, 9), 105.0, 111.0, 104.0, 109.5, 109.25, 60 + 70 + 80 + 90 + 100),
    ]


def test_weekly_a_week_across_new_year_is_one_week():
    # ISO week 53 of 2020 runs Mon 2020-12-28 to Fri 2021-01-01
    weeks = resample(daily(date(2020, 12, 28), date(2021, 1, 6)), "weekly")
    assert [bar.date for bar in weeks] == [date(2021, 1, 1), date(2021, 1, 6)]
    assert weeks[0].volume == 10 + 20 + 30 + 40 + 50
    assert (weeks[1].open, weeks[1].close) == (105.0, 107.5)  # Mon 4th to Wed 6th: days 5-7


def test_a_period_cut_by_the_range_uses_the_days_inside_it():
    # Wed 2024-01-31 .. Tue 2024-02-06: the first week is cut to Wed-Fri, the last to Mon-Tue
    weeks = resample(daily(date(2024, 1, 31), date(2024, 2, 6)), "weekly")
    assert [(bar.date, bar.open, bar.close) for bar in weeks] == [
        (date(2024, 2, 2), 100.0, 102.5),
        (date(2024, 2, 6), 103.0, 104.5),
    ]


def test_monthly_one_bar_per_calendar_month():
    # Jan 29-31 are days 0-2; Feb 1-9 are days 3-9
    months = resample(daily(date(2024, 1, 29), date(2024, 2, 9)), "monthly")
    assert months == [
        Bar(date(2024, 1, 31), 100.0, 104.0, 99.0, 102.5, 102.25, 10 + 20 + 30),
        Bar(date(2024, 2, 9), 103.0, 111.0, 102.0, 109.5, 109.25, sum(range(40, 101, 10))),
    ]


def test_monthly_high_and_low_are_the_extremes_wherever_they_fall():
    bars = daily(date(2024, 3, 1), date(2024, 3, 8))
    spike = bars[2]
    bars[2] = Bar(spike.date, spike.open, 500.0, 1.0, spike.close, spike.adjusted_close, spike.volume)
    (month,) = resample(bars, "monthly")
    assert (month.high, month.low) == (500.0, 1.0)
    assert month.date == date(2024, 3, 8) == bars[-1].date
    assert month.date - bars[0].date == timedelta(days=7)
