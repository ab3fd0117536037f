"""The market data service: ``POST /prices`` and ``POST /dividends`` over a provider.

Both ranges include their end days. A range with no trading day answers success with an empty list
(the orchestrator decides that is INSUFFICIENT_DATA). Answers carry the provider's ``metadata`` (the
sample and test-data providers say there that their data is synthetic) and ``data_points``.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from services.common import create_service_app, json_endpoint
from services.market_data.providers import FixtureProvider, Provider, UnknownTicker, make_provider
from services.market_data.resample import resample
from services.market_data.schemas import (
    DividendsRequest,
    PricesRequest,
    check_ticker,
    date_range,
    invalid_ticker,
)


def create_app(provider: Provider | None = None, service_name: str = "market-data") -> Starlette:
    """The service over ``provider`` (default: :func:`make_provider`, from the environment)."""
    source = provider if provider is not None else make_provider()

    def prices(body: PricesRequest) -> dict[str, Any]:
        check_ticker(body.ticker)
        start, end = date_range(body)
        try:
            bars = resample(source.daily_bars(body.ticker, start, end), body.frequency)
        except UnknownTicker:
            raise invalid_ticker(body.ticker) from None
        return {
            "ticker": body.ticker,
            "frequency": body.frequency,
            "prices": [bar.as_json() for bar in bars],
            "metadata": {**source.metadata, "data_points": len(bars)},
        }

    def dividends(body: DividendsRequest) -> dict[str, Any]:
        check_ticker(body.ticker)
        start, end = date_range(body)
        try:
            items = source.dividends(body.ticker, start, end)
        except UnknownTicker:
            raise invalid_ticker(body.ticker) from None
        return {
            "ticker": body.ticker,
            "dividends": [item.as_json() for item in items],
            "metadata": {**source.metadata, "data_points": len(items)},
        }

    return create_service_app(
        service_name,
        [
            Route("/prices", json_endpoint(PricesRequest, prices), methods=["POST"]),
            Route("/dividends", json_endpoint(DividendsRequest, dividends), methods=["POST"]),
        ],
    )


def create_test_data_app() -> Starlette:
    """Test-data mode (``use_test_data``): the same API over the fixed fixture, named test-data-fetcher."""
    return create_app(FixtureProvider(), service_name="test-data-fetcher")
