"""``python -m benchmarks.resilience``: the orchestrator when the services fail, go down or drown.

Three processes, as in production: the services (``benchmarks.service_process``, realistic bodies,
faults or delays on demand), the orchestrator (``orchestrator serve``, default settings unless
said), and the clients in this one. Three scenarios, each printing its figures:

* ``faults``: one call in ten misbehaves (5xx with an envelope, HTML, reset connections, error
  envelopes inside 200s, 30-second stalls), 16 clients, 1,000 backtests. Success rate, latency
  percentiles, and the extra calls that retries and hedges made against the retry budget.
* ``down``: the metrics service is down (nothing listens). How many backtests it takes for its
  circuit to open, then the orchestrator's own time per answer (its canonical log line).
* ``overload``: 1,000 clients each keeping a backtest going against services that take 1 s per
  call (a refused client waits a jittered Retry-After). What every answer was, how fast refusals
  came, accepted ones against the graph's 4 s critical path, ``/health`` polled every 50 ms.
* ``burst``: the same 1,000 backtests sent at the same instant, the harshest arrival there is.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
import orjson

from benchmarks.processes import cpu_s, json_lines, process, wait_healthy
from fakes.realistic import backtest_request
from orchestrator.cli.platform import free_port
from orchestrator.cli.serve import tune_garbage_collection
from orchestrator.registry import SERVICES
from orchestrator.settings import Settings

BODY = orjson.dumps(backtest_request())
JSON = {"Content-Type": "application/json"}
CALLS_PER_BACKTEST = 7
CRITICAL_PATH_S = 4.0  # prices, signals, simulation, metrics: four calls of 1 s one after another
#: A thousand clients, all from this one address: past the per-client cap of the edge otherwise.
MANY_CLIENTS = {"EDGE__MAX_CONNECTIONS_PER_CLIENT": "5000"}


# --- the processes ---------------------------------------------------------------------------------


@dataclass
class Platform:
    services_url: str
    url: str
    orchestrator_pid: int
    services_pid: int

    def cpu(self) -> dict[str, float]:
        return {
            "orchestrator": cpu_s(self.orchestrator_pid),
            "services": cpu_s(self.services_pid),
            "clients": time.process_time(),
        }


def cpu_line(before: dict[str, float], after: dict[str, float], seconds: float) -> str:
    """Each process's share of one core over ``seconds`` of wall time."""
    shares = "  ".join(f"{name} {100 * (after[name] - before[name]) / seconds:.0f}%" for name in before)
    return f"  CPU of one core  {shares} (over {seconds:.1f} s)"


@asynccontextmanager
async def platform(
    services: list[str],
    orchestrator_env: dict[str, str] | None = None,
    down: str | None = None,
    log_to: str | None = None,
    files: int | None = None,
) -> AsyncIterator[Platform]:
    """The services process (with ``services`` arguments) and an orchestrator pointed at it; the
    service named ``down`` points at a port where nothing listens; ``files``: the orchestrator's
    limit on open files."""
    services_port, orchestrator_port = free_port(), free_port()
    services_url, orchestrator_url = (
        f"http://127.0.0.1:{services_port}",
        f"http://127.0.0.1:{orchestrator_port}",
    )
    urls = {entry.url_variable: services_url for entry in SERVICES}
    if down:
        urls[f"{down.upper()}_URL"] = f"http://127.0.0.1:{free_port()}"
    env = {"LOG_LEVEL": "WARNING", **urls, **(orchestrator_env or {})}
    with process(["-m", "benchmarks.service_process", "--port", str(services_port), *services]) as fakes:
        await wait_healthy(services_url)
        serve = ["-m", "orchestrator", "serve", "--host", "127.0.0.1", "--port", str(orchestrator_port)]
        with process(serve, env, log_to=log_to, files=files) as orchestrator:
            await wait_healthy(orchestrator_url)
            yield Platform(services_url, orchestrator_url, orchestrator.pid, fakes.pid)


# --- clients ---------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    code: str
    latency_s: float
    retry_after: str | None = None


@dataclass
class Answers:
    items: list[Answer] = field(default_factory=list)

    def latencies_ms(self, status: int | None = None) -> list[float]:
        return sorted(a.latency_s * 1000 for a in self.items if status is None or a.status == status)

    def codes(self) -> Counter[str]:
        return Counter(a.code for a in self.items)


def quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def spread(ordered: list[float], decimals: int) -> str:
    """``ms p50 .. p90 .. p99 .. max ..`` of sorted milliseconds."""
    if not ordered:
        return "none"
    figures = [(name, quantile(ordered, q)) for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))]
    return "ms " + "  ".join(
        f"{name} {value:.{decimals}f}" for name, value in [*figures, ("max", ordered[-1])]
    )


