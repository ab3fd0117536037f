"""The processes a benchmark runs and what it reads of them: started, waited on, stopped, and their
CPU time and memory from ``/proc`` (the operating system's own accounting of each process)."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web


@contextmanager
def process(
    args: list[str], env: dict[str, str] | None = None, log_to: str | None = None, files: int | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``python args...``, stopped with SIGTERM (then killed) when the block ends; ``files``: its
    limit on open files (soft and hard, so it cannot raise its own)."""
    out = open(log_to, "wb") if log_to else subprocess.DEVNULL  # noqa: SIM115 - closed below
    limit = None if files is None else functools.partial(_limit_files, files)
    child = subprocess.Popen(
        [sys.executable, *args], env={**os.environ, **(env or {})}, stdout=out, preexec_fn=limit
    )
    try:
        yield child
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
        if log_to:
            out.close()


def _limit_files(files: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))


async def wait_healthy(url: str, timeout_s: float = 30, expect: int = 200) -> None:
    """Until ``GET url/health`` answers ``expect``."""
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url + "/health") as answer:
                    if answer.status == expect:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} never became healthy")


def json_lines(path: str) -> list[dict[str, Any]]:
    """The JSON log lines a process wrote (its other output, such as aiohttp's banner, left out)."""
    return [orjson.loads(line) for line in Path(path).read_bytes().splitlines() if line.startswith(b"{")]


def cpu_s(pid: int) -> float:
    """CPU seconds a process has used (user and system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """A process's resident memory now, in MB."""
    return _status_kb(pid, "VmRSS:") / 1024


def peak_rss_mb(pid: int) -> float:
    """The most resident memory a process has held since it started, in MB."""
    return _status_kb(pid, "VmHWM:") / 1024


def _status_kb(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith(field))


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app``, made by ``create_app``, on a free loopback port as ``orchestrator serve`` does
    (``web/server.py``'s runner); yield its base URL."""
    from orchestrator.web import server

    runner = server.runner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
