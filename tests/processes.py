"""The orchestrator as a process of its own, for tests that run `orchestrator serve` for real."""

from __future__ import annotations

import asyncio

import aiohttp


async def until_serving(base: str, attempts: int = 100) -> None:
    """Until ``GET base/health`` answers 200 (a tenth of a second between tries)."""
    async with aiohttp.ClientSession() as session:
        for _ in range(attempts):
            try:
                async with session.get(f"{base}/health") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{base} never answered /health")


async def unfinished_headers(port: int, wait_s: float = 5.0) -> bytes:
    """What ``127.0.0.1:port`` answers a connection that sends half a request's headers and then
    nothing, before it closes the connection (or ``wait_s`` passes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    try:
        return await asyncio.wait_for(reader.read(), wait_s)
    finally:
        writer.close()
