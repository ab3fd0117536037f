"""``python -m benchmarks``: print the orchestrator's performance figures and their ratios.

Every ratio is against a reference measured in the same run, because machines here are shared and
noisy; absolute figures move from run to run, ratios much less. See ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from benchmarks import end_to_end, graph_overhead
from benchmarks.loop_errors import LoopErrors
from benchmarks.tables import end_to_end_table, graph_table, header, loop_errors_lines
from orchestrator.logs import configure_logging

DEFAULT_N = 4000
QUICK_N = 1000
REQUESTS_PER_N = 4  # an end-to-end backtest costs a few times what the graph alone costs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"a short run (--n {QUICK_N}), about 10 s")
    parser.add_argument(
        "--n",
        type=int,
        help=f"backtests per variant in the graph benchmark (default {DEFAULT_N}); the end-to-end "
        f"benchmark sends N/{REQUESTS_PER_N} requests per path and concurrency unless --requests is given",
    )
    parser.add_argument("--requests", type=int, help="requests per path and concurrency, end to end")
    parser.add_argument("--only", choices=("graph", "e2e"), help="run one benchmark (e.g. to profile it)")
    args = parser.parse_args(argv)
    args.n = args.n or (QUICK_N if args.quick else DEFAULT_N)
    args.requests = args.requests or max(8, args.n // REQUESTS_PER_N)
    if args.n < 5 or args.requests < 2:
        parser.error("--n must be at least 5 and --requests at least 2")
    return args


async def run(args: argparse.Namespace) -> LoopErrors:
    errors = LoopErrors()
    asyncio.get_running_loop().set_exception_handler(errors)
    print(header(), flush=True)
    if args.only in (None, "graph"):
        print("", *graph_table(await graph_overhead.measure(args.n)), sep="\n", flush=True)
    if args.only in (None, "e2e"):
        print("", *end_to_end_table(await end_to_end.measure(args.requests)), sep="\n", flush=True)
    return errors


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging("WARNING")
    began = time.perf_counter()
    errors = asyncio.run(run(args))
    print(*loop_errors_lines(errors), sep="\n")
    print(f"\n(done in {time.perf_counter() - began:.0f} s)", file=sys.stderr)
    return 1 if errors.count else 0


if __name__ == "__main__":
    sys.exit(main())
