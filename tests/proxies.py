"""A TCP proxy on loopback that cuts connections mid-answer: how the tests drop a job's event
stream under a client, between it and a real orchestrator."""

from __future__ import annotations

import asyncio
import contextlib

from yarl import URL


class CuttingProxy:
    """A TCP proxy to ``upstream`` that cuts its first ``cuts`` answers holding events in the middle
    of their third ``result`` event, and notes every request it passed on."""

    def __init__(self, upstream: URL, cuts: int) -> None:
        self.upstream, self.cuts = upstream, cuts
        self.requests: list[bytes] = []
        self.cut = 0

    def events_requests(self) -> list[bytes]:
        return [request for request in self.requests if b"/events" in request.split(b"\r\n", 1)[0]]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):  # a side that went away ends its connection
            await self._proxy(reader, writer)

    async def _proxy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.upstream.host, self.upstream.port)
        upward = asyncio.create_task(self._pass_requests(reader, up_writer))
        answer = b""
        try:
            while chunk := await up_reader.read(65536):
                answer += chunk
                if self.cut < self.cuts and answer.count(b"event: result") >= 3:
                    at = -1
                    for _ in range(3):
                        at = answer.index(b"event: result", at + 1)
                    writer.write(chunk[: len(chunk) - (len(answer) - at - 20)])  # 20 bytes into it
                    await writer.drain()
                    self.cut += 1
                    writer.transport.abort()
                    return
                writer.write(chunk)
                await writer.drain()
        finally:
            upward.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await upward
            up_writer.close()
            writer.close()

    async def _pass_requests(self, reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
        while request := await reader.read(65536):
            self.requests.append(request)
            up_writer.write(request)
            await up_writer.drain()
