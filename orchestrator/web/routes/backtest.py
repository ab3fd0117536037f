"""``POST /api/backtest`` and ``POST /api/compare``: one graph of backtests, answered alike.

A backtest is one graph; a comparison is several backtests over one market, joined into one
document. Both take the caller's ``X-Request-Timeout-Ms``, run under admission, and answer as one
JSON document or as Server-Sent Events (the calls' progress, then the answer); a backtest also as
CSV. Each route only plans its run (:class:`Run`: what it logs and which graph it builds); the
one handler path, :func:`answer_run`, does the rest, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from reactivex import Observable

from orchestrator.backtest.calls import CallTracker
from orchestrator.backtest.graph import Backtester
from orchestrator.clients.context import CallContext
from orchestrator.errors import InvalidRequest
from orchestrator.headers import REQUEST_TIMEOUT_MS
from orchestrator.research.compare import compare_graph, plan_compare
from orchestrator.schemas.requests import parse_backtest
from orchestrator.settings import Settings
from orchestrator.web.csv_export import BACKTEST_TABLES, csv_response, csv_table
from orchestrator.web.event_stream import stream_graph, wants_event_stream
from orchestrator.web.json_http import dump, json_response, read_json
from orchestrator.web.keys import ADMISSION, BACKTESTER, SETTINGS
from orchestrator.web.middlewares import LOG_FIELDS, REQUEST_ID
from orchestrator.web.trace_context import TRACE

routes = web.RouteTableDef()


Graph = Callable[[Backtester, CallTracker, CallContext], Observable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Run:
    """A route's run, planned from its valid body: what its canonical line says, the graph it
    builds, and the name of its CSV file (for a route that answers CSV)."""

    log_fields: dict[str, Any]
    graph: Graph
    filename: str = ""


@routes.post("/api/backtest")
async def post_backtest(request: web.Request) -> web.StreamResponse:
    return await answer_run(request, plan_backtest, BACKTEST_TABLES)


@routes.post("/api/compare")
async def post_compare(request: web.Request) -> web.StreamResponse:
    return await answer_run(request, plan_comparison)


def plan_backtest(document: Any, settings: Settings) -> Run:
    backtest = parse_backtest(document, settings.request_limits)

    def graph(backtester: Backtester, tracker: CallTracker, context: CallContext) -> Observable[Any]:
        return backtester.graph(backtest, tracker, context)

    market, strategy = backtest.market_params, backtest.strategy_params
    fields = {"event": "backtest", "ticker": market.ticker, "strategy": strategy.strategy_type}
    return Run(fields, graph, f"backtest-{market.ticker}")


def plan_comparison(document: Any, settings: Settings) -> Run:
    planned = plan_compare(document, settings.request_limits, settings.compare.max_strategies)

    def graph(backtester: Backtester, tracker: CallTracker, context: CallContext) -> Observable[Any]:
        return compare_graph(backtester, planned, tracker, context)

    ticker = planned[0][1].market_params.ticker
    return Run({"event": "compare", "ticker": ticker, "strategies": len(planned)}, graph)


async def answer_run(
    request: web.Request, plan: Callable[[Any, Settings], Run], tables: tuple[str, ...] = ()
) -> web.StreamResponse:
    """Check the headers and the query, read and plan the body, then run its graph under admission:
    as CSV (when the route has ``tables`` and CSV is asked for), as a stream, or as one document."""
    settings = request.app[SETTINGS]
    budget_s = requested_budget_s(request)
    table = csv_table(request, tables)
    run = plan(await read_json(request, settings.edge, settings.request_limits), settings)
    backtester, tracker = request.app[BACKTESTER], CallTracker()
    context = backtester.context(request[REQUEST_ID], budget_s, trace=request[TRACE])
    request[LOG_FIELDS].update(run.log_fields, calls_ms=tracker.durations_ms)
    graph = request.app[ADMISSION].abortable(run.graph(backtester, tracker, context))
    try:
        if table is not None:
            return csv_response(await graph, table, run.filename)
        if wants_event_stream(request):
            return await stream_graph(request, graph, tracker)
        # Awaiting subscribes; if this handler is cancelled (the client left) the graph is disposed.
        return json_response(dump(await graph))
    finally:
        request[LOG_FIELDS].update(context.stats.log_fields())


def requested_budget_s(request: web.Request) -> float | None:
    """The caller's own deadline from ``X-Request-Timeout-Ms``, if it sent one."""
    given = request.headers.get(REQUEST_TIMEOUT_MS)
    if given is None:
        return None
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses (a 500), and "٣", which it reads.
    if not (given.strip().isascii() and given.strip().isdigit()) or int(given) <= 0:
        raise InvalidRequest(
            f"{REQUEST_TIMEOUT_MS} must be a whole number of milliseconds above 0",
            {"errors": [{"field": f"header {REQUEST_TIMEOUT_MS}", "message": "not a positive integer"}]},
        )
    return int(given) / 1000
