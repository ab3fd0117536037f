"""``GET /api/tickers/search?q=&limit=``: ticker suggestions from the market-data service, as one types.

A search is cheap and reads only, so it is not admitted as a backtest is (``web/admission.py``
guards the POST routes that run them): it takes no slot and is not refused for overload, like
``/api/health``. It is one call of the market-data client, under that service's policy (its
timeout, retries, breaker and bulkhead, errors mapped as for any call), within
:data:`SEARCH_BUDGET_S`. With the call cache on, identical searches within
``CACHE__RECENT_TTL_S`` make one call; browsers may keep an answer :data:`MAX_AGE_S` seconds.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from orchestrator.schemas.downstream import TickerMatch
from orchestrator.schemas.tickers import parse_ticker_search
from orchestrator.web.json_http import json_response
from orchestrator.web.keys import BACKTESTER
from orchestrator.web.middlewares import LOG_FIELDS, REQUEST_ID
from orchestrator.web.trace_context import TRACE

routes = web.RouteTableDef()

#: A suggestion later than this is no use to anyone typing: the whole search, retries included.
SEARCH_BUDGET_S = 5.0
MAX_AGE_S = 60


@routes.get("/api/tickers/search")
async def get_ticker_search(request: web.Request) -> web.Response:
    search = parse_ticker_search(request.query)
    backtester = request.app[BACKTESTER]
    context = backtester.context(request[REQUEST_ID], SEARCH_BUDGET_S, trace=request[TRACE])
    request[LOG_FIELDS].update(event="ticker_search", query=search.query, limit=search.limit)
    call = backtester.cache.serve(
        ("tickers", search.query.casefold(), search.limit),
        None,  # no range: kept as long as one that reaches today (CACHE__RECENT_TTL_S)
        backtester.downstream.market_data.search(search.query, search.limit, context),
        size_of=lambda matches: 200 * (1 + len(matches)),
        name="tickers",
        stats=context.stats,
        on_shared=_nothing,
    )
    try:
        matches: list[TickerMatch] = (await call)[: search.limit]
    finally:
        request[LOG_FIELDS].update(context.stats.log_fields())
    request[LOG_FIELDS]["results"] = len(matches)
    results = [{"symbol": m.symbol, "name": m.name, "kind": m.kind, "exchange": m.exchange} for m in matches]
    response = json_response({"success": True, "data": {"query": search.query, "results": results}})
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE_S}"
    return response


def _nothing(*_: Any) -> None:
    """A backtest's progress is told of what the cache served; a search has no progress."""
