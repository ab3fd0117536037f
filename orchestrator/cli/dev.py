"""``orchestrator dev``: the whole platform, offline, in one command; Ctrl-C or SIGTERM stops it all.

The reference services need the ``services`` extra; without it the command stops before starting
anything, with exit status 2 and the line that installs it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from orchestrator.cli.platform import INSTALL_SERVICES, SERVICES_STACK, LocalPlatform, missing_modules
from orchestrator.registry import ORCHESTRATOR_PORT, SERVICES


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "dev", help="run the orchestrator with the bundled reference services on loopback (no network)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface for every process (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=ORCHESTRATOR_PORT, help="orchestrator port (default 8011)"
    )
    first_port = SERVICES[0].default_port
    parser.add_argument(
        "--services-port",
        type=int,
        default=first_port,
        help=f"port of the first reference service; the others follow it (default {first_port})",
    )
    parser.add_argument(
        "--log-format", choices=("console", "json"), default="console", help="orchestrator log format"
    )
    parser.set_defaults(run=run)


def platform_for(args: argparse.Namespace) -> LocalPlatform:
    """The processes to start: each service on ``--services-port`` plus its place in the registry."""
    return LocalPlatform(
        host=args.host,
        ports={entry.name: args.services_port + offset for offset, entry in enumerate(SERVICES)},
        orchestrator_port=args.port,
        env={"LOG_FORMAT": args.log_format},
    )


def run(args: argparse.Namespace) -> int:
    if missing := missing_modules(SERVICES_STACK):
        print(
            f"orchestrator dev: the reference services need {', '.join(missing)}, not installed here; "
            f"install them with: {INSTALL_SERVICES}",
            file=sys.stderr,
        )
        return 2
    platform = platform_for(args)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        platform.start()
    except (RuntimeError, TimeoutError) as error:
        print(f"could not start the platform: {error}", file=sys.stderr)
        return 1
    _announce(platform)
    try:
        while not stopping.wait(0.5):
            if gone := platform.exited():
                print(f"stopping: {', '.join(gone)} exited unexpectedly", file=sys.stderr)
                return 1
        return 0
    finally:
        platform.stop()
        print("platform stopped", file=sys.stderr)


def _market_data() -> str:
    """What the market-data service serves, as its provider is chosen (``MARKET_DATA_PROVIDER``)."""
    provider = os.environ.get("MARKET_DATA_PROVIDER", "").strip().lower() or "sample"
    return {
        "sample": "synthetic sample data on the NYSE's sessions, no network needed",
        "csv": f"prices from the CSV files in {os.environ.get('MARKET_DATA_DIR', '?')}",
        "yahoo": "real prices from Yahoo Finance, cached on disk",
    }.get(provider, f"market data from the {provider!r} provider")


def _announce(platform: LocalPlatform) -> None:
    services = "\n".join(f"  {entry.name:<12} {platform.service_url(entry.name)}" for entry in SERVICES)
    print(
        f"""
The backtesting platform is up (reference services, {_market_data()}).

  page         {platform.url}/
  API          {platform.url}/api/backtest
  health       {platform.url}/api/health
{services}

Try:
  orchestrator backtest --url {platform.url} --ticker TQQQ --start 2020-01-01 --end 2022-01-01 \\
      --strategy buy_the_dip --threshold -0.05

Ctrl-C stops everything.
""",
        flush=True,
    )
