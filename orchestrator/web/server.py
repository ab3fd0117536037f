"""The orchestrator's own server: aiohttp's, each connection handled by the edge, for its application only.

Every way the application is served goes through :func:`runner`: ``orchestrator serve`` in one
process (:func:`run`), each gunicorn worker (``cli/workers.py``, whose aiohttp worker serves the
runner it is handed), and the tests (``tests/serving.py``). The runner serves the application
through an :class:`EdgeServer`, which makes an ``EdgeRequestHandler`` (``web/protocol.py``: the
header deadline, the connection cap per address, parser errors in the envelope) for each of its
connections, with the edge's settings. Nothing of aiohttp is changed for anyone else: another
aiohttp server in the process (a test's fake service, say) is aiohttp's own, as it would be
without us (``tests/orchestrator/web/test_server.py`` serves one beside ours).

How the application is served is the same everywhere (:func:`runner_options`): a handler whose
client went away is cancelled (so are its calls downstream), no access log (the canonical line per
request replaces it), and the server waits ``DRAIN__GRACE_S`` + 5 s for the requests in flight when
it stops. The settings are the application's (``create_app`` keeps them).
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiohttp import web

from orchestrator.limits import EdgeConfig
from orchestrator.settings import Settings
from orchestrator.web.aiohttp_internals import OwnServerRunner, RequestFactory, RequestHandlerFunction
from orchestrator.web.keys import SETTINGS
from orchestrator.web.protocol import Clients, EdgeRequestHandler

#: What the shutdown allows beyond the drain's grace: the sessions' closing, the streams' last event.
SHUTDOWN_MARGIN_S = 5


class EdgeServer(web.Server):
    """aiohttp's low-level server, its connections handled by ``EdgeRequestHandler``; it keeps the
    count of each client address's connections that the handlers share."""

    def __init__(
        self,
        handler: RequestHandlerFunction,
        *,
        edge: EdgeConfig,
        request_factory: RequestFactory | None = None,
        handler_cancellation: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
        **handler_options: Any,
    ) -> None:
        loop = loop or asyncio.get_running_loop()
        super().__init__(
            handler, request_factory=request_factory, handler_cancellation=handler_cancellation, loop=loop
        )
        self.edge = edge
        #: Connections open now, by client address.
        self.clients: Clients = Counter()
        self._edge_loop = loop
        self._edge_handler_options = handler_options

    def __call__(self) -> EdgeRequestHandler:
        """A connection's handler (the server is the protocol factory of the sites' listeners)."""
        return EdgeRequestHandler(
            self, loop=self._edge_loop, edge=self.edge, clients=self.clients, **self._edge_handler_options
        )


class EdgeRunner(OwnServerRunner):
    """``web.AppRunner`` for the orchestrator's application: served through an :class:`EdgeServer`
    with the edge's limits. The application's own ``handler_args`` are not read: the edge's are."""

    def __init__(
        self,
        app: web.Application,
        edge: EdgeConfig,
        *,
        handler_cancellation: bool = True,
        shutdown_timeout: float = 60.0,
        handle_signals: bool = False,
        **handler_options: Any,
    ) -> None:
        super().__init__(app, handle_signals=handle_signals, shutdown_timeout=shutdown_timeout)
        self.edge = edge
        self._edge_cancellation = handler_cancellation
        self._edge_handler_options = {**edge_limits(edge), **handler_options}

    def make_server(self, handler: RequestHandlerFunction, request_factory: RequestFactory) -> EdgeServer:
        return EdgeServer(
            handler,
            edge=self.edge,
            request_factory=request_factory,
            handler_cancellation=self._edge_cancellation,
            **self._edge_handler_options,
        )


def edge_limits(edge: EdgeConfig) -> dict[str, Any]:
    """What each connection's handler enforces besides the deadline and the cap: aiohttp's own
    ``RequestHandler`` options. Compressed bodies are not inflated at all: a 65 KB gzip body can
    inflate to 64 MB before any size limit could apply, so a body with a Content-Encoding is refused
    instead (``json_http.read_json``)."""
    return {
        "keepalive_timeout": edge.idle_timeout_s,
        "lingering_time": edge.linger_s,
        "max_line_size": edge.max_header_bytes,
        "max_field_size": edge.max_header_bytes,
        "max_headers": edge.max_headers,
        "auto_decompress": False,
    }


def runner_options(settings: Settings) -> dict[str, Any]:
    """How the application is served, in this process or in each gunicorn worker."""
    return {
        # Cancel a handler whose client went away, so its downstream calls are cancelled too.
        "handler_cancellation": True,
        # On SIGTERM the drain gives backtests their grace period; this is only a last resort.
        "shutdown_timeout": settings.drain.grace_s + SHUTDOWN_MARGIN_S,
        "access_log": None,  # the canonical line per request replaces the access log
    }


def listen_options(settings: Settings) -> dict[str, Any]:
    """How the listening socket is made, in this process (``web.TCPSite``) or by gunicorn's master."""
    return {"backlog": settings.edge.backlog}


def runner(app: web.Application) -> EdgeRunner:
    """The runner of the orchestrator's application (``create_app``), with its settings."""
    settings = app[SETTINGS]
    return EdgeRunner(app, settings.edge, **runner_options(settings))


def run(app: web.Application, announce: Callable[[str], None] = print) -> None:
    """Serve ``app`` on its settings' host and port until SIGINT or SIGTERM, then stop as the
    runner does: new connections refused, the application's shutdown (the drain), the requests in
    flight given the shutdown timeout, the cleanup (sessions closed). ``announce`` is told where."""
    asyncio.run(_serve(app, announce))


async def _serve(app: web.Application, announce: Callable[[str], None]) -> None:
    settings = app[SETTINGS]
    stop = asyncio.Event()
    handled = _on_signals(stop.set, signal.SIGINT, signal.SIGTERM)
    served = runner(app)
    try:
        await served.setup()
        if not stop.is_set():  # no signal during the application's startup
            site = web.TCPSite(served, settings.host, settings.port, **listen_options(settings))
            await site.start()
            announce(f"======== Running on {site.name} ========\n(Press CTRL+C to quit)")
            await stop.wait()
    finally:
        await served.cleanup()
        for signum in handled:
            asyncio.get_running_loop().remove_signal_handler(signum)


def _on_signals(handler: Callable[[], None], *signums: int) -> list[int]:
    """Call ``handler`` on the loop at each of ``signums``; the ones it could (none on Windows,
    where Ctrl-C raises KeyboardInterrupt and ``asyncio.run`` still runs the cleanup)."""
    loop = asyncio.get_running_loop()
    handled = []
    for signum in signums:
        try:
            loop.add_signal_handler(signum, handler)
        except NotImplementedError:  # pragma: no cover (Windows)
            continue
        handled.append(signum)
    return handled
