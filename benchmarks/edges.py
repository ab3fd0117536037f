"""``python -m benchmarks.edges``: the orchestrator's edge against hostile clients and services.

As ``benchmarks.resilience``, three processes: the services, ``orchestrator serve`` with default
settings, and the attackers in this one. Four scenarios, each printing its figures:

* ``fuzz``: thousands of malformed requests (random methods, paths, headers and bodies: binary,
  deep, huge numbers, mutated backtests, gzip) and how each was answered; no 500, no input echoed.
* ``slow``: one client opens a thousand connections and trickles their headers; ``/health`` is
  polled all the while on a connection of its own.
* ``bombs``: thirty compression bombs (65 KB of gzip, 64 MB inflated) at once; the orchestrator's
  resident memory before and after.
* ``flood``: the market-data service answers 300 MB; the orchestrator's memory at its peak.
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
from typing import Any

import aiohttp

from benchmarks.fixtures import backtest_request
from benchmarks.processes import rss_mb
from benchmarks.resilience import health_polled, platform, quiet_collector, spread

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


async def slow(connections: int = 1000, seconds: float = 12.0) -> list[str]:
    async with platform([]) as running:
        host, port = running.url.removeprefix("http://").split(":")
        async with health_polled(running.url) as health:
            await asyncio.sleep(0.3)  # the poller has its connection before the flood

            async def trickle() -> str:
                """How the server ended this connection: at once (over the per-client cap), or with
                a 408 once the header timeout passed, or otherwise."""
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
    return [
        f"slow: {connections} connections from one client, each trickling its headers a line a second",
        f"  how they ended      {dict(outcomes)} (all within {took:.1f} s)",
        f"  /health meanwhile   {len(health['/health'])} polls; {spread(sorted(health['/health']), 1)}",
    ]


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


SCENARIOS = {"fuzz": fuzz, "slow": slow, "bombs": bombs, "flood": flood}


def main(argv: list[str] | None = None) -> int:
    quiet_collector()
    parser = argparse.ArgumentParser(prog="python -m benchmarks.edges", description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="*", choices=[*SCENARIOS, []], help="default: all four")
    args = parser.parse_args(argv)
    for name in args.scenario or SCENARIOS:
        began = time.perf_counter()
        lines = asyncio.run(SCENARIOS[name]())
        print(*lines, f"  ({time.perf_counter() - began:.0f} s)", "", sep="\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
