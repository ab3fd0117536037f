"""The ``sweep`` scenario: ``POST /api/sweep`` against issue 11's five targets.

The processes are the suite's (``benchmarks.suite``): the services taking ``delay_s`` a call, so that
latency matters, and ``orchestrator serve`` with its cache off, so that every call saved is the
sweep's own sharing (market data fetched once, the baseline run once). Each target is printed with
its measured value and whether it is met:

1. ``N`` settings make at most ``3N + 4`` calls (``7N`` as separate backtests), counted where the
   services received them, hedging off (then again with it on, as the orchestrator's default).
2. The first ``result`` of a streamed sweep (the median of several) comes within about one
   backtest's latency (the p50 of single backtests in the same run; "about" taken as at most 1.5x).
3. The whole sweep is at least 3x faster than ``N`` backtests sent one after another by one client.
4. A 1,000-setting sweep keeps the orchestrator within 50 MB of its idle resident memory.
5. A client that leaves a streamed 1,000-setting sweep leaves no call in flight 100 ms later.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from benchmarks.processes import json_lines, peak_rss_mb, rss_mb
from benchmarks.suite import (
    JSON,
    NO_CACHE,
    ORCHESTRATOR,
    Measured,
    Served,
    call_counts,
    calls_made,
    closed_loop,
    services,
    target,
)
from fakes.realistic import INVESTMENT_PER_TRADE, backtest_request

SWEPT = "strategy_params.config.price_change_threshold"
STREAM = {**JSON, "Accept": "text/event-stream"}
#: "About one backtest's latency": the first result may take at most this many single backtests.
ABOUT_ONE = 1.5
MEMORY_TARGET_MB = 50.0
STOP_TARGET_MS = 100.0


# --- the requests ----------------------------------------------------------------------------------


def thresholds(count: int) -> list[float]:
    """``count`` distinct thresholds from -0.01 to -0.20, finely spaced (the services ignore them)."""
    step = 0.19 / max(1, count - 1)
    return [round(-0.01 - i * step, 6) for i in range(count)]


def sweep_body(settings: int) -> bytes:
    """A sweep of ``settings`` thresholds; past 100 settings, a tenth as many thresholds times ten
    investments per trade (1,000 = 100 x 10), all over one market."""
    grid: dict[str, list[float]] = {SWEPT: thresholds(settings)}
    if settings > 100:
        investments = [INVESTMENT_PER_TRADE * (i + 1) for i in range(10)]
        grid = {SWEPT: thresholds(settings // 10), "portfolio_params.investment_per_trade": investments}
    return orjson.dumps({**backtest_request(), "grid": grid})


def one_setting_each(settings: int) -> list[bytes]:
    """The same settings as ``settings`` separate backtests, each with its own threshold."""
    return [orjson.dumps(backtest_request(threshold=t)) for t in thresholds(settings)]


# --- the clients -----------------------------------------------------------------------------------


async def sweep_json(served: Served, body: bytes) -> tuple[float, dict[str, Any]]:
    """Seconds for the whole sweep's JSON answer, and its metadata (every combination must succeed)."""
    async with aiohttp.ClientSession() as session:
        began = time.perf_counter()
        async with session.post(served.url + "/api/sweep", data=body, headers=JSON) as answer:
            document = orjson.loads(await answer.read())
        took = time.perf_counter() - began
    if answer.status != 200 or document["data"]["metadata"]["failed"]:
        raise RuntimeError(f"the sweep failed: {answer.status} {str(document)[:500]}")
    return took, document["data"]["metadata"]


async def until_first_result(answer: aiohttp.ClientResponse) -> None:
    """Read a stream up to its first ``result`` event (raise if it ends before one)."""
    async for line in answer.content:
        if line.strip() == b"event: result":
            return
    raise RuntimeError(f"the stream ended with no result ({answer.status})")


async def first_result(served: Served, services_url: str, body: bytes) -> float:
    """Seconds from sending a streamed sweep to its first ``result``; the client then leaves, and the
    next measurement waits for the services to have no call in flight (an idle server again)."""
    async with aiohttp.ClientSession() as session:
        began = time.perf_counter()
        async with session.post(served.url + "/api/sweep", data=body, headers=STREAM) as answer:
            await until_first_result(answer)
            took = time.perf_counter() - began
            answer.close()
        await in_flight_until(session, services_url, lambda count: count == 0)
    return took


async def in_flight(session: aiohttp.ClientSession, services_url: str) -> int:
    """How many calls the services are answering now."""
    async with session.get(services_url + "/in-flight") as answer:
        return int((await answer.json())["in_flight"])