async def backtest(session: aiohttp.ClientSession, url: str) -> Answer:
    began = time.perf_counter()
    async with session.post(url + "/api/backtest", data=BODY, headers=JSON) as response:
        raw = await response.read()
    elapsed = time.perf_counter() - began
    document = orjson.loads(raw)
    code = "success" if document.get("success") else document["error"]["code"]
    return Answer(response.status, code, elapsed, response.headers.get("Retry-After"))


async def drive(url: str, count: int, clients: int) -> Answers:
    answers, remaining = Answers(), count
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                answers.items.append(await backtest(session, url))

        await asyncio.gather(*(worker() for _ in range(clients)))
    return answers


async def stats(services_url: str) -> dict[str, Counter[str]]:
    async with aiohttp.ClientSession() as session, session.get(services_url + "/stats") as answer:
        document = await answer.json()
    return {name: Counter(counts) for name, counts in document.items()}


# --- the scenarios ---------------------------------------------------------------------------------


async def faults(
    backtests: int = 1000, clients: int = 16, warmup: int = 100, stall_s: float = 30
) -> list[str]:
    async with platform(["--faults", "0.1", "--stall", str(stall_s)]) as running:
        services_url, url = running.services_url, running.url
        await drive(url, warmup, clients)  # pools filled, latency estimates warm
        before = await stats(services_url)
        answers = await drive(url, backtests, clients)
        after = await stats(services_url)
    calls = sum((after["calls"] - before["calls"]).values())
    first_attempts = backtests * CALLS_PER_BACKTEST
    faulty = sum((after["faults"] - before["faults"]).values()) - (
        after["faults"]["ok"] - before["faults"]["ok"]
    )
    ok = answers.codes()["success"]
    failures = {code: n for code, n in answers.codes().items() if code != "success"}
    return [
        f"faults: {backtests} backtests, {clients} clients, 1 call in 10 misbehaving "
        f"({faulty} faults served in {calls} calls)",
        f"  succeeded        {ok} of {backtests} ({100 * ok / backtests:.1f}%); "
        f"failures: {failures or 'none'}",
        f"  latency          {spread(answers.latencies_ms(), 1)}",
        f"  extra calls      {calls - first_attempts} on {first_attempts} first attempts "
        f"({100 * (calls - first_attempts) / first_attempts:.1f}%; "
        "the budget allows 20% per service plus 3/s)",
    ]


async def down(backtests: int = 300) -> list[str]:
    log = "/tmp/orchestrator-down.jsonl"
    env = {"LOG_LEVEL": "INFO"}
    async with platform([], env, down="metrics", log_to=log) as running:
        url = running.url
        async with aiohttp.ClientSession() as session, statuses_polled(url, "/ready") as ready:
            answers = [await backtest(session, url) for _ in range(backtests)]
    lines = json_lines(log)
    backtest_lines = [line for line in lines if line.get("event") == "backtest"]
    # failed fast: refused for the open circuit before any call was made
    fast = [i for i, line in enumerate(backtest_lines) if line.get("circuit_open") and not line["attempts"]]
    opened_after = fast[0] if fast else len(backtest_lines)
    own = sorted(backtest_lines[i]["duration_ms"] for i in fast)
    before = sorted(a.latency_s * 1000 for a in answers[:opened_after])
    client = sorted(answers[i].latency_s * 1000 for i in fast)
    return [
        f"down: metrics not listening; {backtests} backtests one after another",
        f"  the circuit opened after {opened_after} backtests "
        f"(each before it: p50 {quantile(before, 0.5):.1f} ms of retries on refused connections)",
        f"  {len(fast)} answered at once, the orchestrator's own time (canonical line): {spread(own, 2)}",
        f"  the same, as the client saw them: {spread(client, 2)}",
        f"  answers: {dict(Counter(a.code for a in answers))}",
        f"  /ready meanwhile (every 50 ms): {dict(Counter(ready))}",
    ]


@asynccontextmanager
async def statuses_polled(url: str, path: str, every_s: float = 0.05) -> AsyncIterator[list[int]]:
    """``GET path`` every ``every_s`` while the block runs; yields the statuses as they come."""
    statuses: list[int] = []
    done = asyncio.Event()

    async def poll() -> None:
        async with aiohttp.ClientSession() as session:
            while not done.is_set():
                async with session.get(url + path) as answer:
                    await answer.read()
                statuses.append(answer.status)
                await asyncio.sleep(every_s)

    poller = asyncio.create_task(poll())
    try:
        yield statuses
    finally:
        done.set()
        await poller


