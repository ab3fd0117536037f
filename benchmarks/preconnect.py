"""``python -m benchmarks.preconnect``: what readying connections ahead (``UPSTREAM_PRECONNECT``) buys.

Two ``orchestrator serve`` processes on one services process (``benchmarks.service_process``, each
service on a port of its own, answering after ``--delay``), identical but for
``UPSTREAM_PRECONNECT=true`` and ``false``, cache off (a user's backtests are not repeats of one
another's), measured in turns so that a noisy neighbour hits both alike:

* ``steady``: N clients, each sending its next backtest when its last is answered, for several
  rounds, services taking 25 ms a call: the pools are warm, as they are on a server in use. p50,
  p99 and the server's CPU milliseconds per backtest, each variant's rounds pooled.
* ``sparse``: one client, a backtest every few seconds per server, past the pools' keep-alive
  (``UPSTREAM_KEEPALIVE_S``, 4 s): every call finds its pool empty, as on a quiet server. The CPU
  is the whole run's over its backtests, idle time included (alike for both): one backtest takes
  less than the 10 ms tick ``/proc`` counts in.
* ``burst``: the cold burst preconnect was written for (``suite.scale``): 1,000 backtests sent at
  once, services taking 1 s a call, cache on, each variant started anew per round.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack

import orjson

from benchmarks.fixtures import backtest_request
from benchmarks.processes import cpu_s
from benchmarks.suite import (
    NO_CACHE,
    ORCHESTRATOR,
    SCALE_ENV,
    Measured,
    closed_loop,
    services,
    target,
)
from orchestrator.logs import configure_logging

VARIANTS = {"on": {"UPSTREAM_PRECONNECT": "true"}, "off": {"UPSTREAM_PRECONNECT": "false"}}


def turns(rounds: int) -> Iterator[tuple[str, ...]]:
    """The variants' order in each round, alternated, so that neither always goes first."""
    for index in range(rounds):
        yield tuple(VARIANTS) if index % 2 == 0 else tuple(reversed(VARIANTS))


async def steady(
    clients: tuple[int, ...] = (1, 4, 16), per_round: int = 400, rounds: int = 8, delay_s: float = 0.025
) -> list[str]:
    body = orjson.dumps(backtest_request())
    lines = [
        f"steady: N clients each sending backtests one after another, services taking "
        f"{delay_s * 1000:.0f} ms a call, cache off, warm pools; {rounds} rounds in turns",
        f"   {'preconnect':<11}{'clients':>8}{'backtests':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'CPU ms/bt':>11}{'failed':>8}",
    ]
    async with services(delay_s=delay_s) as running, AsyncExitStack() as stack:
        servers = {
            name: await stack.enter_async_context(target(ORCHESTRATOR, running, {**NO_CACHE, **env}))
            for name, env in VARIANTS.items()
        }
        for count in clients:
            measured = {name: Measured() for name in VARIANTS}
            for served in servers.values():  # warm: every pool holds what this many clients use
                await closed_loop(served, body, 4 * count, count, Measured(), connected=True)
            backtests = max(per_round // 10, per_round * count // 16) if count > 1 else per_round // 8
            for order in turns(rounds):
                for name in order:
                    await closed_loop(servers[name], body, backtests, count, measured[name], connected=True)
            for name, m in measured.items():
                lines.append(
                    f"   {name:<11}{count:>8}{len(m.latencies_s):>10}{m.ms(0.5):>9.1f}{m.ms(0.99):>9.1f}"
                    f"{m.cpu_ms:>11.3f}{m.failures:>8}"
                )
    return lines


async def sparse(backtests: int = 30, every_s: float = 5.0, delay_s: float = 0.025) -> list[str]:
    """One backtest at a time, each server's next ``every_s`` after its last: every pool cold."""
    body = orjson.dumps(backtest_request())
    lines = [
        f"sparse: one client, a backtest every {every_s:.0f} s per server (pools idle past their 4 s "
        f"keep-alive), services taking {delay_s * 1000:.0f} ms a call",
        f"   {'preconnect':<11}{'backtests':>10}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/bt':>11}{'failed':>8}",
    ]
    async with services(delay_s=delay_s) as running, AsyncExitStack() as stack:
        servers = {
            name: await stack.enter_async_context(target(ORCHESTRATOR, running, {**NO_CACHE, **env}))
            for name, env in VARIANTS.items()
        }
        measured = {name: Measured() for name in VARIANTS}
        for served in servers.values():
            await closed_loop(served, body, 2, 1, Measured())
        began = {name: cpu_s(served.pid) for name, served in servers.items()}
        for order in turns(backtests):
            for name in order:
                await asyncio.sleep(every_s / len(VARIANTS))
                await closed_loop(servers[name], body, 1, 1, measured[name], connected=True)
        for name, served in servers.items():  # the whole run's, idle time included: a tick is 10 ms
            measured[name].cpu_s = cpu_s(served.pid) - began[name]
    for name, m in measured.items():
        lines.append(
            f"   {name:<11}{len(m.latencies_s):>10}{m.ms(0.5):>9.1f}{m.ms(0.99):>9.1f}{m.cpu_ms:>11.3f}"
            f"{m.failures:>8}"
        )
    return lines


async def burst(backtests: int = 1000, rounds: int = 3, delay_s: float = 1.0) -> list[str]:
    bodies = [
        orjson.dumps(backtest_request(threshold=-0.01 - i / (100 * backtests))) for i in range(backtests)
    ]
    lines = [
        f"burst: {backtests} backtests sent at once, services taking {delay_s:g} s a call, cache on, "
        f"each server started anew; {rounds} rounds in turns",
        f"   {'preconnect':<11}{'ok':>6}{'p50 s':>8}{'p99 s':>8}{'CPU s':>8}{'peak MB':>9}",
    ]
    async with services(delay_s=delay_s) as running:
        for order in turns(rounds):
            for name in order:
                async with target(ORCHESTRATOR, running, {**SCALE_ENV, **VARIANTS[name]}) as served:
                    await closed_loop(served, orjson.dumps(backtest_request(days=252)), 8, 8, Measured())
                    measured, began = Measured(), cpu_s(served.pid)
                    await closed_loop(served, bodies, backtests, backtests, measured, connected=True)
                    used = cpu_s(served.pid) - began
                ok = len(measured.latencies_s) - measured.failures
                lines.append(
                    f"   {name:<11}{ok:>6}{measured.ms(0.5) / 1000:>8.2f}{measured.ms(0.99) / 1000:>8.2f}"
                    f"{used:>8.2f}{measured.peak_mb:>9.1f}"
                )
    return lines


PARTS = {"steady": steady, "sparse": sparse, "burst": burst}


async def run(parts: list[str]) -> None:
    for part in parts:
        began = time.perf_counter()
        lines = await PARTS[part]()
        print("", *lines, f"   ({time.perf_counter() - began:.0f} s)", sep="\n", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.preconnect", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--only", choices=PARTS, action="append", help="run only this part (repeatable)")
    args = parser.parse_args(argv)
    configure_logging("WARNING")
    asyncio.run(run(args.only or list(PARTS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
