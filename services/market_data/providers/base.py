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


@dataclass(frozen=True, slots=True)
class TickerMatch:
    """One answer of a ticker search: what a trader would pick in a suggestion list."""

    symbol: str
    name: str
    #: the API's ``market_type`` for it: ``Stock``, ``ETF``, ``Index``, ``Crypto``, ``FX`` or ``Future``
    kind: str
    #: the exchange it trades on (e.g. ``NASDAQ``, ``NYSE Arca``), when known
    exchange: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "name": self.name, "kind": self.kind, "exchange": self.exchange}


class UnknownTicker(LookupError):
    """The provider knows no such ticker (answered as INVALID_TICKER)."""


class ProviderUnavailable(RuntimeError):
    """The provider's own source failed or refused: an outage, a rate limit, an answer it could not read.

    Answered as SERVICE_UNAVAILABLE (503), with ``reason`` and ``retry_after`` (seconds, when the
    source said) in the details, so the orchestrator's retries and breaker apply as to any outage.
    """

    def __init__(self, message: str, *, reason: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after


class Provider(Protocol):
    """A source of daily data. Both methods answer what falls in ``[start, end]``, sorted by date."""

    #: What the provider says of all its data (e.g. ``{"provider": "sample", "synthetic": true, ...}``).
    metadata: dict[str, Any]

    def provenance(self, ticker: str) -> dict[str, Any]:
        """Each answer's ``metadata`` for ``ticker``: :attr:`metadata` and the ``calendar`` of its days."""
        ...

    def search(self, query: str, limit: int) -> list[TickerMatch]:
        """Up to ``limit`` tickers matching ``query`` (a symbol or name fragment), best first."""
        ...

    def daily_bars(self, ticker: str, start: date, end: date) -> list[Bar]:
        """The ticker's daily bars in the range; raise :class:`UnknownTicker` if there is no such ticker."""
        ...

    def dividends(self, ticker: str, start: date, end: date) -> list[Dividend]:
        """Dividends whose ex-date is in the range (empty for tickers that pay none)."""
        ...
