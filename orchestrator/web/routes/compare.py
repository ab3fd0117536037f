"""``POST /api/compare``: strategies side by side on one market, as JSON or as a stream."""

from __future__ import annotations

from aiohttp import web

from orchestrator.backtest.calls import CallTracker
from orchestrator.research.compare import compare_graph, plan_compare
from orchestrator.web.event_stream import stream_backtest, wants_event_stream
from orchestrator.web.json_http import dump, json_response, read_json
from orchestrator.web.keys import ADMISSION, BACKTESTER, SETTINGS
from orchestrator.web.middlewares import LOG_FIELDS, REQUEST_ID
from orchestrator.web.routes.backtest import requested_budget_s
from orchestrator.web.trace_context import TRACE

routes = web.RouteTableDef()


@routes.post("/api/compare")
async def post_compare(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    budget_s = requested_budget_s(request)
    document = await read_json(request, settings.edge, settings.request_limits)
    planned = plan_compare(document, settings.request_limits, settings.compare.max_strategies)
    backtester, tracker = request.app[BACKTESTER], CallTracker()
    context = backtester.context(request[REQUEST_ID], budget_s, trace=request[TRACE])
    request[LOG_FIELDS].update(
        event="compare",
        ticker=planned[0][1].market_params.ticker,
        strategies=len(planned),
        calls_ms=tracker.durations_ms,
    )
    graph = request.app[ADMISSION].abortable(compare_graph(backtester, planned, tracker, context))
    try:
        if wants_event_stream(request):
            return await stream_backtest(request, graph, tracker)
        return json_response(dump(await graph))
    finally:
        request[LOG_FIELDS].update(context.stats.log_fields())
