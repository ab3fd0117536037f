"""`orchestrator serve --workers 2` as real processes: gunicorn's master and two aiohttp workers.

Which worker served what is read from outside: the master's children in ``/proc``, the sockets each
worker holds, and the ``pid`` that every log line of a worker carries.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

import fakes
from fakes.services import CallLog, fake_services
from orchestrator.cli.platform import LocalPlatform, free_port
from orchestrator.registry import SERVICES
from tests.processes import unfinished_headers
from tests.requests import TQQQ

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc (Linux)")

#: What the master may take beyond the drain's grace to exit: aiohttp's worker notices the signal
#: within a second, then closes its sessions.
EXIT_MARGIN_S = 5.0


def children(pid: int) -> set[int]:
    """The processes whose parent is ``pid``."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (command)"
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def connections(pid: int, port: int) -> int:
    """How many established TCP connections to local ``port`` process ``pid`` holds (has accepted)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            columns = line.split()
            local_port, state, inode = int(columns[1].rsplit(":", 1)[1], 16), columns[3], columns[9]
            if local_port == port and state == "01":  # ESTABLISHED
                inodes.add(f"socket:[{inode}]")
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            held += os.readlink(fd) in inodes
        except OSError:
            continue
    return held


async def until(condition: Callable[[], bool], timeout_s: float, message: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, message
        await asyncio.sleep(0.05)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


@dataclass
class Master:
    """gunicorn's master as a child of the test, the workers' log lines, what the fake services saw."""

    url: str
    port: int
    process: asyncio.subprocess.Process
    calls: CallLog
    lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def workers(self) -> set[int]:
        return children(self.process.pid)

    def backtests_by(self) -> dict[int, int]:
        """How many backtests each worker answered with success, from their canonical lines."""
        counts: dict[int, int] = {}
        for line in self.lines:
            if line.get("event") == "backtest" and line.get("outcome") == "success":
                counts[line["pid"]] = counts.get(line["pid"], 0) + 1
        return counts

    async def read_lines(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            self.lines.append(json.loads(raw))


@pytest.fixture
async def master(aiohttp_server):
    """``master(delays, **env)``: fake services in this process (``delays`` by path), and
    `orchestrator serve --workers 2` pointed at them; the master must exit 0 when it is done."""
    started: list[tuple[Master, asyncio.Task[None]]] = []

    async def start(delays: dict[str, float], **env: str) -> Master:
        calls = CallLog()
        services = await aiohttp_server(fake_services(delays, calls))
        url = str(services.make_url("")).rstrip("/")
        port = free_port()
        wiring = {entry.url_variable: url for entry in SERVICES}
        env = {**os.environ, "LOG_LEVEL": "INFO", "LOG_FORMAT": "json", **env, **wiring}
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "orchestrator", "serve", "--workers", "2"),
            *("--host", "127.0.0.1", "--port", str(port)),
            env=env,
            stdout=asyncio.subprocess.PIPE,
        )
        running = Master(f"http://127.0.0.1:{port}", port, process, calls)
        started.append((running, asyncio.create_task(running.read_lines())))
        async with aiohttp.ClientSession() as session:
            for _ in range(150):
                try:
                    async with session.get(f"{running.url}/health") as answer:
                        if answer.status == 200 and len(running.workers) == 2:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
        assert len(running.workers) == 2, "two workers did not start"
        return running

    yield start
    for running, reader in started:
        if running.process.returncode is None:
            running.process.terminate()
        assert await asyncio.wait_for(running.process.wait(), 15) == 0
        await asyncio.wait_for(reader, 5)


async def backtest(session: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    async with session.post(f"{url}/api/backtest", json=fakes.backtest_request()) as answer:
        return answer.status, await answer.json()


def new_connection_each_time() -> aiohttp.ClientSession:
    """Each request on a connection of its own, so that either worker may accept it."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))


async def backtests_in_both_workers(served: Master, session: aiohttp.ClientSession) -> int:
    """Backtests, 4 at a time, until both workers have answered some (the kernel decides which
    worker accepts a connection); how many were answered."""
    for sent in range(4, 101, 4):
        answers = await asyncio.gather(*(backtest(session, served.url) for _ in range(4)))
        assert [(status, body["success"]) for status, body in answers] == [(200, True)] * 4
        await until(lambda n=sent: sum(served.backtests_by().values()) == n, 5, "a line is missing")
        if len(served.backtests_by()) == 2:
            return sent
    raise AssertionError("one worker answered every backtest")


async def test_two_worker_processes_answer_backtests(master):
    served = await master({"/simulate": 0.2})
    async with new_connection_each_time() as session:
        await backtests_in_both_workers(served, session)
    assert set(served.backtests_by()) == served.workers


