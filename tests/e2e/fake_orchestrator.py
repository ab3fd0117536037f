"""A stand-in for the orchestrator's public API, for browser tests of the page alone.

It serves the real page (``orchestrator.routes.page``) and answers ``POST /api/backtest`` with
canned answers chosen by ticker, framing the events by hand in awkward chunks (a frame split
mid-line and between ``\\r`` and ``\\n``, heartbeat comments) so the page's stream reader is tested
on what a network may deliver, not only on what aiohttp-sse happens to send in one piece:

- ``BADREQ``: a 400 JSON ``INVALID_REQUEST`` with ``details.errors``, no stream;
- ``MIDERR``: a few progress events, then an ``error`` event;
- anything else: all seven stages, then a ``result`` event with :func:`result` as its data.

``tests.background.BackgroundServers`` runs it (or the real orchestrator app) on an event loop in
a thread, so the synchronous Playwright API can drive it.
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from fakes import CALLS
from orchestrator.web.routes import page

FACTS = {"market_data.prices": {"prices": 504}, "market_data.dividends": {"dividends": 4}}
VALIDATION_ERRORS = [
    {"field": "portfolio_params.initial_capital", "message": "Input should be greater than 0"},
    {"field": "strategy_params.config.price_change_threshold", "message": "must be between -1 and 0"},
]


def result(points: int = 504) -> dict[str, Any]:
    """A plausible answer: two equity curves over ``points`` weekdays and their summaries."""
    day, dates = date(2020, 1, 2), []
    while len(dates) < points:
        if day.weekday() < 5:
            dates.append(day.isoformat())
        day += timedelta(days=1)
    active = [round(10_000 * (1 + 0.3 * i / points) + 400 * math.sin(i / 25), 2) for i in range(points)]
    baseline = [round(10_000 * (1 + 0.9 * i / points) + 1500 * math.sin(i / 40), 2) for i in range(points)]

    def side(values: list[float], **summary: float) -> dict[str, Any]:
        return {"summary": summary, "time_series": {"dates": dates, "portfolio_value": values}}

    active_side = side(
        active,
        total_return_pct=12.3456,
        annualized_return_pct=5.995,
        final_portfolio_value=12_345.678,
        total_capital_invested=10_000,
        max_drawdown_pct=-20.125,
        volatility_annualized_pct=18.5,
        sharpe_ratio=None,
        total_trades=42,
    )
    active_side["trades"] = []
    return {
        "success": True,
        "data": {
            "metadata": {
                "ticker": "FAKE",
                "start_date": dates[0],
                "end_date": dates[-1],
                "strategy_type": "buy_the_dip",
                "execution_time_ms": 1234,
            },
            "active_strategy": active_side,
            "baseline_strategy": side(
                baseline,
                total_return_pct=95.5,
                annualized_return_pct=39.8,
                final_portfolio_value=19_550,
                total_capital_invested=10_000,
                max_drawdown_pct=-48.2,
                volatility_annualized_pct=60.1,
                sharpe_ratio=0.91,
                total_trades=1,
            ),
            "comparison": {
                "excess_return_pct": -83.1544,
                "excess_sharpe": None,
                "reduced_drawdown_pct": 28.075,
            },
        },
    }


def _frame(event_id: int, event: str, data: Any) -> bytes:
    return f"id: {event_id}\r\nevent: {event}\r\ndata: {json.dumps(data)}\r\n\r\n".encode()


def _progress(stages: list[str], fail: str | None = None) -> list[tuple[str, Any]]:
    events, done = [], 0
    for stage in stages:
        events.append(("progress", {"stage": stage, "state": "started", "done": done, "total": 7}))
        state = "failed" if stage == fail else "done"
        done += state == "done"
        event = {"stage": stage, "state": state, "done": done, "total": 7, "duration_ms": 12.5}
        event |= {"error": "SERVICE_TIMEOUT"} if state == "failed" else {"facts": FACTS.get(stage, {})}
        events.append(("progress", event))
    return events


class FakeOrchestrator:
    """The page and canned ``POST /api/backtest`` answers; ``requests`` are the bodies it was sent."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.url = ""  # where it is served, once it is

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(page.routes)
        app.router.add_post("/api/backtest", self._backtest)
        return app

    async def _backtest(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        ticker = body["market_params"]["ticker"]
        if ticker == "BADREQ":
            error = {"code": "INVALID_REQUEST", "message": "Invalid request: 2 problem(s) found"}
            envelope = {"success": False, "error": error | {"details": {"errors": VALIDATION_ERRORS}}}
            return web.json_response(envelope, status=400)
        if ticker == "MIDERR":
            error = {"code": "SERVICE_TIMEOUT", "message": "The strategy service did not answer in time"}
            events = _progress(list(CALLS[:3]), fail="signals.active")
            events.append(
                ("error", {"success": False, "error": error | {"details": {"service": "strategy"}}})
            )
        else:
            events = [*_progress(list(CALLS)), ("result", result())]
        return await self._stream(request, events)

    async def _stream(self, request: web.Request, events: list[tuple[str, Any]]) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        await response.write(b": heartbeat\r\n\r\n")
        for event_id, (event, data) in enumerate(events, start=1):
            frame = _frame(event_id, event, data)
            # Cut inside the data line, then right between a "\r" and its "\n".
            cut = frame.index(b"data: ") + 9
            crlf = frame.index(b"\r\n", cut) + 1
            for piece in (frame[:cut], frame[cut:crlf], frame[crlf:]):
                await response.write(piece)
                await asyncio.sleep(0.01)
        await response.write_eof()
        return response
