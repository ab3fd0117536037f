"""``python -m services NAME [--host HOST] [--port PORT]``: serve one reference service with uvicorn.

NAME is ``market_data``, ``strategy``, ``portfolio``, ``metrics`` or ``test_data`` (the market data
API over the fixed test fixture); each listens by default on its port in the orchestrator's service
registry (``orchestrator/registry.py``, 8012 to 8016), the table ``orchestrator dev`` reads too.
The market data provider is ``--provider`` (else ``MARKET_DATA_PROVIDER``, else ``sample``);
``csv`` reads ``--data-dir`` (else ``MARKET_DATA_DIR``); ``yahoo`` needs the extra (``pip install
'backtest-orchestrator[yahoo]'``, else exit code 2 saying so). SIGINT and SIGTERM stop the server
gracefully, with exit code 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from orchestrator.registry import BY_NAME
from services.market_data.providers import PROVIDERS, make_provider


def _market_data(args: argparse.Namespace) -> Starlette:
    from services.market_data.app import create_app

    return create_app(make_provider(args.provider, args.data_dir))


def _test_data(_: argparse.Namespace) -> Starlette:
    from services.market_data.app import create_test_data_app

    return create_test_data_app()


def _strategy(_: argparse.Namespace) -> Starlette:
    from services.strategy.app import create_app

    return create_app()


def _portfolio(_: argparse.Namespace) -> Starlette:
    from services.portfolio.app import create_app

    return create_app()


def _metrics(_: argparse.Namespace) -> Starlette:
    from services.metrics.app import create_app

    return create_app()


FACTORIES: dict[str, Callable[[argparse.Namespace], Starlette]] = {
    "market_data": _market_data,
    "strategy": _strategy,
    "portfolio": _portfolio,
    "metrics": _metrics,
    "test_data": _test_data,
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services", description="Serve one of the backtesting platform's reference services."
    )
    parser.add_argument("name", choices=list(FACTORIES), help="the service to serve")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: the service's port in the registry)")
    parser.add_argument("--provider", choices=PROVIDERS, help="market data provider (default: sample)")
    parser.add_argument("--data-dir", help="directory of CSV files for the csv provider")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        app = FACTORIES[args.name](args)
    except ValueError as error:  # a bad provider setting, e.g. no CSV directory
        print(f"services: {error}", file=sys.stderr)
        return 2
    server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=port_of(args), log_level="warning"))
    _stop_quietly_on_signals(server)
    server.run()
    return 0 if server.started else 1


def port_of(args: argparse.Namespace) -> int:
    """``--port``, else the service's port in the registry."""
    return args.port if args.port is not None else BY_NAME[args.name].default_port


def _stop_quietly_on_signals(server: uvicorn.Server) -> None:
    """Make SIGINT and SIGTERM a normal end (exit code 0, no KeyboardInterrupt traceback).

    uvicorn handles both while it serves, shuts down gracefully, then restores the previous handlers
    and raises the signal again, which by default kills the process (-15) or raises KeyboardInterrupt.
    These handlers receive that second delivery instead; a signal arriving before uvicorn has set up
    its own handlers still stops it, as it checks ``should_exit`` once started.
    """

    def stop(_signum: int, _frame: FrameType | None) -> None:
        server.should_exit = True

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
