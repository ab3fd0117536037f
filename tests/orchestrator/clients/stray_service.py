"""A market-data service on a raw loopback socket that answers every request for the ticker asked
and then, ``stray_s`` later, writes a second complete answer nobody asked for (the prices of ticker
POISON) on the same kept-alive connection. Raw ``asyncio.start_server``, so that it can misbehave
where a web framework would not let it."""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

import orjson

import fakes

POISON, POISON_PRICE = "POISON", 666.0


def price_of(ticker: str) -> float:
    """Every price of ``ticker``'s bars: its own, so that an answer shows whose data it carries."""
    return 100.0 + zlib.crc32(ticker.encode()) % 500


def prices(ticker: str, price: float | None = None) -> dict[str, Any]:
    """The ``/prices`` answer for ``ticker``: the fakes' days, every price ``price_of(ticker)``, and
    ``metadata.asked`` naming the ticker (an answer passes it on as ``data_source.asked``)."""
    price = price_of(ticker) if price is None else price
    bars = [{"date": day, "close": price, "adjusted_close": price} for day in fakes.DATES]
    metadata = {"provider": "stray", "asked": ticker}
    return fakes.envelope({"ticker": ticker, "frequency": "daily", "prices": bars, "metadata": metadata})


def answer_of(path: str, body: dict[str, Any]) -> dict[str, Any]:
    if path == "/prices":
        return prices(body["ticker"])
    if path == "/dividends":
        return {**fakes.dividends(), "data": {**fakes.dividends()["data"], "ticker": body["ticker"]}}
    return {"status": "healthy", "service": "stray"}


def http_answer(document: Any) -> bytes:
    body = orjson.dumps(document)
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    return head + body


class StrayService:
    """``url`` once started; counts the connections it accepted, the requests it answered, the
    strays it wrote and the connections the client closed (``hung_up`` is set at each)."""

    def __init__(self, stray_s: float | None = 0.05, stray: bytes | None = None) -> None:
        self.stray_s = stray_s
        self.stray = http_answer(prices(POISON, POISON_PRICE)) if stray is None else stray
        self.connections = self.requests = self.strays = self.closed_by_client = 0
        self.url = ""
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.hung_up = asyncio.Event()

    async def start(self) -> StrayService:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._writers:
                writer.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> StrayService:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    self.closed_by_client += 1
                    self.hung_up.set()
                    return
                path, length = _path_and_length(head)
                body = orjson.loads(await reader.readexactly(length)) if length else {}
                writer.write(http_answer(answer_of(path, body)))
                self.requests += 1
                if self.stray_s is not None:
                    loop.call_later(self.stray_s, self._write_stray, writer)
        finally:
            self._writers.discard(writer)
            writer.close()

    def _write_stray(self, writer: asyncio.StreamWriter) -> None:
        if not writer.is_closing():
            writer.write(self.stray)
            self.strays += 1


def _path_and_length(head: bytes) -> tuple[str, int]:
    lines = head.decode("latin-1").split("\r\n")
    target = lines[0].split(" ")[1]
    length = next(
        (int(line.split(":", 1)[1]) for line in lines[1:] if line.lower().startswith("content-length:")), 0
    )
    return target.split("?")[0], length
