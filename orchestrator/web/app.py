"""The application factory: reads as the table of contents of the service.

``create_app(settings)`` reaches the services over pooled aiohttp sessions of its own;
``create_app(settings, transport=...)`` sends every exchange with them (the calls and the health
checks) through the transport given instead, the way httpx's client takes a transport: tests hand
it fake services that answer from functions, on the real loop, with no HTTP underneath and no
patching of aiohttp. The application is served by ``web/server.py``'s runner.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import aiohttp
import aiohttp_cors
from aiohttp import web
from reactivex.scheduler.eventloop import AsyncIOScheduler

from orchestrator.backtest.admission import Admission
from orchestrator.backtest.graph import Backtester
from orchestrator.cache.calls import CallCache
from orchestrator.cache.shared import SharedStore
from orchestrator.clients.downstream import connect
from orchestrator.clients.transport import AiohttpTransport, Transport, service_session
from orchestrator.headers import REQUEST_TIMEOUT_MS
from orchestrator.jobs.service import Jobs
from orchestrator.registry import SERVICES
from orchestrator.resilience.clock import clock_of
from orchestrator.settings import Settings, load_settings
from orchestrator.span_export import span_export
from orchestrator.tracing import TRACERESPONSE
from orchestrator.web import protocol
from orchestrator.web.admission import admission, drain
from orchestrator.web.client_share import client_share
from orchestrator.web.forwarded import forwarded_client
from orchestrator.web.keys import (
    ADMISSION,
    BACKTESTER,
    HEALTH_TRANSPORT,
    HTTP_SESSIONS,
    JOBS,
    SERVICE_TRANSPORTS,
    SETTINGS,
    SPAN_EXPORT,
)
from orchestrator.web.middlewares import add_request_id_header, error_envelopes, request_context
from orchestrator.web.routes import api_docs, backtest, health, jobs, metrics, page, sweep, tickers
from orchestrator.web.trace_context import TRACE_HEADERS, add_traceresponse_header
from streams import Turns

#: Connections for health checks, apart from the services' pools so that a busy pool cannot slow them.
HEALTH_POOL_SIZE = 10


def create_app(settings: Settings | None = None, *, transport: Transport | None = None) -> web.Application:
    settings = settings or load_settings()
    app = web.Application(
        middlewares=[
            request_context,
            error_envelopes,
            forwarded_client(settings.edge),
            client_share(settings.edge),
            admission,
        ],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[ADMISSION] = Admission(settings.admission)
    app.cleanup_ctx.append(http_sessions if transport is None else through(transport))
    app.cleanup_ctx.append(backtester)
    app.cleanup_ctx.append(job_engine)
    app.cleanup_ctx.append(span_export_of)
    app.on_response_prepare.append(add_request_id_header)
    app.on_response_prepare.append(add_traceresponse_header)
    app.on_response_prepare.append(quiet_server_header)
    app.on_shutdown.append(stop_jobs)  # before the drain: the jobs' settings hold admission slots
    app.on_shutdown.append(drain)
    app.add_routes(backtest.routes)
    app.add_routes(sweep.routes)
    app.add_routes(jobs.routes)
    app.add_routes(tickers.routes)
    app.add_routes(health.routes)
    app.add_routes(api_docs.routes(settings))
    app.add_routes(metrics.routes())
    app.add_routes(page.routes)
    allow_cors(app, settings.cors_origins)
    return app


async def quiet_server_header(_request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: no Python or aiohttp version for anyone to look up."""
    response.headers["Server"] = protocol.SERVER


async def http_sessions(app: web.Application) -> AsyncIterator[None]:
    """A pooled keep-alive session per service, its pool as large as its bulkhead, and a small one
    for health checks; all closed when the application stops."""
    settings = app[SETTINGS]
    policies = {entry.name: settings.policy(entry.name) for entry in SERVICES}
    sizes = {name: policy.bulkhead.max_in_flight for name, policy in policies.items()} | {
        "health": HEALTH_POOL_SIZE
    }
    sessions = {name: _session(size, settings.upstream_keepalive_s) for name, size in sizes.items()}
    # No pool: the one retry after a stale pooled connection goes out on a new connection.
    sessions["fresh"] = _session(0, settings.upstream_keepalive_s, force_close=True)
    app[HTTP_SESSIONS] = sessions
    # A health check's own timeout (HEALTH_TIMEOUT_S) bounds its connecting too.
    app[HEALTH_TRANSPORT] = AiohttpTransport(sessions["health"], max_answer_bytes=64 * 1024)
    transports: dict[str, Transport] = {
        name: AiohttpTransport(
            sessions[name], settings.max_answer_bytes, sessions["fresh"], policy.timeout.connect_s
        )
        for name, policy in policies.items()
    }
    app[SERVICE_TRANSPORTS] = transports
    try:
        yield
    finally:
        await asyncio.gather(*(session.close() for session in sessions.values()))


