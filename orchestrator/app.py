"""The application factory: reads as the table of contents of the service."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator

import aiohttp
import aiohttp_cors
from aiohttp import web
from reactivex.scheduler.eventloop import AsyncIOScheduler

from orchestrator.clients.base import ServiceClient
from orchestrator.clients.market_data import MarketDataClient
from orchestrator.clients.metrics import MetricsClient
from orchestrator.clients.portfolio import PortfolioClient
from orchestrator.clients.strategy import StrategyClient
from orchestrator.keys import HTTP_SESSION, OPEN_STREAMS, SCHEDULER, SERVICES, SETTINGS
from orchestrator.middlewares import add_request_id_header, error_envelopes, request_context
from orchestrator.pipeline import Services
from orchestrator.routes import backtest, page
from orchestrator.settings import Settings, load_settings
from orchestrator.streaming import close_open_streams


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or load_settings()
    app = web.Application(
        middlewares=[request_context, error_envelopes],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[OPEN_STREAMS] = weakref.WeakSet()
    app.cleanup_ctx.append(http_session)
    app.cleanup_ctx.append(downstream_services)
    app.on_response_prepare.append(add_request_id_header)
    app.on_shutdown.append(close_open_streams)
    app.add_routes(backtest.routes)
    app.add_routes(page.routes)
    allow_cors(app, settings.cors_origins)
    return app


async def http_session(app: web.Application) -> AsyncIterator[None]:
    """One pooled, keep-alive client session for the application's life."""
    connector = aiohttp.TCPConnector(limit=app[SETTINGS].connection_pool_size, keepalive_timeout=30)
    async with aiohttp.ClientSession(
        connector=connector,
        # Per-call timeouts are operators on the graph; this only bounds a call nobody times.
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
    ) as session:
        app[HTTP_SESSION] = session
        yield


async def downstream_services(app: web.Application) -> AsyncIterator[None]:
    """The clients of the four services, on the loop's scheduler (no timer threads)."""
    settings, session = app[SETTINGS], app[HTTP_SESSION]
    app[SCHEDULER] = scheduler = AsyncIOScheduler(asyncio.get_running_loop())

    def client(name: str, timeout_s: float) -> ServiceClient:
        return ServiceClient(name, settings.url(name), timeout_s, session, scheduler)

    app[SERVICES] = Services(
        market_data=MarketDataClient(client("market_data", settings.market_data_timeout_s)),
        test_data=MarketDataClient(client("test_data", settings.market_data_timeout_s)),
        strategy=StrategyClient(client("strategy", settings.strategy_timeout_s)),
        portfolio=PortfolioClient(client("portfolio", settings.portfolio_timeout_s)),
        metrics=MetricsClient(client("metrics", settings.metrics_timeout_s)),
        scheduler=scheduler,
        deadline_s=settings.backtest_deadline_s,
        risk_free_rate_annual=settings.risk_free_rate_annual,
    )
    yield


def allow_cors(app: web.Application, origins: tuple[str, ...]) -> None:
    """Let the frontend, served from another origin, call every route (and read the request id)."""
    options = aiohttp_cors.ResourceOptions(
        allow_headers=("Content-Type", "Accept", "X-Request-ID"),
        expose_headers=("X-Request-ID",),
        allow_methods=("GET", "POST"),
        max_age=600,
    )
    cors = aiohttp_cors.setup(app, defaults=dict.fromkeys(origins, options))
    for route in list(app.router.routes()):
        if route.resource is not None and route.resource.canonical.startswith(("/api/", "/health")):
            cors.add(route)
