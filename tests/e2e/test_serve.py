"""`orchestrator serve` as a real process: a client that leaves cancels the calls in flight; the
edge's connection handler serves it; SIGINT and SIGTERM stop it with exit status 0."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import aiohttp
import pytest

import fakes
from fakes.services import CallLog, fake_services
from orchestrator.cli.platform import free_port
from orchestrator.client import sse
from orchestrator.registry import SERVICES
from tests.processes import unfinished_headers, until_serving


@pytest.fixture
async def serve(aiohttp_server):
    """``serve(delays, **env)``: fake services in this process (``delays`` by path), and
    `orchestrator serve` in another, pointed at them; each process must exit 0 when it is done."""
    processes = []

    async def start(delays: dict[str, float], **env: str):
        log = CallLog()
        services = await aiohttp_server(fake_services(delays, log))
        url = str(services.make_url("")).rstrip("/")
        port = free_port()
        env = {**os.environ, "LOG_LEVEL": "WARNING", "SSE_HEARTBEAT_S": "1", **env}
        env |= {entry.url_variable: url for entry in SERVICES}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "orchestrator", "serve", "--host", "127.0.0.1", "--port", str(port), env=env
        )
        processes.append(process)
        base = f"http://127.0.0.1:{port}"
        await until_serving(base)
        return base, log, process

    yield start
    for process in processes:
        if process.returncode is None:
            process.terminate()
        assert await asyncio.wait_for(process.wait(), 10) == 0


@pytest.fixture
async def served(serve):
    """A backtest whose simulations stall for 30 s; a drain grace of 1 s."""
    return await serve({"/simulate": 30}, DRAIN__GRACE_S="1")


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
        async for _line in answer.content:  # until both simulations have reached the service
            if len(log.started.get("/simulate", [])) == 2:
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
    error = events[-1].json()["error"]
    assert (error["code"], error["details"]["draining"]) == ("SERVICE_UNAVAILABLE", True)
    assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_sigterm_lets_a_backtest_in_flight_finish_within_the_grace(serve):
    base, _, process = await serve({"/simulate": 1.0}, DRAIN__GRACE_S="10")
    async with aiohttp.ClientSession() as session:
        answer = asyncio.create_task(session.post(f"{base}/api/backtest", json=fakes.backtest_request()))
        await asyncio.sleep(0.5)  # in flight: both simulations are running
        process.terminate()
        response = await asyncio.wait_for(answer, 10)
        assert response.status == 200
        assert (await response.json())["success"] is True
    assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_sigterm_cuts_a_json_backtest_short_after_the_grace_with_503(serve):
    base, _, process = await serve({"/simulate": 30}, DRAIN__GRACE_S="0.5")
    async with aiohttp.ClientSession() as session:
        answer = asyncio.create_task(session.post(f"{base}/api/backtest", json=fakes.backtest_request()))
        await asyncio.sleep(0.5)
        process.terminate()
        response = await asyncio.wait_for(answer, 10)
        error = (await response.json())["error"]
        assert (response.status, error["code"], error["details"]["draining"]) == (
            503,
            "SERVICE_UNAVAILABLE",
            True,
        )
        assert response.headers["Retry-After"] == "1"
    assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_headers_that_never_finish_are_answered_408_in_the_envelope(serve):
    base, _, _ = await serve({}, EDGE__HEADER_TIMEOUT_S="0.5")
    answer = await unfinished_headers(int(base.rsplit(":", 1)[1]))
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"code":"REQUEST_TIMEOUT"' in answer


async def test_it_says_where_it_serves_on_stderr_and_sigint_stops_it(aiohttp_server):
    services = await aiohttp_server(fake_services())
    url = str(services.make_url("")).rstrip("/")
    port = free_port()
    env = {**os.environ, "LOG_LEVEL": "WARNING", **{entry.url_variable: url for entry in SERVICES}}
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "orchestrator", "serve", "--host", "127.0.0.1", "--port", str(port)),
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    banner = await asyncio.wait_for(process.stderr.readline(), 30)
    assert banner.decode().strip() == f"======== Running on http://127.0.0.1:{port} ========"
    assert (await process.stderr.readline()).decode().strip() == "(Press CTRL+C to quit)"
    await until_serving(f"http://127.0.0.1:{port}")
    process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(process.wait(), 10) == 0