def through(transport: Transport) -> Callable[[web.Application], AsyncIterator[None]]:
    """The cleanup context that sends every exchange with the services through ``transport``."""

    async def given(app: web.Application) -> AsyncIterator[None]:
        app[HEALTH_TRANSPORT] = transport
        app[SERVICE_TRANSPORTS] = {entry.name: transport for entry in SERVICES}
        yield

    return given


def _session(pool_size: int, keepalive_s: float, force_close: bool = False) -> aiohttp.ClientSession:
    if force_close:
        connector = aiohttp.TCPConnector(limit=pool_size, force_close=True)
    else:
        connector = aiohttp.TCPConnector(limit=pool_size, keepalive_timeout=keepalive_s)
    return service_session(connector)


async def backtester(app: web.Application) -> AsyncIterator[None]:
    """The service clients, each under its policy, the cache of market data and baseline runs, and
    the backtest graph's settings, on the loop's scheduler (no timer threads)."""
    settings, transports = app[SETTINGS], app[SERVICE_TRANSPORTS]
    scheduler = AsyncIOScheduler(asyncio.get_running_loop())
    downstream = connect(settings, transports, scheduler)
    # With REDIS_URL, one client (and its bounded pool) for the application, closed when it stops.
    redis = SharedStore.connect(settings.redis_url, settings.cache) if settings.redis_url else None
    cache = CallCache.from_config(
        settings.cache, clock_of(scheduler), shared_store=redis, turns=Turns(scheduler)
    )
    app[BACKTESTER] = Backtester(
        downstream, settings.backtest_deadline_s, settings.risk_free_rate_annual, cache
    )
    try:
        yield
    finally:
        if redis is not None:
            await redis.close()


async def span_export_of(app: web.Application) -> AsyncIterator[None]:
    """Where request spans go (``TRACING__EXPORT``); on the way out, what is queued is sent."""
    app[SPAN_EXPORT] = spans = span_export(app[SETTINGS].tracing)
    try:
        yield
    finally:
        await spans.close()


async def job_engine(app: web.Application) -> AsyncIterator[None]:
    """The jobs' store and queue (Redis with REDIS_URL, else this process), and this process's
    worker (unless JOBS__WORKER=false), stopped and closed when the application stops."""
    settings = app[SETTINGS]
    app[JOBS] = engine = Jobs.connect(settings.redis_url, settings.jobs, settings.request_limits)
    if settings.jobs.worker:
        engine.start_worker(app[BACKTESTER], app[ADMISSION])
    try:
        yield
    finally:
        await engine.close()


async def stop_jobs(app: web.Application) -> None:
    """on_shutdown: stop this process's job work and hand its shards back, so that other processes
    (or this one's successor) go on with them at once; end the open event streams."""
    await app[JOBS].stop_worker()


def allow_cors(app: web.Application, origins: tuple[str, ...]) -> None:
    """Let the frontend, served from another origin, call every route (and read the request id)."""
    options = aiohttp_cors.ResourceOptions(
        allow_headers=(
            "Content-Type",
            "Accept",
            "X-Request-ID",
            REQUEST_TIMEOUT_MS,
            "Idempotency-Key",
            "Last-Event-ID",
            *TRACE_HEADERS,
        ),
        expose_headers=("X-Request-ID", "Retry-After", "Location", TRACERESPONSE),
        allow_methods=("GET", "POST", "DELETE"),
        max_age=600,
    )
    cors = aiohttp_cors.setup(app, defaults=dict.fromkeys(origins, options))
    for route in list(app.router.routes()):
        if route.resource is not None and route.resource.canonical.startswith(("/api/", "/health")):
            cors.add(route)
