"""The endpoints: ``POST /api/backtest``, ``GET /api/health`` and ``GET /health``."""

from __future__ import annotations

import asyncio

from aiohttp import web

from orchestrator.keys import SERVICES, SETTINGS
from orchestrator.middlewares import LOG_FIELDS, REQUEST_ID
from orchestrator.pipeline import backtest_graph
from orchestrator.schemas.requests import parse_backtest
from orchestrator.stages import StageTracker
from orchestrator.streaming import stream_backtest, wants_event_stream
from orchestrator.wire import dump, json_response, read_json

routes = web.RouteTableDef()

HEALTH_CHECKED = ("market_data", "strategy", "portfolio", "metrics")


@routes.post("/api/backtest")
async def post_backtest(request: web.Request) -> web.StreamResponse:
    backtest = parse_backtest(await read_json(request))
    tracker = StageTracker()
    request[LOG_FIELDS].update(
        event="backtest",
        ticker=backtest.market_params.ticker,
        strategy=backtest.strategy_params.strategy_type,
        calls_ms=tracker.durations_ms,
    )
    graph = backtest_graph(backtest, request.app[SERVICES], tracker, request[REQUEST_ID])
    if wants_event_stream(request):
        return await stream_backtest(request, graph, tracker)
    # Awaiting subscribes; if this handler is cancelled (the client left) the graph is disposed.
    return json_response(dump(await graph))


@routes.get("/api/health")
async def get_api_health(request: web.Request) -> web.Response:
    services, timeout_s = request.app[SERVICES], request.app[SETTINGS].health_timeout_s
    clients = [getattr(services, name).service for name in HEALTH_CHECKED]
    states = await asyncio.gather(*(client.health(timeout_s) for client in clients))
    report = dict(zip(HEALTH_CHECKED, states, strict=True))
    healthy = all(state == "healthy" for state in states)
    return json_response(
        {"status": "healthy" if healthy else "degraded", "services": report}, status=200 if healthy else 503
    )


@routes.get("/health")
async def get_health(_request: web.Request) -> web.Response:
    """Liveness only: calls nothing."""
    return json_response({"status": "healthy", "service": "orchestrator"})
