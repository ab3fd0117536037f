"""Trading calendars: the days an exchange is open, from the ``exchange-calendars`` library.

The reference data trades only on its exchange's sessions, as real data does: no bar on Christmas,
Independence Day or Good Friday, and none on the days the market closed for an event (2001-09-11,
2012-10-29, ...). ``exchange-calendars`` keeps these rules for some fifty exchanges.

Which calendar a ticker follows (:func:`calendar_for`): crypto trades every day (``24/7``), FX every
weekday (``24/5``), futures on the CME's (``CMES``); a Yahoo-style suffix names a foreign exchange
(``.L`` London, ``.TO`` Toronto, ...); anything else is a US ticker, on the NYSE's (``XNYS``).

A calendar is built once per process for 1970-2099 (the sample data's span) or the part of it the
library can evaluate, and kept as plain dates: a lookup is a bisection, with no pandas on the way.
"""

from __future__ import annotations

import warnings
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import exchange_calendars

US = "XNYS"
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2099, 12, 31)

#: Yahoo's ticker suffixes for the exchanges the library knows (``VOD.L``, ``SHOP.TO``, ``SAP.DE``...).
SUFFIXES = MappingProxyType(
    {
        ".L": "XLON", ".TO": "XTSE", ".DE": "XETR", ".F": "XFRA", ".PA": "XPAR", ".AS": "XAMS",
        ".MI": "XMIL", ".MC": "XMAD", ".SW": "XSWX", ".ST": "XSTO", ".CO": "XCSE", ".HE": "XHEL",
        ".OL": "XOSL", ".AX": "XASX", ".NZ": "XNZE", ".HK": "XHKG", ".T": "XTKS", ".KS": "XKRX",
        ".SA": "BVMF", ".MX": "XMEX",
    }
)  # fmt: skip
#: The calendars of the kinds that do not trade on an exchange's days.
KINDS = MappingProxyType({"crypto": "24/7", "fx": "24/5", "future": "CMES"})


def calendar_for(ticker: str, kind: str | None = None) -> str:
    """The code of the calendar ``ticker`` trades on; ``kind`` (the sample data's) settles crypto, FX
    and futures, which have no exchange suffix."""
    if kind in KINDS:
        return KINDS[kind]
    upper = ticker.upper()
    for suffix, code in SUFFIXES.items():
        if upper.endswith(suffix):
            return code
    return US


@dataclass(frozen=True, slots=True)
class Calendar:
    """An exchange's sessions as sorted dates, and the share of a full day its early closes trade."""

    code: str
    sessions: tuple[date, ...]
    #: early-close sessions and their length as a fraction of a regular session (e.g. 0.54 for 13:00)
    early_closes: MappingProxyType[date, float]

    def between(self, start: date, end: date) -> tuple[date, ...]:
        """The sessions from ``start`` to ``end``, both included."""
        return self.sessions[bisect_left(self.sessions, start) : bisect_right(self.sessions, end)]

    def on_or_after(self, day: date) -> date:
        """``day`` if it is a session, else the next one (``day`` itself past the calendar's end)."""
        at = bisect_left(self.sessions, day)
        return self.sessions[at] if at < len(self.sessions) else day

    def session_share(self, day: date) -> float:
        """How much of a regular session ``day`` trades: 1.0, or less on an early close."""
        return self.early_closes.get(day, 1.0)


@cache
def calendar(code: str) -> Calendar:
    """The calendar ``code`` (an ``exchange-calendars`` name such as ``XNYS``), built once per process."""
    source = _source(code)
    sessions = tuple(source.sessions.date)
    regular = (source.closes - source.opens).median()
    early = source.early_closes
    lengths = source.closes[early] - source.opens[early]
    shares = {day.date(): round(length / regular, 2) for day, length in zip(early, lengths, strict=True)}
    return Calendar(code, sessions, MappingProxyType(shares))


def _source(code: str) -> exchange_calendars.ExchangeCalendar:
    """The library's calendar over 1970-2099, or over as much of it as the library can evaluate (Tokyo
    starts in 1997, Hong Kong's holidays end in 2049)."""
    # imported here: it brings pandas (about 0.6 s and 40 MB), which only a process serving
    # market data needs, not the strategy, portfolio and metrics services that share this package
    import exchange_calendars

    with warnings.catch_warnings():
        # the library's own use of what pandas 3.1 deprecates: its concern, not our callers'
        warnings.simplefilter("ignore", DeprecationWarning)
        kind = type(exchange_calendars.get_calendar(code))
        low, high = kind.bound_min(), kind.bound_max()
        start = max(FIRST_DAY, low.date()) if low is not None else FIRST_DAY
        end = min(LAST_DAY, high.date()) if high is not None else LAST_DAY
        return exchange_calendars.get_calendar(code, start=start.isoformat(), end=end.isoformat())