@asynccontextmanager
async def health_polled(
    url: str, every_s: float = 0.05, source: str | None = None
) -> AsyncIterator[dict[str, list[float]]]:
    """``GET /health`` every ``every_s`` and ``GET /api/health`` every ``4 * every_s`` while the block
    runs (from the address ``source``, if given); yields the latencies (ms) of each as they come."""
    latencies: dict[str, list[float]] = {"/health": [], "/api/health": []}
    done = asyncio.Event()

    async def poll(path: str, every: float) -> None:
        connector = aiohttp.TCPConnector(local_addr=(source, 0) if source else None)
        async with aiohttp.ClientSession(connector=connector) as session:
            while not done.is_set():
                began = time.perf_counter()
                async with session.get(url + path) as answer:
                    await answer.read()
                latencies[path].append((time.perf_counter() - began) * 1000)
                await asyncio.sleep(every)

    pollers = [
        asyncio.create_task(poll("/health", every_s)),
        asyncio.create_task(poll("/api/health", 4 * every_s)),
    ]
    try:
        yield latencies
    finally:
        done.set()
        await asyncio.gather(*pollers)


async def overload(clients: int = 1000, seconds: float = 20.0) -> list[str]:
    """Each client keeps one backtest going: it starts within the first second, and after a 503
    waits a full-jitter share of its Retry-After (as a polite client does) before it tries again."""
    async with platform(["--delay", "1"], MANY_CLIENTS) as running, health_polled(running.url) as health:
        url, cpu_before, began = running.url, running.cpu(), time.monotonic()
        stop = time.monotonic() + seconds
        answers = Answers()
        connector = aiohttp.TCPConnector(limit=clients + 10)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def client() -> None:
                await asyncio.sleep(random.uniform(0, 1))
                while time.monotonic() < stop:
                    answer = await backtest(session, url)
                    answers.items.append(answer)
                    if answer.status == 503:
                        await asyncio.sleep(random.uniform(0, 2 * float(answer.retry_after or 1)))

            await asyncio.gather(*(client() for _ in range(clients)))
        usage = cpu_line(cpu_before, running.cpu(), time.monotonic() - began)
    return [
        f"overload: {clients} clients each keeping a backtest going for {seconds:.0f} s, every call 1 s",
        *_overload_lines(answers, health),
        usage,
    ]


async def burst(backtests: int = 1000) -> list[str]:
    """The harshest form: every backtest sent at the same instant."""
    async with platform(["--delay", "1"], MANY_CLIENTS) as running, health_polled(running.url) as health:
        url, cpu_before, began = running.url, running.cpu(), time.monotonic()
        await asyncio.sleep(0.2)
        connector = aiohttp.TCPConnector(limit=backtests + 10)
        async with aiohttp.ClientSession(connector=connector) as session:
            answers = Answers(await asyncio.gather(*(backtest(session, url) for _ in range(backtests))))
        usage = cpu_line(cpu_before, running.cpu(), time.monotonic() - began)
    return [
        f"burst: {backtests} backtests sent at the same instant, every call 1 s",
        *_overload_lines(answers, health),
        usage,
    ]


def _overload_lines(answers: Answers, health: dict[str, list[float]]) -> list[str]:
    refused = [a for a in answers.items if a.status == 503]
    with_retry_after = sum(1 for a in refused if a.retry_after)
    others = {
        code: n for code, n in answers.codes().items() if code not in ("success", "SERVICE_UNAVAILABLE")
    }
    accepted = answers.latencies_ms(200)
    return [
        f"  answers          {dict(answers.codes())}; other than success or 503: {others or 'none'}",
        f"  refused (503)    {len(refused)}, {with_retry_after} with Retry-After; "
        f"{spread(sorted(a.latency_s * 1000 for a in refused), 1)}",
        f"  accepted (200)   {len(accepted)}; {spread(accepted, 0)} "
        f"(critical path {CRITICAL_PATH_S * 1000:.0f})",
        f"  /health          {len(health['/health'])} polls; {spread(sorted(health['/health']), 1)}",
        f"  /api/health      {len(health['/api/health'])} polls; {spread(sorted(health['/api/health']), 1)}",
    ]


SCENARIOS = {"faults": faults, "down": down, "overload": overload, "burst": burst}


def quiet_collector() -> None:
    """The measuring clients must not add pauses of their own to what they measure: the same
    collector settings as ``orchestrator serve`` (``GC_THRESHOLDS``), applied to this process too."""
    tune_garbage_collection(Settings(_env_file=None).gc_thresholds)


def parser() -> argparse.ArgumentParser:
    """The command line (tests/test_docs.py parses every command the docs give with it)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.resilience", description=__doc__.splitlines()[0]
    )
    parser.add_argument("scenario", nargs="*", choices=[*SCENARIOS, []], help="default: all of them")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    quiet_collector()
    for name in args.scenario or SCENARIOS:
        began = time.perf_counter()
        lines = asyncio.run(SCENARIOS[name]())
        print(*lines, f"  ({time.perf_counter() - began:.0f} s)", "", sep="\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
