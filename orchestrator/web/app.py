"""The application factory: reads as the table of contents of the service."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator

import aiohttp
import aiohttp_cors
from aiohttp import web
from reactivex.scheduler.eventloop import AsyncIOScheduler

from orchestrator.backtest.graph import Backtester
from orchestrator.clients.downstream import connect
from orchestrator.clients.transport import AiohttpTransport
from orchestrator.settings import Settings, load_settings
from orchestrator.web.event_stream import close_open_streams
from orchestrator.web.keys import BACKTESTER, HTTP_SESSION, OPEN_STREAMS, SETTINGS
from orchestrator.web.middlewares import add_request_id_header, error_envelopes, request_context
from orchestrator.web.routes import backtest, health, page


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or load_settings()
    app = web.Application(
        middlewares=[request_context, error_envelopes],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[OPEN_STREAMS] = weakref.WeakSet()
    app.cleanup_ctx.append(http_session)
    app.cleanup_ctx.append(backtester)
    app.on_response_prepare.append(add_request_id_header)
    app.on_shutdown.append(close_open_streams)
    app.add_routes(backtest.routes)
    app.add_routes(health.routes)
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


async def backtester(app: web.Application) -> AsyncIterator[None]:
    """The service clients and the backtest graph's settings, on the loop's scheduler (no timer threads)."""
    settings = app[SETTINGS]
    scheduler = AsyncIOScheduler(asyncio.get_running_loop())
    downstream = connect(settings, AiohttpTransport(app[HTTP_SESSION]), scheduler)
    app[BACKTESTER] = Backtester(downstream, settings.backtest_deadline_s, settings.risk_free_rate_annual)
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
