"""``orchestrator serve``: run the gateway until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import gc
import sys


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("serve", help="serve the API (settings from the environment)")
    parser.add_argument("--host", help="interface to bind (default: $HOST or 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port to bind (default: $PORT or 8011)")
    parser.add_argument(
        "--workers", type=int, help="worker processes; more than 1 runs gunicorn (default: $WORKERS or 1)"
    )
    parser.set_defaults(run=run)


def tune_garbage_collection(thresholds: tuple[int, int, int]) -> None:
    """Fewer, cheaper pauses under load.

    A full collection walks every tracked object; with a hundred backtests in flight (each a graph of
    a few thousand small objects that lives for seconds) CPython's default thresholds promote every
    one of them to the oldest generation and so collect it in full every second or two, each pause
    100-250 ms. Higher thresholds let short-lived objects die young, and freezing what start-up made
    (modules, models, schemas) keeps it out of every later walk. Measured in docs/performance.md.
    """
    gc.set_threshold(*thresholds)
    gc.collect()
    gc.freeze()


def raise_file_limit() -> tuple[int, int] | None:
    """Let the process open as many files as its hard limit allows (Go's runtime does the same).

    Every connection is a file descriptor. Containers and systemd often start a process with a soft
    limit of 1,024 and a hard one far above it, and the soft one is what counts: a thousand clients
    would exhaust it. Returns the (soft, hard) limits now, or None where there are none to read.
    """
    try:
        import resource
    except ImportError:  # not a Unix
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def run(args: argparse.Namespace) -> int:
    # Imported here: the other commands share this command line, and `orchestrator backtest` is a
    # plain HTTP client that loads nothing of the server.
    from orchestrator.logs import configure_logging
    from orchestrator.settings import SettingsError, load_settings
    from orchestrator.web import server
    from orchestrator.web.app import create_app

    keys = ("host", "port", "workers")
    overrides = {key: value for key in keys if (value := getattr(args, key, None)) is not None}
    try:
        settings = load_settings(**overrides)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    raise_file_limit()  # before any worker is forked: they inherit it
    if settings.workers > 1:
        from orchestrator.cli.workers import serve_workers

        return serve_workers(settings)
    configure_logging(settings.log_level, settings.log_format, max_chars=settings.log_value_chars)
    app = create_app(settings)
    tune_garbage_collection(settings.gc_thresholds)
    server.run(app, announce=lambda message: print(message, file=sys.stderr))
    return 0
