"""`orchestrator serve` as a real process: a client that leaves cancels the calls in flight."""

from __future__ import annotations

import asyncio
import os
import sys

import aiohttp
import pytest

from orchestrator.cli.platform import free_port
from tests import fakes, sse
from tests.loopback import CallLog, fake_services


@pytest.fixture
async def served(aiohttp_server):
    """A fake set of services in this process, and `orchestrator serve` in another, pointed at them."""
    log = CallLog()
    services = await aiohttp_server(fake_services({"/simulate": 30}, log))
    url = str(services.make_url("")).rstrip("/")
    port = free_port()
    env = {**os.environ, "LOG_LEVEL": "WARNING", "SSE_HEARTBEAT_S": "1"}
    env |= {f"{name}_URL": url for name in ("MARKET_DATA", "STRATEGY", "PORTFOLIO", "METRICS", "TEST_DATA")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "orchestrator", "serve", "--host", "127.0.0.1", "--port", str(port), env=env
    )
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.get(f"{base}/health") as answer:
                    if answer.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        yield base, log, process
    if process.returncode is None:
        process.terminate()
    assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_disconnect_mid_request_cancels_downstream_calls(served):
    base, log, _ = served
    async with aiohttp.ClientSession() as session:
        with pytest.raises(asyncio.TimeoutError):
            await session.post(
                f"{base}/api/backtest", json=fakes.backtest_request(), timeout=aiohttp.ClientTimeout(total=1)
            )
    await asyncio.wait_for(log.cancelled_event.wait(), 5)
    await asyncio.sleep(0.2)
    assert sorted(log.cancelled) == ["/simulate", "/simulate"]


async def test_disconnect_mid_stream_cancels_downstream_calls(served):
    base, log, _ = served
    async with aiohttp.ClientSession() as session:
        answer = await session.post(
            f"{base}/api/backtest", json=fakes.backtest_request(), headers={"Accept": "text/event-stream"}
        )
        async for line in answer.content:
            if b"simulate.baseline" in line:
                break
        answer.close()
    await asyncio.wait_for(log.cancelled_event.wait(), 5)
    await asyncio.sleep(0.2)
    assert sorted(log.cancelled) == ["/simulate", "/simulate"]


async def test_sigterm_ends_open_streams_with_an_error_event(served):
    base, _, process = served
    async with aiohttp.ClientSession() as session:
        answer = await session.post(
            f"{base}/api/backtest", json=fakes.backtest_request(), headers={"Accept": "text/event-stream"}
        )
        await answer.content.readline()  # the stream is open
        process.terminate()
        rest = await asyncio.wait_for(answer.content.read(), 10)
    events = sse.parse(rest.decode())
    assert events[-1].event == "error"
    assert events[-1].json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert await asyncio.wait_for(process.wait(), 10) == 0
