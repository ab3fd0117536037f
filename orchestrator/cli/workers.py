"""``orchestrator serve --workers N`` (N > 1): the gateway in N processes, under gunicorn.

gunicorn's master binds ``HOST:PORT`` once, forks N workers that accept from that one socket, and
restarts a worker that dies. Each worker is aiohttp's own gunicorn worker (``GunicornUVLoopWebWorker``
when uvloop imports, else ``GunicornWebWorker``): it builds the application after the fork, with
``create_app``, so that nothing that lives on an event loop (sessions, connection pools, the
scheduler) and nothing learned at run time (the cache, the breakers, the latency of each service,
the admission limit) is shared between workers. Only the settings are common to all, and the
metrics: ``/metrics``, answered by any worker, reads every worker's (``prometheus_client``'s
multiprocess mode, which must be chosen before ``prometheus_client`` is first imported, and loading
the settings imports it: so ``serve_workers`` prepares its directory, then replaces the process with
the master, ``python -m orchestrator.cli.workers``; the pid stays the same).

Each worker runs the application as ``orchestrator serve`` does in one process: through the same
runner (``web/server.py``: the orchestrator's own server, each connection handled by the edge, with
cancelled handlers, no access log and the shutdown timeout), which aiohttp's worker serves on the
socket gunicorn's master bound; logging
as JSON lines to stdout with each line's ``pid`` saying which worker wrote it, and the collector
tuned once the application is built.

**SIGTERM** to the master: it closes its listening socket and sends SIGTERM to every worker; each
worker stops accepting, runs the application's drain (``web/admission.py``: new backtests refused,
those in flight given ``DRAIN__GRACE_S``), closes its sessions and exits 0; the master then exits 0.
gunicorn kills a worker still alive ``graceful_timeout`` after the signal: that is set above the
drain's grace plus aiohttp's own shutdown timeout, so the drain always has its time.

The master reads nothing of gunicorn's command line, configuration file or ``GUNICORN_CMD_ARGS``:
the orchestrator's settings are the one source (docs/configuration.md). See docs/operations.md.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Coroutine, MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import structlog
from gunicorn.app.base import BaseApplication

from orchestrator.cli.serve import tune_garbage_collection
from orchestrator.logs import configure_logging

if TYPE_CHECKING:
    from orchestrator.settings import Settings
    from orchestrator.web.server import EdgeRunner

#: Where prometheus_client's multiprocess mode keeps each process's metrics (its variable).
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
#: What the worker may need beyond the application's own shutdown timeout (aiohttp's worker notices
#: the signal within a second, then closes the sessions), before gunicorn kills it.
SHUTDOWN_MARGIN_S = 5


def serve_workers(settings: Settings) -> NoReturn:
    """Prepare the metrics directory, then become gunicorn's master (the process is replaced).

    ``$PROMETHEUS_MULTIPROC_DIR`` when set (emptied of the metrics of an earlier run), else a new
    temporary directory, removed when the master exits."""
    given = os.environ.get(METRICS_DIR)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink()
    os.environ[METRICS_DIR] = given or tempfile.mkdtemp(prefix="orchestrator-metrics-")
    command = [sys.executable, "-m", "orchestrator.cli.workers"]
    command += ["--host", settings.host, "--port", str(settings.port), "--workers", str(settings.workers)]
    if not given:
        command.append("--remove-metrics-dir")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)


def main(argv: Sequence[str] | None = None) -> int:
    """The master: ``python -m orchestrator.cli.workers``, as ``serve_workers`` starts it."""
    parser = argparse.ArgumentParser(prog="orchestrator serve")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--remove-metrics-dir", action="store_true")
    args = parser.parse_args(argv)

    from orchestrator.settings import SettingsError, load_settings

    try:
        settings = load_settings(host=args.host, port=args.port, workers=args.workers)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    Workers(settings, owns_metrics_dir=args.remove_metrics_dir).run()  # exits the process
    return 0


def worker_class() -> str:
    """aiohttp's gunicorn worker, on uvloop where uvloop is installed (it is not on Windows)."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "aiohttp.worker.GunicornWebWorker"
    return "aiohttp.worker.GunicornUVLoopWebWorker"


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """gunicorn's settings, all of them from ours."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host  # an IPv6 address
    from orchestrator.web.server import listen_options, runner_options

    # The worker's own shutdown: ``shutdown_timeout`` covers the drain's grace (and 5 s more).
    shutdown_s = runner_options(settings)["shutdown_timeout"]
    graceful_s = math.ceil(shutdown_s) + SHUTDOWN_MARGIN_S
    options: dict[str, Any] = {
        "bind": [f"{host}:{settings.port}"],
        "workers": settings.workers,
        "backlog": listen_options(settings)["backlog"],
        "worker_class": worker_class(),
        # SIGTERM to the master: workers still alive this long after it are killed.
        "graceful_timeout": graceful_s,
        # A worker that has not told the master it is alive for this long is killed. A draining
        # worker stops telling (aiohttp's worker reports only while it serves): never before the
        # drain could be over.
        "timeout": graceful_s,
        "loglevel": settings.log_level.lower(),  # the master's own lines, as text on stderr
        "proc_name": "orchestrator",
        # gunicorn >= 25.1 opens a control socket under $HOME by default; nothing here uses it, and
        # two masters on one host would fight over its path.
        "control_socket_disable": True,
    }
    if os.path.isdir("/dev/shm"):  # the heartbeat files: in memory, never on a container's overlay
        options["worker_tmp_dir"] = "/dev/shm"
    return options


class Workers(BaseApplication):
    """gunicorn's application: ``load`` gives each worker a coroutine that builds the runner."""

    def __init__(self, settings: Settings, owns_metrics_dir: bool = False) -> None:
        self.settings = settings
        self.owns_metrics_dir = owns_metrics_dir
        super().__init__(prog="orchestrator serve")

    def load_config(self) -> None:
        options = gunicorn_options(self.settings)
        if os.environ.get(METRICS_DIR):
            options["child_exit"] = forget_worker_metrics
            if self.owns_metrics_dir:
                options["on_exit"] = remove_metrics_dir
        for name, value in options.items():
            if name in self.cfg.settings:  # a setting an older gunicorn does not have is not needed
                self.cfg.set(name, value)

    # aiohttp's worker takes a coroutine function making an AppRunner, which gunicorn's stubs
    # (types-gunicorn: a WSGI or ASGI application) do not know
    def load(self) -> Callable[[], Coroutine[Any, Any, EdgeRunner]]:  # type: ignore[override]
        settings = self.settings

        async def runner() -> EdgeRunner:
            """Called by aiohttp's worker in the worker process, after the fork, on its loop."""
            from orchestrator.web import server
            from orchestrator.web.app import create_app

            configure_logging(settings.log_level, settings.log_format, max_chars=settings.log_value_chars)
            tag_lines_with_pid()
            app = create_app(settings)
            tune_garbage_collection(settings.gc_thresholds)
            return server.runner(app)

        # A coroutine function: aiohttp's worker awaits it and, given a web.AppRunner (ours is one),
        # serves that runner as it is, on the socket gunicorn's master bound.
        return runner


def tag_lines_with_pid() -> None:
    """Every log line of this process gains ``pid``: which worker wrote it."""
    pid = os.getpid()

    def add_pid(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event_dict["pid"] = pid
        return event_dict

    processors = structlog.get_config()["processors"]
    structlog.configure(processors=[add_pid, *processors])


def forget_worker_metrics(_server: Any, worker: Any) -> None:
    """gunicorn's child_exit, in the master: a dead worker's live gauges count no more (its counters
    and histograms still do: what it counted happened)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def remove_metrics_dir(_server: Any) -> None:
    """gunicorn's on_exit: the temporary directory ``serve_workers`` made goes with the master."""
    shutil.rmtree(os.environ[METRICS_DIR], ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
