"""The test-data provider: one small fixed series, whatever ticker is asked (``use_test_data``).

Twenty NYSE sessions from 2024-01-02 to 2024-01-30 (Martin Luther King Day, 2024-01-15, is a holiday)
with exactly one day-over-day drop of more than 5% (2024-01-17: 105.80 -> 99.40, -6.05%; every other
day moves less than 1.5%), and one dividend of 0.50 a share going ex on 2024-01-18. Opens are the
previous close, highs and lows 0.60 beyond them.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from services.market_data import tickers
from services.market_data.calendars import US, calendar
from services.market_data.providers.base import Bar, Dividend, TickerMatch

FIRST_DAY, LAST_DAY = date(2024, 1, 2), date(2024, 1, 30)
CLOSES = (
    100.00, 101.20, 102.00, 101.50, 103.00, 104.10, 103.60, 105.00, 106.20, 105.80,
    99.40, 100.30, 101.10, 102.40, 101.90, 103.20, 104.00, 103.50, 105.10, 106.00,
)  # fmt: skip
DIVIDEND = Dividend(ex_date=date(2024, 1, 18), amount_per_share=0.50, payment_date=date(2024, 2, 1))


@cache
def _bars() -> tuple[Bar, ...]:
    days = calendar(US).between(FIRST_DAY, LAST_DAY)
    opens = (99.50, *CLOSES[:-1])
    return tuple(
        Bar(day, o, round(max(o, c) + 0.6, 2), round(min(o, c) - 0.6, 2), c, c, 1_000_000 + 10_000 * i)
        for i, (day, o, c) in enumerate(zip(days, opens, CLOSES, strict=True))
    )


class FixtureProvider:
    metadata: dict[str, Any] = {
        "provider": "test-data",
        "synthetic": True,
        "note": "Fixed test fixture: the same 20 days from 2024-01-02 whatever the ticker; not real prices",
    }

    def __init__(self) -> None:
        _bars()  # on the NYSE's calendar, built now rather than while a first request waits

    def provenance(self, ticker: str) -> dict[str, Any]:
        return {**self.metadata, "calendar": US}

    def daily_bars(self, ticker: str, start: date, end: date) -> list[Bar]:
        return [bar for bar in _bars() if start <= bar.date <= end]

    def dividends(self, ticker: str, start: date, end: date) -> list[Dividend]:
        return [DIVIDEND] if start <= DIVIDEND.ex_date <= end else []

    def search(self, query: str, limit: int) -> list[TickerMatch]:
        """The bundled list of common tickers, as the sample provider's: any ticker has the fixture."""
        return tickers.search(query, limit)
