"""What a market data provider gives: daily bars and dividends of a ticker over a date range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Bar:
    """One trading day. Prices are positive and ``low <= min(open, close) <= max(open, close) <= high``."""

    date: date
    open: float
    high: float
    low: float
    close: float
    adjusted_close: float
    volume: int

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "adjusted_close": self.adjusted_close,
            "volume": self.volume,
        }


@dataclass(frozen=True, slots=True)
class Dividend:
    ex_date: date
    amount_per_share: float
    payment_date: date | None = None

    def as_json(self) -> dict[str, Any]:
        paid = self.payment_date.isoformat() if self.payment_date else None
        return {
            "ex_date": self.ex_date.isoformat(),
            "payment_date": paid,
            "amount_per_share": self.amount_per_share,
        }


class UnknownTicker(LookupError):
    """The provider knows no such ticker (answered as INVALID_TICKER)."""


class Provider(Protocol):
    """A source of daily data. Both methods answer what falls in ``[start, end]``, sorted by date."""

    #: Said in every answer's ``metadata`` (e.g. ``{"provider": "sample", "synthetic": true, ...}``).
    metadata: dict[str, Any]

    def daily_bars(self, ticker: str, start: date, end: date) -> list[Bar]:
        """The ticker's daily bars in the range; raise :class:`UnknownTicker` if there is no such ticker."""
        ...

    def dividends(self, ticker: str, start: date, end: date) -> list[Dividend]:
        """Dividends whose ex-date is in the range (empty for tickers that pay none)."""
        ...
