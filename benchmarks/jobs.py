"""``python -m benchmarks.jobs``: durable jobs (issue 22) on a real ``redis-server`` and real
``orchestrator serve`` processes, each "Done when" figure printed with its target.

Every scenario starts its own Redis (no persistence), the stand-in services as a process of their
own (``benchmarks.service_process``: realistic answers, ``--delay`` before each) and one or three
orchestrators with ``REDIS_URL`` set, and talks to them through ``orchestrator.client``:

* ``calls``: a job of ``--settings`` (10,000) on instant services: the calls the services
  received against 3N+4, retries counted apart, and each orchestrator's peak resident memory.
* ``kill``: three workers; ``kill -9`` of one halfway: the job succeeds, every setting once, and
  the time lost against the same job with no kill, against the visibility timeout plus one shard.
* ``restart``: three workers; every one stopped halfway and started again (Redis kept): the job
  resumes and succeeds, no setting lost or doubled.
* ``scale``: the same job on one worker, then on three, against services taking 25 ms a call,
  each worker at its default concurrency (``JOBS__CONCURRENCY``, 8).
* ``reconnects``: a client that drops the event stream five times, each time reconnecting with
  ``Last-Event-ID`` to the next replica: every result exactly once.
* ``interactive``: the p50 of backtests sent one after another on an idle orchestrator, then
  during a job of ``--settings``, against services taking 25 ms a call.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from benchmarks.processes import peak_rss_mb, wait_healthy
from fakes.realistic import INVESTMENT_PER_TRADE, backtest_request
from orchestrator.cli.platform import free_port
from orchestrator.client import Failed, OrchestratorClient
from orchestrator.client.sse import iter_events
from orchestrator.jobs.config import JobsConfig
from orchestrator.registry import SERVICES

SWEPT = "strategy_params.config.price_change_threshold"
AMOUNT = "portfolio_params.investment_per_trade"
#: The visibility timeout the kill scenario sets (the default, 30 s, would make it wait 30 s).
VISIBILITY_S = 5.0
#: Services' latency for the scale, kill, restart and interactive scenarios: calls that wait.
SLOW_S = 0.025
DEFAULTS = JobsConfig()
OVER = ("succeeded", "failed", "cancelled")


# --- the processes ---------------------------------------------------------------------------------


async def spawn(
    *args: str, env: dict[str, str] | None = None, log: str | None = None
) -> asyncio.subprocess.Process:
    """``args`` as a child process, its output to ``log`` (appended) or nowhere."""
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND) if log else asyncio.subprocess.DEVNULL
    try:
        return await asyncio.create_subprocess_exec(
            *args, env={**os.environ, **(env or {})}, stdout=out, stderr=out
        )
    finally:
        if log:
            os.close(out)


async def stop(child: asyncio.subprocess.Process, timeout_s: float = 40) -> None:
    """SIGTERM, then SIGKILL if it has not ended within ``timeout_s``."""
    if child.returncode is None:
        child.terminate()
    try:
        await asyncio.wait_for(child.wait(), timeout_s)
    except TimeoutError:
        child.kill()
        await child.wait()


async def until(check: Callable[[], Awaitable[bool]], every_s: float = 0.05) -> None:
    """Until ``await check()`` is true, asking every ``every_s``: what is waited on is in another
    process, so there is no event to wait on."""
    while True:
        if await check():
            return
        await asyncio.sleep(every_s)


@dataclass
class Node:
    """One ``orchestrator serve`` process."""

    port: int
    env: dict[str, str]
    log: str
    child: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        serve = ("-m", "orchestrator", "serve", "--host", "127.0.0.1", "--port", str(self.port))
        self.child = await spawn(sys.executable, *serve, env=self.env, log=self.log)
        await wait_healthy(self.url, timeout_s=60)

    def kill(self) -> None:
        assert self.child is not None
        self.child.send_signal(signal.SIGKILL)

    def peak_mb(self) -> float:
        assert self.child is not None
        return peak_rss_mb(self.child.pid)


@dataclass
class Stand:
    """Redis, the services and the orchestrators of one scenario."""

    services_url: str
    nodes: list[Node] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    async def stats(self) -> Counter[str]:
        async with aiohttp.ClientSession() as session, session.get(self.services_url + "/stats") as answer:
            return Counter((await answer.json())["calls"])


async def _listening(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


@asynccontextmanager
async def redis_server() -> AsyncIterator[str]:
    """``redis-server`` on a free loopback port, with no persistence: its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    flags = ("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
    child = await spawn(binary, *flags, "--loglevel", "warning")
    try:
        await until(lambda: _listening(port))
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        await stop(child)


@asynccontextmanager
async def stand(workers: int, delay_s: float = 0.0, **env: str) -> AsyncIterator[Stand]:
    """Redis, the services process (``delay_s`` before each answer) and ``workers`` orchestrators."""
    async with AsyncExitStack() as stack:
        redis_url = await stack.enter_async_context(redis_server())
        port = free_port()
        services = ("-m", "benchmarks.service_process", "--port", str(port), "--delay", str(delay_s))
        stack.push_async_callback(stop, await spawn(sys.executable, *services))
        running = Stand(f"http://127.0.0.1:{port}")
        await wait_healthy(running.services_url)
        logs = stack.enter_context(tempfile.TemporaryDirectory(prefix="jobs-bench-"))
        urls = {entry.url_variable: running.services_url for entry in SERVICES}
        shared = {"REDIS_URL": redis_url, "LOG_LEVEL": "WARNING", **urls, **env}
        running.nodes = [Node(free_port(), shared, f"{logs}/orchestrator-{n}.log") for n in range(workers)]
        stack.push_async_callback(_stop_all, running.nodes)
        await asyncio.gather(*(node.start() for node in running.nodes))
        yield running


async def _stop_all(nodes: list[Node]) -> None:
    await asyncio.gather(*(stop(node.child) for node in nodes if node.child is not None))


# --- the jobs --------------------------------------------------------------------------------------


def job_body(settings: int) -> dict[str, Any]:
    """A sweep of ``settings`` over one market: a tenth as many thresholds times ten amounts per trade
    (10,000 = 1,000 x 10), or thresholds alone under 100."""
    count = settings // 10 if settings >= 100 else settings
    step = 0.19 / max(1, count - 1)
    grid: dict[str, list[Any]] = {SWEPT: [round(-0.01 - i * step, 6) for i in range(count)]}
    if settings >= 100:
        grid[AMOUNT] = [INVESTMENT_PER_TRADE * (i + 1) for i in range(10)]
    return {"kind": "sweep", **backtest_request(), "grid": grid}


async def submit(url: str, settings: int) -> str:
    async with OrchestratorClient(url, timeout_s=60) as client:
        return (await client.submit_job(job_body(settings))).id


async def done_at_least(url: str, job: str, done: int) -> None:
    """Until ``done`` of the job's settings are done."""

    async def reached() -> bool:
        async with OrchestratorClient(url, timeout_s=60) as client:
            return (await client.job(job)).done >= done

    await until(reached)


async def over(urls: list[str], job: str) -> Any:
    """The job once it is over, asking whichever of ``urls`` answers (the others may be restarting)."""
    found: list[Any] = []

    async def ended() -> bool:
        for url in urls:
            try:
                async with OrchestratorClient(url, timeout_s=30) as client:
                    status = await client.job(job)
            except Failed:  # a replica restarting: ask the next
                continue
            if status.status in OVER:
                found.append(status)
            return bool(found)
        return False

    await until(ended, 0.1)
    return found[0]


async def run_job(url: str, settings: int) -> tuple[float, Any]:
    """A job from submit to its end: the seconds, and its status."""
    began = time.perf_counter()
    job = await submit(url, settings)
    status = await over([url], job)
    return time.perf_counter() - began, status


async def every_index(url: str, job: str) -> Counter[int]:
    """How many rows each setting's index has in the job's results."""
    async with OrchestratorClient(url, timeout_s=60) as client:
        return Counter([row.index async for row in client.iter_job_results(job)])


def exactly_once(indices: Counter[int], settings: int) -> bool:
    return set(indices) == set(range(settings)) and set(indices.values()) == {1}


def once_each(indices: Counter[int], settings: int) -> str:
    missing = len(set(range(settings)) - set(indices))
    doubled = sum(1 for count in indices.values() if count > 1)
    return f"{len(indices):,} settings with a row, {missing:,} missing, {doubled:,} doubled"


def verdict(met: bool) -> str:
    return "met" if met else "NOT MET"


# --- the scenarios ---------------------------------------------------------------------------------


async def calls(settings: int = 10_000) -> list[str]:
    lines = [f"calls: a {settings:,}-setting job on instant services; at most 3N+4 = {3 * settings + 4:,}"]
    for workers in (1, 3):
        async with stand(workers) as running:
            before = await running.stats()
            took, status = await run_job(running.urls[0], settings)
            received = sum(((await running.stats()) - before).values())
            peaks = [node.peak_mb() for node in running.nodes]
        # The services count every call they received; the job counts each call once (calls_total):
        # what is over it is retries and hedges.
        retries = max(0, received - (status.calls_total or 0))
        counted = received - retries
        by_call = ", ".join(f"{name} {count:,}" for name, count in sorted((status.calls or {}).items()))
        lines += [
            f"  {workers} worker(s) ({took:.0f} s, {status.status}): {received:,} calls received, "
            f"{retries:,} of them retries or hedges: {counted:,} against {3 * settings + 4:,}: "
            f"{verdict(counted <= 3 * settings + 4)}",
            f"    by call: {by_call}",
            f"    peak resident memory {', '.join(f'{peak:.0f}' for peak in peaks)} MB, target under 300 MB: "
            f"{verdict(max(peaks) < 300)}",
        ]
    return lines


async def kill(settings: int = 2_000) -> list[str]:
    async with stand(3, SLOW_S, JOBS__VISIBILITY_TIMEOUT_S=str(VISIBILITY_S)) as running:
        url = running.urls[0]
        plain_s, _ = await run_job(url, settings)
        began = time.perf_counter()
        job = await submit(url, settings)
        await done_at_least(url, job, settings // 2)
        running.nodes[2].kill()
        status = await over([url], job)
        killed_s = time.perf_counter() - began
        indices = await every_index(url, job)
    lanes = 3 * DEFAULTS.concurrency
    shard_s = DEFAULTS.shard_size * plain_s * lanes / settings  # a lane's shard at the pace of the plain run
    lost = killed_s - plain_s
    met = status.status == "succeeded" and exactly_once(indices, settings)
    return [
        f"kill: a {settings:,}-setting job on 3 workers, services at {SLOW_S * 1000:.0f} ms a call, "
        f"JOBS__VISIBILITY_TIMEOUT_S={VISIBILITY_S:g}; kill -9 of one worker halfway",
        f"  {status.status}: {once_each(indices, settings)}: {verdict(met)}",
        f"  took {killed_s:.1f} s against {plain_s:.1f} s with no kill: {lost:.1f} s lost; at most the "
        f"visibility timeout plus one shard ({VISIBILITY_S:g} + {shard_s:.1f} s): "
        f"{verdict(lost <= VISIBILITY_S + shard_s)}",
    ]


async def restart(settings: int = 2_000) -> list[str]:
    async with stand(3, SLOW_S) as running:
        began = time.perf_counter()
        job = await submit(running.urls[0], settings)
        await done_at_least(running.urls[0], job, settings // 2)
        stopped = time.perf_counter()
        await _stop_all(running.nodes)
        await asyncio.gather(*(node.start() for node in running.nodes))
        down_s = time.perf_counter() - stopped
        status = await over(running.urls, job)
        took = time.perf_counter() - began
        indices = await every_index(running.urls[1], job)
    met = status.status == "succeeded" and exactly_once(indices, settings)
    return [
        f"restart: a {settings:,}-setting job on 3 workers, services at {SLOW_S * 1000:.0f} ms a call; every "
        f"worker stopped (SIGTERM) halfway and started again ({down_s:.1f} s without one), Redis kept",
        f"  {status.status} in {took:.1f} s: {once_each(indices, settings)}: {verdict(met)}",
    ]


async def scale(settings: int = 2_000) -> list[str]:
    times = {}
    for workers in (1, 3):
        async with stand(workers, SLOW_S) as running:
            await run_job(running.urls[0], 100)  # each process imports and warms up first
            times[workers], _ = await run_job(running.urls[0], settings)
    ratio = times[1] / times[3]
    return [
        f"scale: a {settings:,}-setting job, services at {SLOW_S * 1000:.0f} ms a call, each worker at "
        f"JOBS__CONCURRENCY={DEFAULTS.concurrency} (the default)",
        f"  one worker {times[1]:.1f} s ({settings / times[1]:.0f} settings/s), three {times[3]:.1f} s "
        f"({settings / times[3]:.0f} settings/s): {ratio:.2f}x; target at least 2.5x: "
        f"{verdict(ratio >= 2.5)}",
    ]


async def reconnects(settings: int = 2_000, drops: int = 5) -> list[str]:
    async with stand(3, SLOW_S) as running:
        job = await submit(running.urls[0], settings)
        seen: Counter[int] = Counter()
        last: str | None = None
        each = max(1, settings // (drops + 2))
        connections, ended = 0, False
        async with aiohttp.ClientSession() as session:
            while not ended:
                url = running.urls[connections % 3]  # each reconnection to the next replica
                connections += 1
                cut_after = each if connections <= drops else None
                last, ended = await read_events(
                    session, f"{url}/api/jobs/{job}/events", last, seen, cut_after
                )
    met = exactly_once(seen, settings) and connections == drops + 1
    return [
        f"reconnects: a {settings:,}-setting job on 3 workers; its stream dropped {drops} times (after "
        f"{each:,} results each), each reconnection with Last-Event-ID to the next replica",
        f"  {connections} connections: {once_each(seen, settings)}: {verdict(met)}",
    ]


async def read_events(
    session: aiohttp.ClientSession, url: str, last: str | None, seen: Counter[int], cut_after: int | None
) -> tuple[str | None, bool]:
    """One connection, until ``cut_after`` results (then dropped) or the summary: the last event id
    read, and whether the summary came."""
    headers = {} if last is None else {"Last-Event-ID": last}
    taken = 0
    async with session.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=None)) as answer:
        async for event in iter_events(answer.content):
            if event.event == "summary":
                return event.id, True
            if event.event == "result":
                seen[orjson.loads(event.data)["index"]] += 1
                last, taken = event.id, taken + 1
                if cut_after is not None and taken >= cut_after:
                    return last, False  # leaving the block drops the connection
    return last, False


async def interactive(settings: int = 10_000, backtests: int = 60) -> list[str]:
    async with stand(1, SLOW_S) as running:
        url = running.urls[0]
        await latencies(url, 10)  # warm up
        idle = await latencies(url, backtests)
        job = await submit(url, settings)
        await done_at_least(url, job, DEFAULTS.shard_size * DEFAULTS.concurrency)  # every lane at work
        busy = await latencies(url, backtests)
        async with OrchestratorClient(url, timeout_s=60) as client:
            status = await client.cancel_job(job)
    p50_idle, p50_busy = statistics.median(idle), statistics.median(busy)
    change = p50_busy / p50_idle - 1
    return [
        f"interactive: {backtests} backtests one after another on one orchestrator, services at "
        f"{SLOW_S * 1000:.0f} ms a call: idle, then during a {settings:,}-setting job "
        f"({status.done:,} done when they ended)",
        f"  p50 idle {p50_idle * 1000:.0f} ms, during the job {p50_busy * 1000:.0f} ms: {change:+.0%}; "
        f"target within 20%: {verdict(change <= 0.20)}",
    ]


async def latencies(url: str, count: int) -> list[float]:
    """Seconds of each of ``count`` backtests sent one after another (each must succeed)."""
    body, headers = orjson.dumps(backtest_request()), {"Content-Type": "application/json"}
    found = []
    async with aiohttp.ClientSession() as session:
        for _ in range(count):
            began = time.perf_counter()
            async with session.post(url + "/api/backtest", data=body, headers=headers) as answer:
                await answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"an interactive backtest failed: HTTP {answer.status}")
            found.append(time.perf_counter() - began)
    return found


SCENARIOS: dict[str, Callable[..., Awaitable[list[str]]]] = {
    "calls": calls,
    "kill": kill,
    "restart": restart,
    "scale": scale,
    "reconnects": reconnects,
    "interactive": interactive,
}


def parser() -> argparse.ArgumentParser:
    """The command line (tests/test_docs.py parses every command the docs give with it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.jobs", description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="*", choices=[*SCENARIOS, []], help="default: all of them")
    parser.add_argument(
        "--settings", type=int, metavar="N", help="each job's settings (default: the scenario's)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    sized = {} if args.settings is None else {"settings": args.settings}
    for name in args.scenario or SCENARIOS:
        began = time.perf_counter()
        lines = asyncio.run(SCENARIOS[name](**sized))
        print(*lines, f"  ({time.perf_counter() - began:.0f} s)", "", sep="\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
