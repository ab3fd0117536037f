"""``python -m benchmarks`` (``make bench``): the orchestrator's performance figures and their ratios.

Every ratio is against a reference measured in the same run, because machines here are shared and
noisy; absolute figures move from run to run, ratios much less. See ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable

from benchmarks import graph_overhead, suite, sweep
from benchmarks.loop_errors import LoopErrors
from benchmarks.resilience import quiet_collector
from benchmarks.tables import graph_table, header, loop_errors_lines
from orchestrator.logs import configure_logging

DEFAULT_N = 4000
QUICK_N = 1000
#: The suite's scenarios, and the sweep's (``benchmarks/sweep.py``, on the suite's processes).
SCENARIOS = {**suite.SCENARIOS, "sweep": sweep.sweep}
PARTS = ("graph", *SCENARIOS)


def parser() -> argparse.ArgumentParser:
    """The command line (tests/test_docs.py parses every command the docs give with it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer backtests everywhere (a smoke run)")
    parser.add_argument(
        "--n", type=int, help=f"backtests per variant in the graph benchmark (default {DEFAULT_N})"
    )
    parser.add_argument("--only", choices=PARTS, action="append", help="run only this part (repeatable)")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    command = parser()
    args = command.parse_args(argv)
    args.n = args.n or (QUICK_N if args.quick else DEFAULT_N)
    if args.n < 5:
        command.error("--n must be at least 5")
    return args


def quick(scenario: str) -> Callable[[], Awaitable[list[str]]]:
    """The scenario on a tenth of its backtests: it runs, its figures mean little."""
    small = {
        "cost": lambda: suite.cost(requests=120),
        "cost-long": lambda: suite.cost_long(requests=32),
        "latency": lambda: suite.latency(requests=16),
        "scale": lambda: suite.scale(backtests=100),
        "cache": lambda: suite.cache(identical=5, requests=60),
        "sweep": lambda: sweep.sweep(settings=20, large=100, rounds=3),
    }
    return small[scenario]


async def run(args: argparse.Namespace) -> LoopErrors:
    errors = LoopErrors()
    asyncio.get_running_loop().set_exception_handler(errors)
    print(header(), flush=True)
    for part in args.only or PARTS:
        began = time.perf_counter()
        if part == "graph":
            lines = graph_table(await graph_overhead.measure(args.n))
        else:
            lines = await (quick(part) if args.quick else SCENARIOS[part])()
        print("", *lines, f"   ({time.perf_counter() - began:.0f} s)", sep="\n", flush=True)
    return errors


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging("WARNING")
    quiet_collector()
    began = time.perf_counter()
    errors = asyncio.run(run(args))
    print(*loop_errors_lines(errors), sep="\n")
    print(f"\n(done in {time.perf_counter() - began:.0f} s)", file=sys.stderr)
    return 1 if errors.count else 0


if __name__ == "__main__":
    sys.exit(main())
