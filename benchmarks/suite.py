"""The orchestrator measured as users run it, against two references measured in the same run.

Every figure comes from separate processes, as in production: the four services
(``benchmarks.service_process``: precomputed realistic answers for 504 or 5,040 trading days,
optionally after a delay per call), the server measured (``orchestrator serve`` with its default
settings, or one of the references of ``benchmarks.references``: the *floor*, the same graph with
nothing but aiohttp and orjson, and the *staged* version, one ``asyncio.gather`` per stage), and
the clients in this process, in a closed loop (each client sends its next backtest when its last
one is answered). CPU time and peak memory are the measured server's own, from ``/proc``.

Scenarios (each returns the lines it prints):

* ``cost``: CPU milliseconds per backtest, throughput, latency and peak memory at 504 and 5,040
  days, services answering at once, 16 clients; ratios against the floor and the staged version.
* ``latency``: services taking 25 ms a call; p50 and p99 at 1 and 16 clients against the ideal
  critical path (four calls one after another) and against the floor.
* ``scale``: 1,000 backtests sent at once to services taking 1 s a call, the admission limit and
  the bulkheads raised to let them all in; latency against the 4 s critical path, and peak memory,
  with the orchestrator's cache off and on.
* ``cache``: the calls a repeated backtest makes, the calls twenty identical backtests at once make,
  and the CPU per backtest when users vary only their strategy's threshold.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
import orjson

from benchmarks.processes import cpu_s, peak_rss_mb, process, rss_mb, wait_healthy
from fakes.realistic import LONG_TRADING_DAYS, TRADING_DAYS, backtest_request
from orchestrator.cli.platform import free_port
from orchestrator.registry import SERVICES

ORCHESTRATOR, FLOOR, STAGED = "orchestrator", "floor", "staged"
TARGETS = (ORCHESTRATOR, FLOOR, STAGED)
CALLS_ON_CRITICAL_PATH = 4  # prices, signals, simulation, metrics
JSON = {"Content-Type": "application/json"}


# --- the processes ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Served:
    name: str
    url: str
    pid: int
    #: Where each service answers (the services' process only): a port each, as a host each would be.
    urls: dict[str, str] | None = None


#: The services, each on a port of its own (as each is a host of its own in production): a pool of
#: connections to one is no use for another, for the orchestrator and the references alike.
SERVICE_NAMES = ("market_data", "strategy", "portfolio", "metrics")


@asynccontextmanager
async def services(days: int = TRADING_DAYS, delay_s: float = 0.0) -> AsyncIterator[Served]:
    ports = {name: free_port() for name in SERVICE_NAMES}
    args = [*(f"--port={port}" for port in ports.values()), "--days", str(days), "--delay", str(delay_s)]
    with process(["-m", "benchmarks.service_process", *args]) as child:
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        await wait_healthy(urls["market_data"])
        yield Served("services", urls["market_data"], child.pid, urls)


@asynccontextmanager
async def target(
    name: str, services: Served, env: dict[str, str] | None = None, log_to: str | None = None
) -> AsyncIterator[Served]:
    """The orchestrator (``orchestrator serve``, default settings but for ``env``) or a reference;
    its output (the orchestrator's log lines) to ``log_to`` if given."""
    port, urls = free_port(), services.urls or dict.fromkeys(SERVICE_NAMES, services.url)
    if name == ORCHESTRATOR:
        args = ["-m", "orchestrator", "serve", "--host", "127.0.0.1", "--port", str(port)]
        located = {entry.url_variable: urls.get(entry.name, urls["market_data"]) for entry in SERVICES}
        env = {**located, **(env or {})}
    else:
        given = [f"--service={service}={url}" for service, url in urls.items()]
        args = ["-m", "benchmarks.references", name, "--port", str(port), "--services", services.url, *given]
        env = {}
    with process(args, env, log_to) as child:
        url = f"http://127.0.0.1:{port}"
        await wait_healthy(url)
        yield Served(name, url, child.pid)


@asynccontextmanager
async def targets(
    names: tuple[str, ...], services: Served, env: dict[str, str] | None = None
) -> AsyncIterator[dict[str, Served]]:
    async with AsyncExitStack() as stack:
        yield {name: await stack.enter_async_context(target(name, services, env)) for name in names}


# --- the clients -----------------------------------------------------------------------------------


@dataclass
class Measured:
    """What one server did for a number of backtests, pooled over rounds."""

    latencies_s: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    failures: int = 0
    peak_mb: float = 0.0

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_s / len(self.latencies_s)

    @property
    def per_s(self) -> float:
        return len(self.latencies_s) / self.wall_s

    def ms(self, quantile: float) -> float:
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


async def closed_loop(
    served: Served,
    body: bytes | list[bytes],
    requests: int,
    clients: int,
    into: Measured,
    connected: bool = False,
    headers: dict[str, str] | None = None,
) -> None:
    """``requests`` backtests from ``clients`` clients, each sending its next when its last is in;
    ``body`` is the request, or requests taken in turn. ``connected``: each client opens its
    connection before the clock starts (see :func:`connect_all`); ``headers``: sent with each, beside
    ``Content-Type`` (a caller's credential)."""
    sent_headers = {**JSON, **(headers or {})}
    bodies, remaining = body if isinstance(body, list) else [body], requests
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        if connected:
            await connect_all(session, served.url, clients)

        async def client() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                began, sent = time.perf_counter(), bodies[remaining % len(bodies)]
                async with session.post(
                    served.url + "/api/backtest", data=sent, headers=sent_headers
                ) as answer:
                    raw = await answer.read()
                into.latencies_s.append(time.perf_counter() - began)
                into.failures += answer.status != 200 or not raw.startswith(b'{"success":true')

        cpu, wall = cpu_s(served.pid), time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        into.wall_s += time.perf_counter() - wall
        into.cpu_s += cpu_s(served.pid) - cpu
    into.peak_mb = peak_rss_mb(served.pid)


async def connect_all(session: aiohttp.ClientSession, url: str, clients: int) -> None:
    """Open ``clients`` keep-alive connections (a ``GET /health`` each, at once) and leave them in the
    pool. A thousand clients in one process otherwise make their connections one after another on
    its loop (0.37 s before the first request left, measured): time a thousand users on their own
    machines, or a proxy's pool of open connections, do not spend."""

    async def health() -> None:
        async with session.get(url + "/health") as answer:
            await answer.read()

    await asyncio.gather(*(health() for _ in range(clients)))


async def interleaved(
    servers: dict[str, Served], body: bytes, requests: int, clients: int, rounds: int = 3
) -> dict[str, Measured]:
    """Each server in turn, ``rounds`` times, after a warm-up: a noisy neighbour hits them all."""
    measured = {name: Measured() for name in servers}
    for served in servers.values():
        await closed_loop(served, body, max(clients, requests // 10), clients, Measured())
    for _ in range(rounds):
        for name, served in servers.items():
            await closed_loop(served, body, max(1, requests // rounds), clients, measured[name])
    return measured


# --- the scenarios ---------------------------------------------------------------------------------


#: The references keep nothing; where the orchestrator is compared with them, neither does it (its
#: cache would answer the benchmark's identical backtests from memory). The ``cache`` scenario and
#: the second ``scale`` row measure it on.
NO_CACHE = {"CACHE__ENABLED": "false"}


async def cost(days: int = TRADING_DAYS, requests: int = 1200, clients: int = 16) -> list[str]:
    body = orjson.dumps(backtest_request(days))
    async with services(days) as running, targets(TARGETS, running, NO_CACHE) as servers:
        measured = await interleaved(servers, body, requests, clients)
    ours = measured[ORCHESTRATOR]
    lines = [
        f"cost at {days} trading days: {clients} clients in a closed loop, "
        f"{len(ours.latencies_s)} backtests per server, services answering at once, cache off",
        f"   {'server':<14}{'CPU ms/backtest':>16}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'peak MB':>9}{'failed':>8}",
    ]
    for name, m in measured.items():
        lines.append(
            f"   {name:<14}{m.cpu_ms:>16.2f}{m.per_s:>9.1f}{m.ms(0.5):>9.1f}{m.ms(0.99):>9.1f}"
            f"{m.peak_mb:>9.1f}{m.failures:>8}"
        )
    for reference in (FLOOR, STAGED):
        lines.append(
            f"   CPU ratio orchestrator / {reference}: {ours.cpu_ms / measured[reference].cpu_ms:.2f}x"
        )
    return lines


async def latency(
    delay_s: float = 0.025, requests: int = 160, clients: tuple[int, ...] = (1, 16)
) -> list[str]:
    body = orjson.dumps(backtest_request())
    ideal_ms = CALLS_ON_CRITICAL_PATH * delay_s * 1000
    lines = [
        f"latency: services taking {delay_s * 1000:.0f} ms a call, cache off; the ideal critical path "
        f"is {ideal_ms:.0f} ms",
        f"   {'server':<14}{'clients':>8}{'p50 ms':>9}{'p99 ms':>9}{'p50 - floor':>13}{'p99 - floor':>13}",
    ]
    async with services(delay_s=delay_s) as running, targets(TARGETS, running, NO_CACHE) as servers:
        for count in clients:
            measured = await interleaved(servers, body, requests, count)
            floor = measured[FLOOR]
            for name, m in measured.items():
                lines.append(
                    f"   {name:<14}{count:>8}{m.ms(0.5):>9.1f}{m.ms(0.99):>9.1f}"
                    f"{m.ms(0.5) - floor.ms(0.5):>+13.1f}{m.ms(0.99) - floor.ms(0.99):>+13.1f}"
                )
    return lines


#: What lets 1,000 backtests in at once: the admission limit, each service's bulkhead (two calls
#: per backtest to the strategy and the portfolio services), and connections from one address.
SCALE_ENV = {
    "ADMISSION__MIN_LIMIT": "1000",
    "ADMISSION__INITIAL_LIMIT": "1000",
    "ADMISSION__MAX_LIMIT": "2000",
    "EDGE__MAX_CONNECTIONS_PER_CLIENT": "5000",
    "BULKHEAD__MAX_IN_FLIGHT": "2500",
}


async def scale(backtests: int = 1000, delay_s: float = 1.0) -> list[str]:
    """Each backtest its own threshold (as a thousand users would differ); with the cache on they
    share the market data and the baseline run, as the cache exists to let them."""
    bodies = [
        orjson.dumps(backtest_request(threshold=-0.01 - i / (100 * backtests))) for i in range(backtests)
    ]
    ideal_s = CALLS_ON_CRITICAL_PATH * delay_s
    lines = [
        f"scale: {backtests} backtests sent at once, services taking {delay_s:.0f} s a call "
        f"(critical path {ideal_s:.0f} s)",
        f"   {'server':<22}{'ok':>6}{'p50 s':>8}{'p99 s':>8}{'max s':>8}{'RSS before':>12}{'peak MB':>9}",
    ]
    runs = (
        ("orchestrator, no cache", ORCHESTRATOR, NO_CACHE),
        ("orchestrator", ORCHESTRATOR, {}),
        ("floor", FLOOR, {}),
    )
    async with services(delay_s=delay_s) as running:
        for label, name, env in runs:
            async with target(name, running, {**SCALE_ENV, **env}) as served:
                await closed_loop(served, orjson.dumps(backtest_request(days=252)), 8, 8, Measured())  # warm
                before, measured = rss_mb(served.pid), Measured()
                await closed_loop(served, bodies, backtests, backtests, measured, connected=True)
            ok = len(measured.latencies_s) - measured.failures
            lines.append(
                f"   {label:<22}{ok:>6}{measured.ms(0.5) / 1000:>8.2f}{measured.ms(0.99) / 1000:>8.2f}"
                f"{measured.ms(1.0) / 1000:>8.2f}{before:>12.1f}{measured.peak_mb:>9.1f}"
            )
    return lines


async def cache(identical: int = 20, requests: int = 1200, clients: int = 16) -> list[str]:
    """What the cache saves: the calls a repeat makes, the calls of identical backtests at once,
    and the CPU per backtest when users vary only their strategy."""
    first, repeat = (orjson.dumps(backtest_request(threshold=t)) for t in (-0.05, -0.03))
    other_range = orjson.dumps(
        {
            **backtest_request(),
            "market_params": {**backtest_request()["market_params"], "start_date": "2019-01-01"},
        }
    )
    varied = [orjson.dumps(backtest_request(threshold=-0.01 - i / 1000)) for i in range(50)]
    async with services() as running, target(ORCHESTRATOR, running) as served:
        await closed_loop(served, first, 1, 1, Measured())
        before = await calls_made(running.url)
        await closed_loop(served, repeat, 1, 1, Measured())
        after_repeat = await calls_made(running.url)
        await closed_loop(served, other_range, identical, identical, Measured())
        after_burst = await calls_made(running.url)
        measured = Measured()
        await closed_loop(served, varied, requests, clients, measured)
    async with services() as running, target(FLOOR, running) as served:
        floor = Measured()
        await closed_loop(served, varied, requests, clients, floor)
    return [
        "cache: what the orchestrator's cache saves (default settings)",
        f"   a repeat changing only the threshold calls   {call_counts(after_repeat - before)}",
        f"   {identical} identical backtests at once call        {call_counts(after_burst - after_repeat)}",
        f"   {requests} backtests of one ticker, 50 thresholds, {clients} clients: CPU ms/backtest "
        f"{measured.cpu_ms:.2f} (floor {floor.cpu_ms:.2f}, ratio {measured.cpu_ms / floor.cpu_ms:.2f}x)",
    ]


async def calls_made(services_url: str) -> Counter[str]:
    async with aiohttp.ClientSession() as session, session.get(services_url + "/stats") as answer:
        return Counter((await answer.json())["calls"])


def call_counts(counts: Counter[str]) -> str:
    return ", ".join(
        f"{path} {counts[path]}" for path in ("/prices", "/dividends", "/signals", "/simulate", "/calculate")
    )


async def cost_long(requests: int = 240, clients: int = 16) -> list[str]:
    return await cost(LONG_TRADING_DAYS, requests, clients)


SCENARIOS = {"cost": cost, "cost-long": cost_long, "latency": latency, "scale": scale, "cache": cache}
