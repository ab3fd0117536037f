"""``python -m benchmarks.edges``: the orchestrator's edge against hostile clients and services.

As ``benchmarks.resilience``, three processes: the services, ``orchestrator serve`` with default
settings, and the attackers in this one. The scenarios, each printing its figures:

* ``fuzz``: thousands of malformed requests (random methods, paths, headers and bodies: binary,
  deep, huge numbers, mutated backtests, gzip) and how each was answered; no 500, no input echoed.
* ``slow``: one address opens 1,100 connections and trickles their headers, while the orchestrator
  may open 1,024 files; ``/health`` is polled and backtests run all the while from another address.
* ``bombs``: thirty compression bombs (65 KB of gzip, 64 MB inflated) at once; the orchestrator's
  resident memory before and after.
* ``flood``: the market-data service answers 300 MB; the orchestrator's memory at its peak.
* ``burst``: a thousand backtests at once from one address (what an ingress looks like from here):
  how each ended, and the slowest refusal against a bare aiohttp server refusing the same burst.
* ``streams``: two hundred progress streams at once from one address: how each ended.
* ``poison``: the market-data service writes a second, unsolicited answer (ticker POISON) 50 ms
  after each real one, on the same kept-alive connection; a hundred backtests with the cache on and
  a hundred with it off, each checked for another request's data.
* ``inflate``: ten backtests at once meet a market-data service answering gzip bombs (half a
  megabyte inflating to 512 MiB); the orchestrator's memory at its peak.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import random
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from benchmarks.processes import cpu_s, peak_rss_mb, process, rss_mb, wait_healthy
from benchmarks.resilience import health_polled, platform, quantile, quiet_collector, spread
from benchmarks.service_process import ticker_price
from fakes.realistic import backtest_request
from orchestrator.cli.platform import free_port
from orchestrator.cli.serve import raise_file_limit

MARKER = "ZQXMARK"
PATHS = ["/api/backtest", "/api/health", "/health", "/", "/static/app.js", "/static/", "/api/", "/nope"]
METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "BREW"]


# --- fuzz ------------------------------------------------------------------------------------------


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 10**30, rng.randint(-(10**6), 10**6)])
    if kind == 3:
        return rng.choice([1e308, -0.0, 3.14, rng.uniform(-1e9, 1e9)])
    if kind == 4:
        return MARKER + "".join(chr(rng.randrange(32, 0x2FF)) for _ in range(rng.randrange(12)))
    if kind in (5, 6):
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {MARKER + str(rng.randrange(99)): random_json(rng, depth + 1) for _ in range(rng.randrange(4))}


def random_body(rng: random.Random) -> tuple[bytes, dict[str, str]]:
    """A body and the headers it goes with."""
    json_type = {"Content-Type": "application/json"}
    match rng.randrange(7):
        case 0:
            return MARKER.encode() + rng.randbytes(rng.randrange(200)), json_type
        case 1:
            return json.dumps(random_json(rng)).encode(), json_type
        case 2:  # a backtest with one field replaced
            body = backtest_request()
            section = rng.choice(list(body))
            body[section][rng.choice([*body[section], MARKER])] = random_json(rng)
            return json.dumps(body).encode(), json_type
        case 3:  # deep: written by hand, as no encoder would nest it
            depth = rng.choice([20, 300, 5000])
            return b"[" * depth + f'"{MARKER}"'.encode() + b"]" * depth, json_type
        case 4:  # compressed, or claiming to be
            raw = json.dumps(backtest_request()).encode()
            return (gzip.compress(raw) if rng.random() < 0.5 else raw), {
                **json_type,
                "Content-Encoding": "gzip",
            }
        case 5:
            return json.dumps(backtest_request()).encode(), {
                "Content-Type": rng.choice(["text/plain", MARKER])
            }
        case _:
            return json.dumps(backtest_request()).encode(), json_type


async def one_fuzzed(session: aiohttp.ClientSession, url: str, rng: random.Random) -> tuple[int, bool, bool]:
    """(status, answered with the envelope or a success, echoed the marker)."""
    method = rng.choice(METHODS)
    path = (
        rng.choice(PATHS) if rng.random() < 0.7 else f"/{MARKER}/" + "".join(rng.choices("abc./%-_~", k=12))
    )
    body, headers = (
        random_body(rng) if method in ("POST", "PUT", "PATCH") or rng.random() < 0.2 else (b"", {})
    )
    headers = {**headers, **{f"X-{MARKER}-{i}": MARKER + str(rng.random()) for i in range(rng.randrange(3))}}
    if rng.random() < 0.3:
        headers["Accept"] = "text/event-stream"
    try:
        async with session.request(method, url + path, data=body or None, headers=headers) as answer:
            raw = await answer.read()
            kind = answer.headers.get("Content-Type", "")
    except aiohttp.ClientError:
        return 0, True, False  # the server closed the connection: no answer, nothing echoed
    enveloped = (
        answer.status < 400
        or method == "HEAD"
        or (kind.startswith("application/json") and b'"success":false' in raw)
    )
    echoed = answer.status >= 400 and MARKER.encode() in raw
    return answer.status, enveloped, echoed


async def fuzz(requests: int = 6000, seed: int = 9) -> list[str]:
    rng = random.Random(seed)
    statuses: Counter[int] = Counter()
    not_enveloped = echoed = 0
    async with platform([]) as running, aiohttp.ClientSession() as session:
        for _ in range(requests):
            status, enveloped, echo = await one_fuzzed(session, running.url, rng)
            statuses[status] += 1
            not_enveloped += not enveloped
            echoed += echo
    return [
        f"fuzz: {requests} malformed requests (seed {seed})",
        f"  answers by status   {dict(sorted(statuses.items()))}",
        f"  500s                {statuses[500]}",
        f"  not the envelope    {not_enveloped}",
        f"  input echoed        {echoed}",
    ]


# --- slow clients ----------------------------------------------------------------------------------


#: The others' address, on the loopback network: not the slow client's.
OTHER = "127.0.0.2"


async def slow(connections: int = 1100, seconds: float = 12.0, files: int = 1024) -> list[str]:
    async with platform([], files=files) as running:
        host, port = running.url.removeprefix("http://").split(":")
        async with (
            health_polled(running.url, source=OTHER) as health,
            backtests_from(OTHER, running.url) as others,
        ):
            await asyncio.sleep(0.3)  # the poller has its connection before the flood

            async def trickle() -> str:
                """How the server ended this connection: at once (short of descriptors), or with
                a 408 once its header deadline passed, or otherwise."""
                try:
                    reader, writer = await asyncio.open_connection(host, int(port))
                except OSError:
                    return "refused"
                opened = time.monotonic()
                try:
                    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                    while time.monotonic() - opened < seconds:
                        try:
                            answer = await asyncio.wait_for(reader.read(200), 1)
                        except TimeoutError:
                            if writer.is_closing():
                                break
                            writer.write(b"X-Slow: y\r\n")
                            continue
                        if b" 408 " in answer[:20]:
                            return f"408 after about {round(time.monotonic() - opened)} s"
                        return "closed at once" if time.monotonic() - opened < 1 else "closed"
                    return "still open"
                except ConnectionError:
                    return "closed at once" if time.monotonic() - opened < 1 else "closed"
                finally:
                    writer.close()

            began = time.monotonic()
            outcomes = Counter(await asyncio.gather(*(trickle() for _ in range(connections))))
            took = time.monotonic() - began
    statuses = Counter(status for status, _ in others)
    return [
        f"slow: {connections} connections from one address, each trickling its headers a line a "
        f"second; the orchestrator may open {files} files",
        f"  how they ended      {dict(outcomes)} (all within {took:.1f} s)",
        f"  /health meanwhile   from another address, {len(health['/health'])} polls; "
        f"{spread(sorted(health['/health']), 1)}",
        f"  backtests meanwhile from another address, {len(others)}: {dict(statuses)}; "
        f"{spread(sorted(ms for _, ms in others), 1)}",
    ]


@asynccontextmanager
async def backtests_from(
    source: str, url: str, every_s: float = 0.25
) -> AsyncIterator[list[tuple[int, float]]]:
    """A backtest every ``every_s`` from ``source`` while the block runs: (status, ms) of each."""
    done, answers = asyncio.Event(), []
    body = json.dumps(backtest_request()).encode()

    async def run() -> None:
        connector = aiohttp.TCPConnector(local_addr=(source, 0))
        async with aiohttp.ClientSession(connector=connector) as session:
            while not done.is_set():
                began = time.perf_counter()
                try:
                    async with session.post(
                        url + "/api/backtest", data=body, headers={"Content-Type": "application/json"}
                    ) as answer:
                        await answer.read()
                        status = answer.status
                except aiohttp.ClientError:
                    status = 0
                answers.append((status, (time.perf_counter() - began) * 1000))
                await asyncio.sleep(every_s)

    task = asyncio.create_task(run())
    try:
        yield answers
    finally:
        done.set()
        await task


# --- compression bombs and floods ------------------------------------------------------------------


async def bombs(count: int = 30) -> list[str]:
    bomb = gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9)
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    async with platform([]) as running, aiohttp.ClientSession() as session:
        before = rss_mb(running.orchestrator_pid)

        async def send() -> int:
            async with session.post(running.url + "/api/backtest", data=bomb, headers=headers) as answer:
                await answer.read()
                return answer.status

        statuses = Counter(await asyncio.gather(*(send() for _ in range(count))))
        after = rss_mb(running.orchestrator_pid)
    return [
        f"bombs: {count} gzip bodies of {len(bomb) // 1024} KB (64 MB inflated) at once",
        f"  answers             {dict(statuses)}",
        f"  orchestrator RSS    {before:.1f} MB before, {after:.1f} MB after ({after - before:+.1f} MB)",
    ]


async def flood(megabytes: int = 300) -> list[str]:
    async with platform(["--huge", str(megabytes)]) as running, aiohttp.ClientSession() as session:
        pid = running.orchestrator_pid
        before, peak = rss_mb(pid), 0.0
        body = json.dumps(backtest_request()).encode()
        request = asyncio.create_task(
            session.post(
                running.url + "/api/backtest", data=body, headers={"Content-Type": "application/json"}
            )
        )
        while not request.done():
            peak = max(peak, rss_mb(pid))
            await asyncio.sleep(0.01)
        answer = await request
        error = (await answer.json())["error"]
        after = rss_mb(pid)
    return [
        f"flood: the market-data service answers {megabytes} MB (the cap, MAX_ANSWER_BYTES, is 32 MB)",
        f"  answer              {answer.status} {error['code']}: {error['message']}",
        f"  orchestrator RSS    {before:.1f} MB before, {peak:.1f} MB at its peak ({peak - before:+.1f} MB), "
        f"{after:.1f} MB after",
    ]


# --- one address, many requests ---------------------------------------------------------------------


async def one_address(url: str, count: int, stream: bool = False) -> tuple[Counter[str], list[float]]:
    """``count`` backtests at once from this one address, each on a connection of its own; how each
    ended (``success``, ``503 + Retry-After``, anything else, or ``connection error``), and the
    seconds each refusal took."""
    body = json.dumps(backtest_request()).encode()
    headers = {"Content-Type": "application/json", **({"Accept": "text/event-stream"} if stream else {})}
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    refusals: list[float] = []

    async def ask(session: aiohttp.ClientSession) -> str:
        began = time.perf_counter()
        try:
            async with session.post(url + "/api/backtest", data=body, headers=headers) as answer:
                text = await answer.read()
        except aiohttp.ClientError:
            return "connection error"
        if answer.status == 503 and answer.headers.get("Retry-After"):
            refusals.append(time.perf_counter() - began)
            return "503 + Retry-After"
        succeeded = b"event: result" in text if stream else b'"success":true' in text[:20]
        return "success" if answer.status == 200 and succeeded else f"other ({answer.status})"

    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=120)
    ) as session:
        outcomes = Counter(await asyncio.gather(*(ask(session) for _ in range(count))))
    return outcomes, sorted(refusals)


@asynccontextmanager
async def refuser() -> AsyncIterator[tuple[str, int]]:
    """``benchmarks.refuser``: a bare aiohttp server answering every request 503 at once; its URL
    and process id."""
    port = free_port()
    with process(["-m", "benchmarks.refuser", "--port", str(port)]) as server:
        await wait_healthy(f"http://127.0.0.1:{port}", expect=503)
        yield f"http://127.0.0.1:{port}", server.pid


async def burst(count: int = 1000, rounds: int = 5) -> list[str]:
    """``rounds`` bursts at each server, taken in turns (the machine's noise falls on both alike);
    the slowest refusal of each burst, and the median of those."""
    ours: list[tuple[Counter[str], list[float], float]] = []
    bare: list[tuple[Counter[str], list[float], float]] = []
    async with platform([]) as running, refuser() as (url, pid):  # default settings: 128 per address
        for _ in range(rounds):
            ours.append(await _burst_at(running.url, running.orchestrator_pid, count))
            bare.append(await _burst_at(url, pid, count))
            await asyncio.sleep(1)  # the admission limit and the pools settle between bursts
    outcomes = sum((outcome for outcome, _, _ in ours), Counter())
    slowest = sorted(refused[-1] * 1000 for _, refused, _ in ours if refused)
    bare_slowest = sorted(refused[-1] * 1000 for _, refused, _ in bare if refused)
    ratio = quantile(slowest, 0.5) / quantile(bare_slowest, 0.5)
    return [
        f"burst: {count} backtests at once from one address, default settings, {rounds} times",
        f"  how they ended      {dict(outcomes)}",
        f"  slowest refusal     ms {', '.join(f'{ms:.0f}' for ms in slowest)}; server CPU a burst "
        f"{quantile(sorted(cpu for _, _, cpu in ours), 0.5):.2f} s",
        f"  a bare aiohttp server refusing all: ms {', '.join(f'{ms:.0f}' for ms in bare_slowest)}; "
        f"server CPU {quantile(sorted(cpu for _, _, cpu in bare), 0.5):.2f} s",
        f"  median slowest refusal {ratio:.2f}x the bare server's (allowed: 1.5x)",
    ]


async def _burst_at(url: str, pid: int, count: int) -> tuple[Counter[str], list[float], float]:
    before = cpu_s(pid)
    outcomes, refused = await one_address(url, count)
    return outcomes, refused, cpu_s(pid) - before


async def streams(count: int = 200) -> list[str]:
    async with platform(["--delay", "0.5"]) as running:  # each stream stays open a few seconds
        outcomes, refused = await one_address(running.url, count, stream=True)
    return [
        f"streams: {count} progress streams at once from one address, default settings",
        f"  how they ended      {dict(outcomes)}",
        f"  refusals            {spread([1000 * s for s in refused], 1)}",
    ]


# --- answers that are not ours ----------------------------------------------------------------------


async def poison(backtests: int = 100, clients: int = 4, tickers: int = 50) -> list[str]:
    """Each backtest asks for one of ``tickers`` tickers (so with the cache on, half are served from
    it) and for the prices it was answered with; an answer is poisoned when those prices, or where
    it says they came from, are not its ticker's."""
    lines = [
        f"poison: {backtests} backtests, {clients} at a time, over {tickers} tickers; 50 ms after each "
        "market-data answer the service writes another (ticker POISON) on the same connection"
    ]
    for cache in ("on", "off"):
        outcomes = await poisoned_run(cache == "on", backtests, clients, tickers)
        lines.append(
            f"  cache {cache:<4}           {outcomes['own']} with their own data, "
            f"{outcomes['poisoned']} with another request's, {outcomes['502']} answered 502, "
            f"{outcomes['other']} otherwise"
        )
    return lines


async def poisoned_run(cache: bool, backtests: int, clients: int, tickers: int) -> Counter[str]:
    env = {"CACHE__ENABLED": "true" if cache else "false"}
    names = iter([f"P{index % tickers:03d}" for index in range(backtests)])
    outcomes: Counter[str] = Counter()
    async with platform(["--stray", "0.05"], env) as running, aiohttp.ClientSession() as session:

        async def client() -> None:
            for ticker in names:
                outcomes[await one_poisoned(session, running.url, ticker)] += 1

        await asyncio.gather(*(client() for _ in range(clients)))
    return outcomes


async def one_poisoned(session: aiohttp.ClientSession, url: str, ticker: str) -> str:
    """``own``, ``poisoned``, ``502`` or ``other``: how the backtest of ``ticker`` was answered."""
    body = backtest_request()
    body["market_params"]["ticker"] = ticker
    body["include"] = ["market_data"]
    async with session.post(url + "/api/backtest", json=body) as answer:
        document = await answer.json()
    if answer.status == 502:
        return "502"
    if answer.status != 200:
        return "other"
    data = document["data"]
    prices = {bar["adjusted_close"] for bar in data["market_data"]["prices"]}
    own = data["metadata"]["data_source"].get("asked") == ticker and prices == {ticker_price(ticker)}
    return "own" if own else "poisoned"


async def inflate(count: int = 10, inflated_mib: int = 512) -> list[str]:
    async with platform(["--gzip-bomb", str(inflated_mib)]) as running, aiohttp.ClientSession() as session:
        pid = running.orchestrator_pid
        before = rss_mb(pid)
        exact = reset_peak(pid)
        body = json.dumps(backtest_request()).encode()
        headers = {"Content-Type": "application/json"}

        async def send() -> str:
            async with session.post(running.url + "/api/backtest", data=body, headers=headers) as answer:
                error = (await answer.json()).get("error") or {"code": "-", "message": "a success"}
                return f"{answer.status} {error['code']}: {error['message']}"

        requests = asyncio.gather(*(send() for _ in range(count)))
        polled = 0.0
        while not requests.done():
            polled = max(polled, rss_mb(pid))
            await asyncio.sleep(0.005)
        answers = Counter(await requests)
        peak = max(polled, peak_rss_mb(pid) if exact else 0.0)
        after = rss_mb(pid)
    return [
        f"inflate: {count} backtests at once; /prices answers {inflated_mib} MiB gzipped to about "
        f"{inflated_mib} KB",
        *(f"  answer              {n} x {text}" for text, n in answers.items()),
        f"  orchestrator RSS    {before:.1f} MB before, {peak:.1f} MB at its peak ({peak - before:+.1f} MB), "
        f"{after:.1f} MB after",
    ]


def reset_peak(pid: int) -> bool:
    """Reset the process's peak resident memory (``VmHWM``) to what it holds now: the peak read
    after is then exactly this scenario's. False where Linux does not allow it (polling alone)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


SCENARIOS = {
    "fuzz": fuzz,
    "slow": slow,
    "bombs": bombs,
    "flood": flood,
    "burst": burst,
    "streams": streams,
    "poison": poison,
    "inflate": inflate,
}


def parser() -> argparse.ArgumentParser:
    """The command line (tests/test_docs.py parses every command the docs give with it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.edges", description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="*", choices=[*SCENARIOS, []], help="default: all of them")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    quiet_collector()
    raise_file_limit()  # this process holds the slow connections
    for name in args.scenario or SCENARIOS:
        began = time.perf_counter()
        lines = asyncio.run(SCENARIOS[name]())
        print(*lines, f"  ({time.perf_counter() - began:.0f} s)", "", sep="\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
