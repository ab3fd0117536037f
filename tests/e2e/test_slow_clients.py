"""Slow clients against `orchestrator serve` as a real process, with the file limit many pods start with.

One address opens 1,100 connections and leaves each with half a request: more than the process may
open files (1,024). Other addresses must still be served (``/health`` and backtests) all the while:
the connections past the address's cap are answered or closed within a second (at once when the
process runs short of descriptors), and those under it are closed by the header timeout.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys

import aiohttp
import pytest

import fakes
from fakes.services import fake_services
from orchestrator.cli.platform import free_port
from orchestrator.registry import SERVICES
from tests.processes import until_serving

FILE_LIMIT = 1024
ATTACKERS = 1100
#: Where the others connect from: another address of the loopback network.
OTHER = "127.0.0.2"
HALF_A_REQUEST = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: "


def limited_files() -> None:
    """In the child, before `orchestrator serve` starts: soft and hard limits at 1,024 (so it
    cannot raise its own)."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))


@pytest.fixture
async def orchestrator(aiohttp_server, tmp_path):
    services = await aiohttp_server(fake_services())
    url = str(services.make_url("")).rstrip("/")
    port = free_port()
    env = {**os.environ, "LOG_LEVEL": "WARNING", **{entry.url_variable: url for entry in SERVICES}}
    errors = tmp_path / "stderr.txt"
    with errors.open("wb") as stderr:  # a file, not a pipe: a pipe nobody reads would stall the child
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "orchestrator", "serve", "--host", "127.0.0.1", "--port", str(port)),
            env=env,
            preexec_fn=limited_files,
            stderr=stderr,
        )
    base = f"http://127.0.0.1:{port}"
    await until_serving(base)
    yield base, port, errors
    process.terminate()
    await asyncio.wait_for(process.wait(), 30)


@pytest.fixture
def enough_files_here() -> None:
    """This process holds the 1,100 connections: its own soft limit raised to its hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard >= ATTACKERS + 200, f"this test needs {ATTACKERS + 200} open files; the hard limit is {hard}"
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def half_sent(port: int) -> asyncio.StreamWriter | None:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return None
    writer.write(HALF_A_REQUEST)
    return writer


async def served_elsewhere(base: str) -> tuple[int, int]:
    """From another address: ``/health``, then a backtest; their statuses."""
    connector = aiohttp.TCPConnector(local_addr=(OTHER, 0), force_close=True)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async with session.get(f"{base}/health") as health:
            await health.read()
        async with session.post(f"{base}/api/backtest", json=fakes.backtest_request()) as backtest:
            await backtest.read()
    return health.status, backtest.status


@pytest.mark.usefixtures("enough_files_here")
async def test_a_thousand_half_sent_connections_from_one_address_do_not_stop_the_others(orchestrator):
    base, port, errors = orchestrator
    writers = await asyncio.gather(*(half_sent(port) for _ in range(ATTACKERS)))
    try:
        assert await served_elsewhere(base) == (200, 200)  # while every one of them is open here
        await asyncio.sleep(1.5)  # past the short deadline of those over the cap
        assert await served_elsewhere(base) == (200, 200)
    finally:
        for writer in writers:
            if writer is not None:
                writer.close()
    said = errors.read_text()  # no accept() or connect() failed for want of a descriptor
    assert "Too many open files" not in said and "out of system resource" not in said
