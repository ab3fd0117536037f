"""The market data service: ``POST /prices`` and ``POST /dividends`` over a provider, and
``GET /tickers/search?q=&limit=`` (our extension: tickers matching a symbol or name fragment).

Both ranges include their end days. A range with no trading day answers success with an empty list
(the orchestrator decides that is INSUFFICIENT_DATA). Answers carry the provider's ``metadata`` (the
sample and test-data providers say there that their data is synthetic) and ``data_points``. When
the provider's own source fails (yahoo: an outage, a rate limit), every route answers 503
SERVICE_UNAVAILABLE with ``{provider, reason, retry_after}`` and ``Retry-After`` when known
(:func:`provider_unavailable`); a provider marked ``blocking`` is called in a worker thread.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from services.common import ServiceError, create_service_app, json_endpoint, query_endpoint
from services.market_data.providers import FixtureProvider, Provider, UnknownTicker, make_provider
from services.market_data.providers.base import ProviderUnavailable
from services.market_data.resample import resample
from services.market_data.schemas import (
    DividendsRequest,
    PricesRequest,
    SearchQuery,
    check_ticker,
    date_range,
    invalid_ticker,
)


def create_app(provider: Provider | None = None, service_name: str = "market-data") -> Starlette:
    """The service over ``provider`` (default: :func:`make_provider`, from the environment)."""
    source = provider if provider is not None else make_provider()
    # a provider that waits on the network (yahoo) is called in a worker thread, not on the event loop
    blocking = bool(getattr(source, "blocking", False))

    def prices(body: PricesRequest) -> dict[str, Any]:
        check_ticker(body.ticker)
        start, end = date_range(body)
        with asking(source, body.ticker):
            bars = resample(source.daily_bars(body.ticker, start, end), body.frequency)
        return {
            "ticker": body.ticker,
            "frequency": body.frequency,
            "prices": [bar.as_json() for bar in bars],
            "metadata": {**source.provenance(body.ticker), "data_points": len(bars)},
        }

    def dividends(body: DividendsRequest) -> dict[str, Any]:
        check_ticker(body.ticker)
        start, end = date_range(body)
        with asking(source, body.ticker):
            items = source.dividends(body.ticker, start, end)
        return {
            "ticker": body.ticker,
            "dividends": [item.as_json() for item in items],
            "metadata": {**source.provenance(body.ticker), "data_points": len(items)},
        }

    def search(query: SearchQuery) -> dict[str, Any]:
        with asking(source):
            matches = source.search(query.q, query.limit)[: query.limit]
        return {"query": query.q, "results": [match.as_json() for match in matches]}

    return create_service_app(
        service_name,
        [
            Route("/prices", json_endpoint(PricesRequest, prices, blocking=blocking), methods=["POST"]),
            Route(
                "/dividends", json_endpoint(DividendsRequest, dividends, blocking=blocking), methods=["POST"]
            ),
            Route("/tickers/search", query_endpoint(SearchQuery, search, blocking=blocking), methods=["GET"]),
        ],
    )


@contextmanager
def asking(source: Provider, ticker: str | None = None) -> Iterator[None]:
    """What every route asks the provider inside: its failures as the service's errors."""
    try:
        yield
    except UnknownTicker:
        raise invalid_ticker(ticker or "") from None
    except ProviderUnavailable as error:
        raise provider_unavailable(source, error) from None


def provider_unavailable(source: Provider, error: ProviderUnavailable) -> ServiceError:
    """SERVICE_UNAVAILABLE (503) for a provider whose own source failed or refused (an outage, a rate
    limit, an answer it could not read), with ``Retry-After`` when the source said when to come back.
    Every route that asks the provider maps :class:`ProviderUnavailable` through here: the
    orchestrator then retries it and counts it toward the breaker, as any outage."""
    retry_after = None if error.retry_after is None else max(1, math.ceil(error.retry_after))
    provider = source.metadata.get("provider")
    return ServiceError(
        "SERVICE_UNAVAILABLE",
        f"The market data provider {provider!r} is unavailable ({error.reason}): {error}",
        503,
        {"provider": provider, "reason": error.reason, "retry_after": retry_after},
        headers={} if retry_after is None else {"Retry-After": str(retry_after)},
    )


def create_test_data_app() -> Starlette:
    """Test-data mode (``use_test_data``): the same API over the fixed fixture, named test-data-fetcher."""
    return create_app(FixtureProvider(), service_name="test-data-fetcher")
