"""``POST /api/backtest``: answered as one JSON document, or streamed as Server-Sent Events."""

from __future__ import annotations

from aiohttp import web

from orchestrator.backtest.calls import CallTracker
from orchestrator.schemas.requests import parse_backtest
from orchestrator.web.event_stream import stream_backtest, wants_event_stream
from orchestrator.web.json_http import dump, json_response, read_json
from orchestrator.web.keys import BACKTESTER
from orchestrator.web.middlewares import LOG_FIELDS, REQUEST_ID

routes = web.RouteTableDef()


@routes.post("/api/backtest")
async def post_backtest(request: web.Request) -> web.StreamResponse:
    backtest = parse_backtest(await read_json(request))
    tracker = CallTracker()
    request[LOG_FIELDS].update(
        event="backtest",
        ticker=backtest.market_params.ticker,
        strategy=backtest.strategy_params.strategy_type,
        calls_ms=tracker.durations_ms,
    )
    graph = request.app[BACKTESTER].graph(backtest, tracker, request[REQUEST_ID])
    if wants_event_stream(request):
        return await stream_backtest(request, graph, tracker)
    # Awaiting subscribes; if this handler is cancelled (the client left) the graph is disposed.
    return json_response(dump(await graph))
