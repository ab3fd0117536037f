"""``orchestrator dev``: the whole platform, offline, in one command; Ctrl-C or SIGTERM stops it all."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from orchestrator.cli.platform import ORCHESTRATOR_PORT, SERVICES, LocalPlatform


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "dev", help="run the orchestrator with the bundled reference services on loopback (no network)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface for every process (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=ORCHESTRATOR_PORT, help="orchestrator port (default 8011)"
    )
    parser.add_argument(
        "--services-port",
        type=int,
        default=SERVICES[0][2],
        help="port of the first reference service; the others follow it (default 8012, up to 8016)",
    )
    parser.add_argument(
        "--log-format", choices=("console", "json"), default="console", help="orchestrator log format"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    platform = LocalPlatform(
        host=args.host,
        ports={name: args.services_port + offset for offset, (name, _, _) in enumerate(SERVICES)},
        orchestrator_port=args.port,
        env={"LOG_FORMAT": args.log_format},
    )
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


def _announce(platform: LocalPlatform) -> None:
    services = "\n".join(f"  {name:<12} {platform.service_url(name)}" for name, _, _ in SERVICES)
    print(
        f"""
The backtesting platform is up (reference services, synthetic sample data, no network needed).

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
