"""The ``orchestrator`` command: one module per subcommand, each with ``register(commands)``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from orchestrator.build_info import build_info
from orchestrator.cli import backtest, compare, dev, job, keys, serve, sweep, tickers


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="orchestrator", description="The backtesting platform's API gateway."
    )
    # the version, and the commit where the build said it (orchestrator/build_info.py)
    parser.add_argument("--version", action="version", version=build_info().describe())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (serve, dev, backtest, sweep, compare, job, tickers, keys):
        module.register(commands)
    args = parser.parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
