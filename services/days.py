"""Days and periods: strict ``YYYY-MM-DD`` dates, weekdays, and the week or month a day belongs to.

Weekdays are plain Monday to Friday (tests build series on them). The market data's trading days
are an exchange's sessions, holidays left out: :mod:`services.market_data.calendars`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import BeforeValidator

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

Frequency = Literal["daily", "weekly", "monthly"]


def parse_day(text: object) -> date:
    """``text`` as a date if it is a real ``YYYY-MM-DD`` date; ValueError otherwise."""
    if not isinstance(text, str) or not _ISO_DAY.fullmatch(text):
        raise ValueError("must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("must be a real date as YYYY-MM-DD") from None


def _as_day(value: object) -> date:
    return value if isinstance(value, date) else parse_day(value)


#: A pydantic field type: only a real ``YYYY-MM-DD`` string (never a number or a timestamp) is a day.
Day = Annotated[date, BeforeValidator(_as_day)]


def is_weekday(day: date) -> bool:
    return day.weekday() < 5


def next_weekday(day: date) -> date:
    """``day`` itself if it is Monday to Friday, else the following Monday."""
    while not is_weekday(day):
        day += timedelta(days=1)
    return day


def weekdays(start: date, end: date) -> Iterator[date]:
    """Every Monday-to-Friday day from ``start`` to ``end``, both included."""
    day = next_weekday(start)
    while day <= end:
        yield day
        day = next_weekday(day + timedelta(days=1))


def period_key(day: date, frequency: Frequency) -> tuple[int, int] | date:
    """What groups days into bars: the ISO (year, week), the (year, month), or the day itself."""
    if frequency == "weekly":
        iso = day.isocalendar()
        return (iso.year, iso.week)
    if frequency == "monthly":
        return (day.year, day.month)
    return day
