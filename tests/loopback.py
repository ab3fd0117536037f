"""Fake services on a real loopback server: docs/contract.md answers, with delays, and a log of what ran."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from aiohttp import web

from tests import fakes


@dataclass
class CallLog:
    """When each call to the fake services started, ended or was cancelled (seconds, monotonic)."""

    started: dict[str, list[float]] = field(default_factory=dict)
    ended: dict[str, list[float]] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)
    cancelled_event: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self, book: dict[str, list[float]], key: str) -> None:
        book.setdefault(key, []).append(time.monotonic())


def fake_services(
    delays: dict[str, float] | None = None, log: CallLog | None = None, middlewares: tuple = ()
) -> web.Application:
    """One app answering for all four services; ``delays`` by path (e.g. ``{"/dividends": 0.5}``);
    ``middlewares`` in front (e.g. ``services.chaos``, to misbehave)."""
    delays, log = delays or {}, log or CallLog()

    async def service(request: web.Request) -> web.Response:
        key, payload = request.path, fakes.answer(request.path, await request.json())
        log.note(log.started, key)
        try:
            await asyncio.sleep(delays.get(key, 0))
        except asyncio.CancelledError:
            log.cancelled.append(key)
            log.cancelled_event.set()
            raise
        log.note(log.ended, key)
        return web.json_response(payload)

    async def search(request: web.Request) -> web.Response:
        limit = request.query.get("limit", "10")
        return web.json_response(fakes.ticker_search(request.query.get("q", ""), int(limit)))

    async def health(request: web.Request) -> web.Response:
        await asyncio.sleep(delays.get("/health", 0))
        return web.json_response({"status": "healthy", "service": "fake"})

    app = web.Application(middlewares=middlewares)
    app.add_routes(
        [
            *(web.post(path, service) for path in fakes.SERVICE_PATHS),
            web.get("/tickers/search", search),
            web.get("/health", health),
        ]
    )
    return app
