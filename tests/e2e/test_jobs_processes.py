"""Jobs spread over three real orchestrator processes (`orchestrator serve`) sharing a real Redis.

The fake services run in the test's process (``/simulate`` slowed, so that a job lasts long enough
to be interrupted) and log every call; each orchestrator is a child process that the tests kill
(``SIGKILL``), stop (``SIGTERM``) and start again. What a job made is read back through the API of
whichever process is alive: every setting must be in its results, and in its events, exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

import fakes
from fakes.services import CallLog, fake_services
from orchestrator.cli.platform import free_port
from orchestrator.registry import SERVICES
from tests.orchestrator.cache.redis_server import RedisServer, require_binary
from tests.processes import until_serving

THRESHOLD = "strategy_params.config.price_change_threshold"
AMOUNT = "portfolio_params.investment_per_trade"
#: A short visibility timeout, so that a killed worker's shards come back within the test.
VISIBILITY_S = 2.0


def grid(settings: int) -> dict[str, list[Any]]:
    return {THRESHOLD: [-(n + 1) / (settings + 1) for n in range(settings // 2)], AMOUNT: [100, 200]}


@dataclass
class Orchestrator:
    port: int
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Cluster:
    """Three orchestrators (started, killed, restarted at will) on one Redis and one set of services."""

    def __init__(self, redis_url: str, services_url: str, log_dir: Path, **env: str) -> None:
        self.env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "WARNING",
            "JOBS__VISIBILITY_TIMEOUT_S": str(VISIBILITY_S),
            "JOBS__SHARD_SIZE": "5",
            "JOBS__CONCURRENCY": "4",
            **{entry.url_variable: services_url for entry in SERVICES},
            **env,
        }
        self.log_dir = log_dir
        self.nodes = [Orchestrator(free_port()) for _ in range(3)]

    async def start(self, node: Orchestrator) -> None:
        with (self.log_dir / f"orchestrator-{node.port}.log").open("ab") as log:
            node.process = await asyncio.create_subprocess_exec(
                *(
                    sys.executable,
                    "-m",
                    "orchestrator",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(node.port),
                ),
                env=self.env,
                stdout=log,
                stderr=log,
            )
        await until_serving(node.url, attempts=300)

    async def start_all(self) -> None:
        await asyncio.gather(*(self.start(node) for node in self.nodes))

    async def kill(self, node: Orchestrator) -> None:
        assert node.process is not None
        node.process.send_signal(signal.SIGKILL)
        await node.process.wait()

    async def stop(self, node: Orchestrator) -> None:
        assert node.process is not None
        node.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(node.process.wait(), 40) == 0

    async def close(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.returncode is None:
                node.process.kill()
                await node.process.wait()


@pytest.fixture
async def cluster(aiohttp_server: Any, tmp_path: Path) -> AsyncIterator[Any]:
    """``await cluster(delays, **env)``: (the cluster, started, and the services' call log)."""
    redis = RedisServer(require_binary()).start()
    made: list[Cluster] = []

    async def make(delays: dict[str, float], **env: str) -> tuple[Cluster, CallLog]:
        log = CallLog()
        services = await aiohttp_server(fake_services(delays, log))
        running = Cluster(redis.url, str(services.make_url("")).rstrip("/"), tmp_path, **env)
        made.append(running)
        await running.start_all()
        return running, log

    yield make
    for running in made:
        await running.close()
    redis.stop()


async def submit(session: aiohttp.ClientSession, node: Orchestrator, settings: int) -> dict[str, Any]:
    body = {"kind": "sweep", **fakes.backtest_request(), "grid": grid(settings)}
    async with session.post(f"{node.url}/api/jobs", json=body) as response:
        answer = await response.json()
        assert response.status == 202, answer
        return answer["data"]


async def status(session: aiohttp.ClientSession, node: Orchestrator, job: str) -> dict[str, Any]:
    async with session.get(f"{node.url}/api/jobs/{job}") as response:
        return (await response.json())["data"]


async def until_done(
    session: aiohttp.ClientSession, node: Orchestrator, job: str, done: int, timeout_s: float
) -> dict[str, Any]:
    """Until the job has ``done`` settings done (or is over)."""
    async with asyncio.timeout(timeout_s):
        while True:
            found = await status(session, node, job)
            if found["done"] >= done or found["status"] in ("succeeded", "failed", "cancelled"):
                return found
            await asyncio.sleep(0.1)


async def until_over(
    session: aiohttp.ClientSession, node: Orchestrator, job: str, timeout_s: float
) -> dict[str, Any]:
    async with asyncio.timeout(timeout_s):
        while True:
            found = await status(session, node, job)
            if found["status"] in ("succeeded", "failed", "cancelled"):
                return found
            await asyncio.sleep(0.1)


async def every_index(session: aiohttp.ClientSession, node: Orchestrator, job: str) -> list[int]:
    """The index of every row of the job's results, page by page."""
    indices: list[int] = []
    while True:
        async with session.get(
            f"{node.url}/api/jobs/{job}/results?offset={len(indices)}&limit=1000"
        ) as response:
            rows = (await response.json())["data"]["rows"]
        if not rows:
            return indices
        indices += [row["index"] for row in rows]


async def events(
    session: aiohttp.ClientSession,
    node: Orchestrator,
    job: str,
    last: str | None = None,
    results: int | None = None,
) -> list[tuple[str | None, str, Any]]:
    """(id, event, data) from ``node``'s stream, until ``summary`` or ``results`` results."""
    found: list[tuple[str | None, str, Any]] = []
    headers = {} if last is None else {"Last-Event-ID": last}
    async with session.get(f"{node.url}/api/jobs/{job}/events", headers=headers) as response:
        fields: dict[str, str] = {}
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if line:
                name, _, value = line.partition(": ")
                fields[name] = value
                continue
            if "event" in fields:
                found.append((fields.get("id"), fields["event"], orjson.loads(fields["data"])))
                if fields["event"] == "summary" or (
                    results and sum(k == "result" for _, k, _ in found) == results
                ):
                    return found
            fields = {}
    return found


async def test_a_job_survives_the_kill_of_one_of_three_workers_each_setting_once(cluster):
    running, _ = await cluster({"/simulate": 0.03})
    first, doomed, third = running.nodes
    total = 200
    async with aiohttp.ClientSession() as session:
        job = (await submit(session, first, total))["id"]
        await until_done(session, first, job, total // 2, 120)
        await running.kill(doomed)  # halfway, shards in hand
        ended = await until_over(session, third, job, 120 + VISIBILITY_S)
        assert (ended["status"], ended["done"], ended["failed"]) == ("succeeded", total, 0)
        indices = await every_index(session, first, job)
        assert sorted(indices) == list(range(total))  # every setting, once
        stream = await events(session, third, job)
    results = [data["index"] for _, kind, data in stream if kind == "result"]
    assert sorted(results) == list(range(total))
    assert stream[-1][1] == "summary" and stream[-1][2]["status"] == "succeeded"


async def test_a_job_resumes_when_every_process_is_restarted_with_redis_kept(cluster):
    running, _ = await cluster({"/simulate": 0.03})
    total = 150
    async with aiohttp.ClientSession() as session:
        job = (await submit(session, running.nodes[0], total))["id"]
        halfway = await until_done(session, running.nodes[1], job, total // 2, 120)
        assert halfway["status"] == "running"
        await asyncio.gather(*(running.stop(node) for node in running.nodes))  # each hands its shards back
        await running.start_all()
        ended = await until_over(session, running.nodes[2], job, 120)
        assert (ended["status"], ended["done"], ended["durable"]) == ("succeeded", total, True)
        assert sorted(await every_index(session, running.nodes[0], job)) == list(range(total))


async def test_a_client_reconnecting_to_other_replicas_with_last_event_id_gets_every_result_once(cluster):
    running, _ = await cluster({"/simulate": 0.03})
    total = 100
    seen: list[int] = []
    last: str | None = None
    async with aiohttp.ClientSession() as session:
        job = (await submit(session, running.nodes[0], total))["id"]
        for attempt in range(5):  # each time through another process
            stream = await events(session, running.nodes[attempt % 3], job, last, results=10)
            results = [(event_id, data) for event_id, kind, data in stream if kind == "result"]
            seen += [data["index"] for _, data in results]
            last = results[-1][0]
        stream = await events(session, running.nodes[2], job, last)
    seen += [data["index"] for _, kind, data in stream if kind == "result"]
    assert stream[-1][1] == "summary"
    assert sorted(seen) == list(range(total))


async def test_cancel_stops_every_replica_within_a_second(cluster):
    running, log = await cluster({"/simulate": 3.0})
    async with aiohttp.ClientSession() as session:
        job = (await submit(session, running.nodes[0], 200))["id"]
        async with asyncio.timeout(60):
            while len(log.started.get("/simulate", [])) < 9:  # noqa: ASYNC110 - the fakes' log has no event for it
                await asyncio.sleep(0.05)
        async with session.delete(f"{running.nodes[1].url}/api/jobs/{job}") as response:
            assert (await response.json())["data"]["status"] == "cancelled"
        await asyncio.sleep(1.0)
        started = len(log.started["/simulate"])
        in_flight = started - len(log.ended.get("/simulate", [])) - log.cancelled.count("/simulate")
        assert in_flight == 0  # every call in flight, on every replica, stopped within the second
        await asyncio.sleep(1.0)
        assert len(log.started["/simulate"]) == started  # and nothing new started
        assert (await status(session, running.nodes[2], job))["status"] == "cancelled"


async def test_a_client_over_its_job_limit_is_refused_by_every_replica(cluster):
    running, _ = await cluster({"/simulate": 1.0}, JOBS__MAX_PER_CLIENT="1")
    async with aiohttp.ClientSession() as session:
        await submit(session, running.nodes[0], 20)
        body = {"kind": "sweep", **fakes.backtest_request(), "grid": grid(20)}
        async with session.post(f"{running.nodes[1].url}/api/jobs", json=body) as response:
            answer = await response.json()
    assert response.status == 429
    assert answer["error"]["code"] == "TOO_MANY_JOBS" and answer["success"] is False
