"""``POST /api/backtest``: answered as one JSON document, streamed as Server-Sent Events, or as CSV."""

from __future__ import annotations

from aiohttp import web

from orchestrator.backtest.calls import CallTracker
from orchestrator.errors import InvalidRequest
from orchestrator.schemas.requests import parse_backtest
from orchestrator.web.csv_export import csv_response, table_of, wants_csv
from orchestrator.web.event_stream import stream_backtest, wants_event_stream
from orchestrator.web.json_http import dump, json_response, read_json
from orchestrator.web.keys import ADMISSION, BACKTESTER, SETTINGS
from orchestrator.web.middlewares import LOG_FIELDS, REQUEST_ID
from orchestrator.web.trace_context import TRACE

routes = web.RouteTableDef()

#: The tables a backtest exports as CSV, the default first.
BACKTEST_TABLES = ("time_series", "trades")
#: A caller may give the backtest less time than the configured deadline, in milliseconds.
TIMEOUT_HEADER = "X-Request-Timeout-Ms"


@routes.post("/api/backtest")
async def post_backtest(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    budget_s = requested_budget_s(request)
    table = table_of(request, BACKTEST_TABLES) if wants_csv(request) else None
    document = await read_json(request, settings.edge, settings.request_limits)
    backtest = parse_backtest(document, settings.request_limits)
    backtester, tracker = request.app[BACKTESTER], CallTracker()
    context = backtester.context(request[REQUEST_ID], budget_s, trace=request[TRACE])
    request[LOG_FIELDS].update(
        event="backtest",
        ticker=backtest.market_params.ticker,
        strategy=backtest.strategy_params.strategy_type,
        calls_ms=tracker.durations_ms,
    )
    graph = request.app[ADMISSION].abortable(backtester.graph(backtest, tracker, context))
    try:
        if table is not None:
            return csv_response(await graph, table, f"backtest-{backtest.market_params.ticker}")
        if wants_event_stream(request):
            return await stream_backtest(request, graph, tracker)
        # Awaiting subscribes; if this handler is cancelled (the client left) the graph is disposed.
        return json_response(dump(await graph))
    finally:
        request[LOG_FIELDS].update(context.stats.log_fields())


def requested_budget_s(request: web.Request) -> float | None:
    """The caller's own deadline from ``X-Request-Timeout-Ms``, if it sent one."""
    given = request.headers.get(TIMEOUT_HEADER)
    if given is None:
        return None
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses (a 500), and "٣", which it reads.
    if not (given.strip().isascii() and given.strip().isdigit()) or int(given) <= 0:
        raise InvalidRequest(
            f"{TIMEOUT_HEADER} must be a whole number of milliseconds above 0",
            {"errors": [{"field": f"header {TIMEOUT_HEADER}", "message": "not a positive integer"}]},
        )
    return int(given) / 1000