async def in_flight_until(
    session: aiohttp.ClientSession, services_url: str, wanted: Callable[[int], bool], every_s: float = 0.002
) -> int:
    """Poll the services' calls in flight every ``every_s`` until their number is ``wanted`` (for
    ten seconds at most: a sweep too small to still have calls to make would wait forever)."""
    async with asyncio.timeout(10):
        while True:
            count = await in_flight(session, services_url)
            if wanted(count):
                return count
            await asyncio.sleep(every_s)


async def time_to_no_call(served: Served, services_url: str, body: bytes) -> tuple[float, int, int]:
    """Leave a streamed sweep after its first result, at a moment calls are in flight (the next
    combinations' calls may not have reached the services the instant a result arrives), by closing
    the connection; poll the services every 2 ms until no call is in flight. Returns the seconds that
    took, the calls in flight when the client left, and the calls started in the 0.5 s after none
    was (there should be none)."""
    async with aiohttp.ClientSession() as poller, aiohttp.ClientSession() as client:
        await in_flight(poller, services_url)  # its connection made before the clock starts
        answer = await client.post(served.url + "/api/sweep", data=body, headers=STREAM)
        await until_first_result(answer)
        at_leaving = await in_flight_until(poller, services_url, lambda count: count > 0)
        left = time.perf_counter()
        answer.close()  # the connection itself, as a closed browser tab would
        await in_flight_until(poller, services_url, lambda count: count == 0)
        took = time.perf_counter() - left
        calls = sum((await calls_made(services_url)).values())
        await asyncio.sleep(0.5)
        later = sum((await calls_made(services_url)).values()) - calls
    return took, at_leaving, later


async def rss_sampled(pid: int, into: list[float], every_s: float = 0.05) -> None:
    """The process's resident memory every ``every_s``, until cancelled."""
    while True:
        into.append(rss_mb(pid))
        await asyncio.sleep(every_s)


# --- the figures -----------------------------------------------------------------------------------


def verdict(met: bool) -> str:
    return "met" if met else "NOT MET"


#: Hedging off: a slow call's second copy is resilience, not the sweep's plan, and it would blur the
#: count of the calls the plan makes (the count with hedging on is printed besides).
NO_HEDGE = {"HEDGE__ENABLED": "false"}


async def counted_sweep(
    served: Served, services_url: str, body: bytes
) -> tuple[Counter[str], float, dict[str, Any]]:
    """The calls the services received for one JSON sweep (after a first one, which pays for imports
    and connections), the seconds it took, and its answer's metadata."""
    await sweep_json(served, body)
    before = await calls_made(services_url)
    took, metadata = await sweep_json(served, body)
    return await calls_made(services_url) - before, took, metadata


@dataclass
class Timed:
    """What one server did for targets 1 (hedging on) to 3."""

    received: Counter[str]
    #: The sweep's canonical log line: ``attempts``, and ``hedges`` and ``retries`` by service.
    logged: dict[str, Any]
    sweep_s: float
    first_s: list[float]
    single_p50_ms: float
    in_a_row_s: float

    def extra(self, event: str) -> int:
        return sum(self.logged.get(event, {}).values())


async def timed(served: Served, services_url: str, log: str, settings: int, rounds: int) -> Timed:
    """A JSON sweep (its calls and its time), the first result of ``rounds`` streamed ones, the p50
    of single backtests, and ``settings`` backtests one after another from one client."""
    body = sweep_body(settings)
    received, sweep_s, metadata = await counted_sweep(served, services_url, body)
    firsts = [await first_result(served, services_url, body) for _ in range(rounds)]
    single, in_a_row = Measured(), Measured()
    await closed_loop(served, orjson.dumps(backtest_request()), 20, 1, single)
    await closed_loop(served, one_setting_each(settings), settings, 1, in_a_row)
    logged = canonical_line(log, metadata["request_id"])
    return Timed(received, logged, sweep_s, firsts, single.ms(0.5), in_a_row.wall_s)


def canonical_line(log: str, request_id: str) -> dict[str, Any]:
    """The orchestrator's canonical log line of one request (it flushes each line as it writes it)."""
    return next(line for line in json_lines(log) if line.get("request_id") == request_id and "calls" in line)


def calls_lines(settings: int, exact: Counter[str], hedged: Timed) -> list[str]:
    """Target 1 on what the services received with hedging off; with it on (default settings), the
    received count again, and the orchestrator's own count from the sweep's canonical line."""
    received, most = sum(exact.values()), 3 * settings + 4
    with_hedges, logged = sum(hedged.received.values()), hedged.logged
    return [
        f"   calls received by the services for N = {settings}, hedging off: {call_counts(exact)}",
        f"   1. downstream calls for N = {settings}: {received}, target <= 3N+4 = {most} "
        f"(separate backtests: 7N = {7 * settings}): {verdict(received <= most)}",
        f"      hedging on (default): {with_hedges} received ({call_counts(hedged.received)}); "
        f"canonical line: {logged['calls']} calls, {logged['attempts']} attempts, "
        f"{hedged.extra('retries')} retries, {hedged.extra('hedges')} hedges",
    ]


