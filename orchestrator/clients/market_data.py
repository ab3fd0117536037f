"""The market-data service (and the test-data service, which has the same API)."""

from __future__ import annotations

from reactivex import Observable

from orchestrator.clients.context import CallContext
from orchestrator.clients.service import ServiceClient
from orchestrator.schemas.downstream import (
    DIVIDENDS,
    PRICES,
    TICKER_SEARCH,
    Dividends,
    Prices,
    TickerMatch,
    dividends_asked,
    prices_asked,
)
from orchestrator.schemas.requests import MarketParams


class MarketDataClient:
    def __init__(self, service: ServiceClient) -> None:
        self.service = service

    def prices(self, market: MarketParams, context: CallContext) -> Observable[Prices]:
        body = {
            "ticker": market.ticker,
            "market_type": market.market_type,
            "start_date": market.start_date,
            "end_date": market.end_date,
            "frequency": market.frequency,
        }
        asked = prices_asked(market.ticker, market.start_date, market.end_date, market.frequency)
        return self.service.post("/prices", body, PRICES, context, asked)

    def dividends(self, market: MarketParams, context: CallContext) -> Observable[Dividends]:
        body = {"ticker": market.ticker, "start_date": market.start_date, "end_date": market.end_date}
        asked = dividends_asked(market.ticker, market.start_date, market.end_date)
        return self.service.post("/dividends", body, DIVIDENDS, context, asked)

    def search(self, query: str, limit: int, context: CallContext) -> Observable[list[TickerMatch]]:
        """Tickers matching ``query``, best first: ``GET /tickers/search`` (our extension of its API)."""
        return self.service.get("/tickers/search", {"q": query, "limit": str(limit)}, TICKER_SEARCH, context)
