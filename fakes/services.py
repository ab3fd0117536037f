"""The four services as one aiohttp app on a real server: the tests' small answers or the benchmarks'
realistic ones, with delays, a log of what ran, and middlewares in front to misbehave."""

from __future__ import annotations

import asyncio
import json
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

import fakes

#: What answers a call to a fake service: the request's path and raw body, to the answer's bytes.
Answerer = Callable[[str, bytes], bytes]
#: Bodies as large as a long backtest's simulations (aiohttp's default allows 1 MB).
MAX_BODY = 64 * 1024 * 1024


def small_answers(path: str, body: bytes) -> bytes:
    """What the small fakes (``fakes/__init__.py``) answer, to the body asked."""
    return json.dumps(fakes.answer(path, json.loads(body or b"{}"))).encode()


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
    delays: dict[str, float] | None = None,
    log: CallLog | None = None,
    middlewares: tuple[Any, ...] = (),
    answers: Answerer = small_answers,
) -> web.Application:
    """One app answering for all four services with ``answers``; ``delays`` by path (e.g.
    ``{"/dividends": 0.5}``); what ran in ``log``, if given; ``middlewares`` in front (e.g.
    ``services.chaos``, to misbehave)."""
    delays = delays or {}

    async def service(request: web.Request) -> web.Response:
        key, body = request.path, answers(request.path, await request.read())
        if log is not None:
            log.note(log.started, key)
        try:
            await asyncio.sleep(delays.get(key, 0))
        except asyncio.CancelledError:
            if log is not None:
                log.cancelled.append(key)
                log.cancelled_event.set()
            raise
        if log is not None:
            log.note(log.ended, key)
        return web.Response(body=body, content_type="application/json")

    async def search(request: web.Request) -> web.Response:
        limit = request.query.get("limit", "10")
        return web.json_response(fakes.ticker_search(request.query.get("q", ""), int(limit)))

    async def health(request: web.Request) -> web.Response:
        await asyncio.sleep(delays.get("/health", 0))
        return web.json_response({"status": "healthy", "service": "fake"})

    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY)
    app.add_routes(
        [
            *(web.post(path, service) for path in fakes.SERVICE_PATHS),
            web.get("/tickers/search", search),
            web.get("/health", health),
        ]
    )
    return app


def gzip_bomb(inflated_mib: int) -> bytes:
    """A gzip body of about 1 KB per MiB that inflates to ``inflated_mib`` MiB of spaces: one
    compressed MiB, flushed so that it stands alone, repeated (made in a tenth of a second, where
    compressing the whole takes seconds)."""
    mib = b" " * (1024 * 1024)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = deflate.compress(mib) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(inflated_mib):
        crc = zlib.crc32(mib, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip, deflate, no name, no time
    trailer = struct.pack("<II", crc, (inflated_mib * len(mib)) & 0xFFFFFFFF)
    return header + block * inflated_mib + deflate.flush() + trailer