def first_result_lines(figures: Timed) -> list[str]:
    """Target 2 on the median first result (the spread is wide: the first result waits for the
    combinations started with it, which all answer at about the same time)."""
    first_ms, spread = 1000 * statistics.median(figures.first_s), sorted(figures.first_s)
    ratio = first_ms / figures.single_p50_ms
    return [
        f"   2. first result of the streamed sweep: {first_ms:.1f} ms (median of {len(spread)}, "
        f"{1000 * spread[0]:.0f}-{1000 * spread[-1]:.0f}), one backtest's p50 "
        f"{figures.single_p50_ms:.1f} ms, ratio {ratio:.2f}x, target <= {ABOUT_ONE}x: "
        f"{verdict(ratio <= ABOUT_ONE)}"
    ]


def total_time_lines(settings: int, figures: Timed) -> list[str]:
    ratio = figures.in_a_row_s / figures.sweep_s
    return [
        f"   3. the whole sweep {figures.sweep_s:.2f} s, {settings} backtests one after another "
        f"{figures.in_a_row_s:.2f} s: {ratio:.1f}x faster, target >= 3x: {verdict(ratio >= 3)}"
    ]


async def memory(running: Served, settings: int) -> list[str]:
    """Target 4, on a fresh orchestrator: its resident memory after one backtest (idle), then its
    peak during a ``settings`` sweep (VmHWM, the kernel's own high-water mark since it started, which
    nothing but the warm-up backtest and the sweep raised; VmRSS sampled every 50 ms besides)."""
    async with target(ORCHESTRATOR, running, NO_CACHE) as served:
        await closed_loop(served, orjson.dumps(backtest_request()), 1, 1, Measured())
        await asyncio.sleep(0.2)
        idle, samples = rss_mb(served.pid), []
        sampler = asyncio.ensure_future(rss_sampled(served.pid, samples))
        try:
            took, _ = await sweep_json(served, sweep_body(settings))
        finally:
            sampler.cancel()
        peak = peak_rss_mb(served.pid)
    grown = peak - idle
    return [
        f"   4. RSS idle {idle:.1f} MB, peak during a {settings}-setting sweep ({took:.1f} s) {peak:.1f} MB "
        f"(sampled VmRSS at most {max(samples):.1f} MB): {grown:+.1f} MB, target <= +{MEMORY_TARGET_MB:.0f} "
        f"MB: {verdict(grown <= MEMORY_TARGET_MB)}"
    ]


async def disconnect(settings: int, delay_s: float) -> list[str]:
    """Target 5, against services taking ``delay_s`` a call (so calls are surely in flight)."""
    async with services(delay_s=delay_s) as running, target(ORCHESTRATOR, running, NO_CACHE) as served:
        await closed_loop(served, orjson.dumps(backtest_request()), 1, 1, Measured())
        took, at_leaving, later = await time_to_no_call(served, running.url, sweep_body(settings))
    ms = 1000 * took
    return [
        f"   5. from the client's disconnect to no call in flight: {ms:.1f} ms ({at_leaving} in flight "
        f"when it left, services taking {1000 * delay_s:.0f} ms a call; {later} started after), "
        f"target < {STOP_TARGET_MS:.0f} ms: {verdict(ms < STOP_TARGET_MS and later == 0)}"
    ]


async def sweep(
    settings: int = 100,
    large: int = 1000,
    delay_s: float = 0.025,
    stop_delay_s: float = 0.2,
    rounds: int = 11,
) -> list[str]:
    """Issue 11's targets for ``POST /api/sweep``: ``settings`` for the calls and the times,
    ``large`` settings for the memory and the disconnect."""
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as scratch:
        log = str(Path(scratch) / "orchestrator.jsonl")
        async with services(delay_s=delay_s) as running:
            async with target(ORCHESTRATOR, running, {**NO_CACHE, **NO_HEDGE}) as served:
                exact, _, _ = await counted_sweep(served, running.url, sweep_body(settings))
            async with target(ORCHESTRATOR, running, {**NO_CACHE, "LOG_LEVEL": "INFO"}, log) as served:
                figures = await timed(served, running.url, log, settings, rounds)
            remembered = await memory(running, large)
    return [
        f"sweep: POST /api/sweep over {SWEPT}, N = {settings}, services taking "
        f"{1000 * delay_s:.0f} ms a call, cache off",
        *calls_lines(settings, exact, figures),
        *first_result_lines(figures),
        *total_time_lines(settings, figures),
        *remembered,
        *await disconnect(large, stop_delay_s),
    ]
