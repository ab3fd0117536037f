"""The edge of the server, below the application: one connection at a time.

aiohttp's request handler (the protocol object of each connection) does three things here that no
middleware can, because they happen before a request exists or instead of one:

* **what the parser rejects** (a malformed request line, a header too long, too many headers) is
  answered by aiohttp itself as ``text/plain`` quoting the input back; here it is the error
  envelope, mapped by ``errors.to_api_error`` like everything else, with our words only;
* **a client that never finishes its first request's headers** is answered 408 and closed after
  ``header_timeout_s``; aiohttp 3.13 waits for ever, 3.14 closes such a connection unanswered after
  the keep-alive timeout (``idle_timeout_s``, which is longer by default; it also bounds later
  requests on a connection);
* **one address holding too many connections** (``EDGE__MAX_CONNECTIONS_PER_CLIENT``, or
  ``..._PER_PROXY`` for a trusted proxy): the connection past the cap is marked ``over_cap`` and
  given ``over_cap_timeout_s`` to send its request, which ``web/client_share.py`` answers 503 with
  ``Retry-After`` and ``Connection: close``. A request is never reset unanswered for it, unless
  the process is short of file descriptors (fewer than ``spare_descriptors`` left): then the
  connection past the cap is closed at once, so that one address cannot take the descriptors
  every other client needs.

Only the orchestrator's own server makes this handler (``web/server.py``'s ``EdgeServer``, which
``orchestrator serve``, each gunicorn worker and the tests all run): any other aiohttp server in the
process keeps aiohttp's own. The server hands each handler its config and the count of connections
per address it keeps; the handler reads one private name of aiohttp's, through
``web/aiohttp_internals.py``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import orjson
import structlog
from aiohttp import web

from orchestrator import metrics
from orchestrator.errors import ApiError, RequestTimeout, from_http_status, to_api_error
from orchestrator.limits import EdgeConfig
from orchestrator.schemas.responses import error_envelope
from orchestrator.web.aiohttp_internals import requests_parsed

try:
    import resource
except ImportError:  # not a Unix: no descriptor limit to read
    # the name is a module or None, and mypy types it as the module alone
    resource = None  # type: ignore[assignment]

log = structlog.get_logger("orchestrator.edge")

_UNLIMITED = 1 << 30

#: What every answer says in its ``Server`` header: no version for anyone to look up.
SERVER = "orchestrator"


#: The connections of each client address, kept by the server that makes the handlers.
Clients = Counter[str | None]


class EdgeRequestHandler(web.RequestHandler):
    """aiohttp's handler of one connection, with the edge's deadline and cap. Its own attributes
    are named ``_edge_*`` (and ``over_cap``), names aiohttp's handler does not use."""

    def __init__(
        self,
        manager: web.Server,
        *,
        loop: asyncio.AbstractEventLoop,
        edge: EdgeConfig,
        clients: Clients,
        **kwargs: Any,
    ) -> None:
        super().__init__(manager, loop=loop, **kwargs)
        self._edge_loop = loop
        self._edge = edge
        self._edge_clients = clients
        self._edge_deadline: asyncio.TimerHandle | None = None
        self._edge_peer: str | None = None
        #: The cap this connection's address is past, if it is: its one request is refused
        #: (``web/client_share.py``).
        self.over_cap: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        self._edge_peer = peer[0] if isinstance(peer, tuple) and peer else None
        clients = self._edge_clients
        clients[self._edge_peer] += 1
        timeout_s = self._edge.header_timeout_s
        cap = self._edge.connection_cap(self._edge_peer)
        if clients[self._edge_peer] > cap:
            if _short_of_descriptors(transport, self._edge.spare_descriptors):
                metrics.child(metrics.SHED, "descriptors").inc()
                self.force_close()
                return
            self.over_cap = cap
            timeout_s = min(timeout_s, self._edge.over_cap_timeout_s)
        self._edge_deadline = self._edge_loop.call_later(timeout_s, self._headers_overdue)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._edge_deadline is not None and requests_parsed(self):
            self._edge_deadline.cancel()  # the first request's headers are in
            self._edge_deadline = None

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._edge_deadline is not None:
            self._edge_deadline.cancel()
            self._edge_deadline = None
        clients = self._edge_clients
        clients[self._edge_peer] -= 1
        if clients[self._edge_peer] <= 0:
            del clients[self._edge_peer]
        super().connection_lost(exc)

    def _headers_overdue(self) -> None:
        self._edge_deadline = None
        if requests_parsed(self) or self.transport is None or self.transport.is_closing():
            return
        error = RequestTimeout("The request's headers took too long to arrive", {})
        self.transport.write(_raw_answer(error))
        self.force_close()  # closes the transport once the answer is written

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """What the parser or a broken handler left: the envelope, never the input quoted back."""
        if status >= 500 and not isinstance(exc, ApiError):
            log.error("unexpected error below the application", exc_info=exc)
        error = to_api_error(exc) if exc is not None else from_http_status(status)
        response = web.Response(
            body=orjson.dumps(error_envelope(error).model_dump()),
            status=error.status,
            headers={"Server": SERVER},
        )
        response.content_type = "application/json"
        response.force_close()
        return response


def _short_of_descriptors(transport: asyncio.BaseTransport, spare: int) -> bool:
    """Whether fewer than ``spare`` file descriptors are left. The kernel gives a new socket the
    lowest free number, so every number below this connection's is taken: its number counts the
    descriptors in use, for free."""
    sock = transport.get_extra_info("socket")
    return sock is not None and sock.fileno() >= _descriptor_limit() - spare


def _descriptor_limit() -> int:
    """The process's soft limit on open files (read each time: ``orchestrator serve`` may raise it)."""
    if resource is None:
        return _UNLIMITED
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return _UNLIMITED if soft == resource.RLIM_INFINITY else soft


def _raw_answer(error: ApiError) -> bytes:
    """A whole HTTP/1.1 answer, for a connection that has no request to answer."""
    body = orjson.dumps(error_envelope(error).model_dump())
    head = (
        f"HTTP/1.1 {error.status} {error.code.replace('_', ' ').title()}\r\nServer: {SERVER}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body