async def test_metrics_count_the_backtests_of_every_worker(master):
    served = await master({"/simulate": 0.2})
    async with new_connection_each_time() as session:
        answered = await backtests_in_both_workers(served, session)
        for _ in range(4):  # whichever worker answers /metrics
            async with session.get(f"{served.url}/metrics") as answer:
                exposition = await answer.text()
            requests = {
                sample.labels["route"]: sample.value
                for family in text_string_to_metric_families(exposition)
                for sample in family.samples
                if sample.name == "orchestrator_http_requests_total" and sample.labels["status"] == "200"
            }
            assert requests["/api/backtest"] == answered


async def test_the_build_is_one_series_whichever_worker_answers(master):
    """``orchestrator_build_info`` combines the workers' (livemax): one series, never one per worker."""
    served = await master({}, GIT_COMMIT="0123abc")
    async with new_connection_each_time() as session:
        for _ in range(4):  # whichever worker answers /metrics
            async with session.get(f"{served.url}/metrics") as answer:
                exposition = await answer.text()
            builds = [
                (sample.labels, sample.value)
                for family in text_string_to_metric_families(exposition)
                for sample in family.samples
                if sample.name == "orchestrator_build_info"
            ]
            assert [(labels["commit"], value) for labels, value in builds] == [("0123abc", 1.0)]


def test_workers_serve_a_backtest_on_the_reference_services():
    platform = LocalPlatform.on_free_ports(env={"WORKERS": "2", "LOG_LEVEL": "WARNING"})
    platform.start()
    orchestrator = platform.processes["orchestrator"]
    try:
        deadline = time.monotonic() + 5  # /health answered: one worker is up, the other on its way
        while len(children(orchestrator.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(children(orchestrator.pid)) == 2
        request = urllib.request.Request(
            f"{platform.url}/api/backtest",
            data=json.dumps(TQQQ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=15) as answer:
            assert answer.status == 200
            body = json.load(answer)
    finally:
        platform.stop()
    assert body["success"] is True
    assert body["data"]["metadata"]["ticker"] == "TQQQ"
    assert body["data"]["active_strategy"]["summary"]["total_trades"] > 0
    assert orchestrator.returncode == 0


async def test_sigterm_lets_backtests_in_flight_in_each_worker_finish(master):
    # No cache: backtests in flight in one worker would share their baseline's simulation.
    served = await master({"/simulate": 4.0}, DRAIN__GRACE_S="10", CACHE__ENABLED="false")
    workers = served.workers
    async with new_connection_each_time() as session:
        in_flight: list[asyncio.Task[tuple[int, dict[str, Any]]]] = []
        while not all(connections(pid, served.port) for pid in workers):  # one more, until both hold one
            assert len(in_flight) < 16, "every connection went to one worker"
            in_flight.append(asyncio.create_task(backtest(session, served.url)))
            await until(
                lambda: sum(connections(pid, served.port) for pid in workers) == len(in_flight),
                5,
                "a connection was not accepted",
            )
        await until(
            lambda: len(served.calls.started.get("/simulate", [])) == 2 * len(in_flight),
            5,
            "the backtests did not reach their simulations",
        )
        began = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        await until(lambda: refused(served.port), 3, "new connections are still accepted")
        assert not any(task.done() for task in in_flight)  # refused while they were still running
        answers = await asyncio.wait_for(asyncio.gather(*in_flight), 10)
    assert [(status, body["success"]) for status, body in answers] == [(200, True)] * len(in_flight)
    assert await asyncio.wait_for(served.process.wait(), 10 + EXIT_MARGIN_S) == 0
    assert time.monotonic() - began < 10 + EXIT_MARGIN_S
    await asyncio.sleep(0.1)  # the last lines
    assert set(served.backtests_by()) == workers


async def test_sigterm_past_the_grace_answers_503_draining_and_the_master_exits_0(master):
    grace_s = 0.5
    served = await master({"/simulate": 30}, DRAIN__GRACE_S=str(grace_s))
    async with new_connection_each_time() as session:
        answer = asyncio.create_task(backtest(session, served.url))
        await until(lambda: len(served.calls.started.get("/simulate", [])) == 2, 5, "no simulation started")
        began = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        status, body = await asyncio.wait_for(answer, grace_s + EXIT_MARGIN_S)
    assert (status, body["error"]["code"], body["error"]["details"]["draining"]) == (
        503,
        "SERVICE_UNAVAILABLE",
        True,
    )
    assert await asyncio.wait_for(served.process.wait(), grace_s + EXIT_MARGIN_S) == 0
    assert time.monotonic() - began < grace_s + EXIT_MARGIN_S


async def test_each_worker_is_the_orchestrator_s_own_server_with_the_edge_s_settings(master):
    """The header deadline of the settings, answered in the envelope, by whichever worker accepts."""
    served = await master({}, EDGE__HEADER_TIMEOUT_S="0.5")
    began = time.monotonic()
    answers = await asyncio.gather(*(unfinished_headers(served.port) for _ in range(8)))
    assert time.monotonic() - began < 3  # 0.5 s, not the default 10 s
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b'"code":"REQUEST_TIMEOUT"' in answer
