"""``python -m benchmarks.soak``: ten thousand backtests with faults; does anything pile up?

The orchestrator runs in this process (so that its tasks can be counted), served over loopback as
``orchestrator serve`` serves it; the services run in another (``benchmarks.service_process``), one
call in ten misbehaving; sixteen clients send the backtests. Printed at the start (after a warm-up),
every tenth of the way, and at the end: resident memory, file descriptors, open sockets, asyncio
tasks and objects tracked by the garbage collector. Not part of the test run: it takes minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp

from benchmarks.processes import process, serving, wait_healthy
from benchmarks.resilience import backtest
from orchestrator.cli.platform import free_port
from orchestrator.logs import configure_logging
from orchestrator.registry import SERVICES
from orchestrator.settings import Settings
from orchestrator.web.app import create_app


def figures() -> dict[str, float]:
    """What this process holds now."""
    status = Path("/proc/self/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    fds = os.listdir("/proc/self/fd")
    sockets = sum(1 for fd in fds if _link(fd).startswith("socket:"))
    return {
        "rss_mb": rss_kb / 1024,
        "fds": len(fds),
        "sockets": sockets,
        "tasks": len(asyncio.all_tasks()),
        "gc_objects": len(gc.get_objects()),
    }


def _link(fd: str) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def line(label: str, done: int, values: dict[str, float], outcomes: Counter[str]) -> str:
    shown = "  ".join(
        f"{name} {value:,.1f}" if name == "rss_mb" else f"{name} {value:,.0f}"
        for name, value in values.items()
    )
    return f"{label:<6} {done:>6} backtests  {shown}  outcomes {dict(outcomes)}"


async def soak(backtests: int, clients: int, faults: float) -> None:
    services_port = free_port()
    services_url = f"http://127.0.0.1:{services_port}"
    with process(["-m", "benchmarks.service_process", "--port", str(services_port), "--faults", str(faults)]):
        await wait_healthy(services_url)
        settings = Settings(
            _env_file=None, log_level="WARNING", **{e.url_setting: services_url for e in SERVICES}
        )
        async with serving(create_app(settings)) as url:
            outcomes: Counter[str] = Counter()
            connector = aiohttp.TCPConnector(limit=clients)
            async with aiohttp.ClientSession(connector=connector) as session:

                async def run(count: int) -> None:
                    remaining = count

                    async def worker() -> None:
                        nonlocal remaining
                        while remaining > 0:
                            remaining -= 1
                            outcomes[(await backtest(session, url)).code] += 1

                    await asyncio.gather(*(worker() for _ in range(clients)))

                await run(200)  # warm: pools filled, latency estimates learnt
                outcomes.clear()
                gc.collect()
                start = figures()
                print(line("start", 0, start, outcomes), flush=True)
                began, step = time.monotonic(), max(1, backtests // 10)
                for done in range(step, backtests + 1, step):
                    await run(step)
                    print(line("", done, figures(), outcomes), flush=True)
                await asyncio.sleep(1)  # let the last cancellations settle
                gc.collect()
                end = figures()
                print(line("end", backtests, end, outcomes), flush=True)
                rate = backtests / (time.monotonic() - began)
                change = "  ".join(f"{name} {end[name] - start[name]:+,.1f}" for name in start)
                print(f"\n{backtests} backtests at {rate:.0f}/s; end minus start: {change}")


def parser() -> argparse.ArgumentParser:
    """The command line (tests/test_docs.py parses every command the docs give with it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--backtests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--faults", type=float, default=0.1, help="share of calls that misbehave")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging("WARNING")
    asyncio.run(soak(args.backtests, args.clients, args.faults))
    return 0


if __name__ == "__main__":
    sys.exit(main())
