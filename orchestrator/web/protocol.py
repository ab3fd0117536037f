"""The edge of the server, below the application: one connection at a time.

aiohttp's request handler (the protocol object of each connection) does three things here that no
middleware can, because they happen before a request exists or instead of one:

* **what the parser rejects** (a malformed request line, a header too long, too many headers) is
  answered by aiohttp itself as ``text/plain`` quoting the input back; here it is the error
  envelope, mapped by ``errors.to_api_error`` like everything else, with our words only;
* **a client that never finishes its first request's headers** is answered 408 and closed after
  ``header_timeout_s``; aiohttp waits for ever (later requests on a connection are bounded by the
  keep-alive timeout, which aiohttp enforces);
* **one address holding too many connections** (``EDGE__MAX_CONNECTIONS_PER_CLIENT``, or
  ``..._PER_PROXY`` for a trusted proxy): the connection past the cap is marked ``over_cap`` and
  given ``over_cap_timeout_s`` to send its request, which ``web/client_share.py`` answers 503 with
  ``Retry-After`` and ``Connection: close``. A request is never reset unanswered for it, unless
  the process is short of file descriptors (fewer than ``spare_descriptors`` left): then the
  connection past the cap is closed at once, so that one address cannot take the descriptors
  every other client needs.

aiohttp's server makes a connection's handler from the module-level name ``RequestHandler`` of
``aiohttp.web_server``, with the application's ``handler_args`` as keyword arguments; ``install``
points that name at this subclass (once, idempotently), and ``handler_args`` carries our config.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import orjson
import structlog
from aiohttp import web_server
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import Response, StreamResponse

from orchestrator import metrics
from orchestrator.errors import ApiError, RequestTimeout, from_http_status, to_api_error
from orchestrator.limits import EdgeConfig

try:
    import resource
except ImportError:  # not a Unix: no descriptor limit to read
    # the name is a module or None, and mypy types it as the module alone
    resource = None  # type: ignore[assignment]

log = structlog.get_logger("orchestrator.edge")

_UNLIMITED = 1 << 30

#: What every answer says in its ``Server`` header: no version for anyone to look up.
SERVER = "orchestrator"


class EdgeRequestHandler(RequestHandler):
    def __init__(self, manager: Any, *, edge: EdgeConfig | None = None, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._edge = edge or EdgeConfig()
        self._header_deadline: asyncio.TimerHandle | None = None
        self._peer: str | None = None
        #: The cap this connection's address is past, if it is: its one request is refused
        #: (``web/client_share.py``).
        self.over_cap: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        self._peer = peer[0] if isinstance(peer, tuple) and peer else None
        clients = _clients(self._manager)
        clients[self._peer] += 1
        timeout_s = self._edge.header_timeout_s
        cap = self._edge.connection_cap(self._peer)
        if clients[self._peer] > cap:
            if _short_of_descriptors(transport, self._edge.spare_descriptors):
                metrics.child(metrics.SHED, "descriptors").inc()
                self.force_close()
                return
            self.over_cap = cap
            timeout_s = min(timeout_s, self._edge.over_cap_timeout_s)
        self._header_deadline = self._loop.call_later(timeout_s, self._headers_overdue)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._header_deadline is not None and self._request_count:
            self._header_deadline.cancel()  # the first request's headers are in
            self._header_deadline = None

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None
        clients = _clients(self._manager)
        clients[self._peer] -= 1
        if clients[self._peer] <= 0:
            del clients[self._peer]
        super().connection_lost(exc)

    def _headers_overdue(self) -> None:
        self._header_deadline = None
        if self._request_count or self.transport is None or self.transport.is_closing():
            return
        error = RequestTimeout("The request's headers took too long to arrive", {})
        self.transport.write(_raw_answer(error))
        self.force_close()  # closes the transport once the answer is written

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> StreamResponse:
        """What the parser or a broken handler left: the envelope, never the input quoted back."""
        if status >= 500 and not isinstance(exc, ApiError):
            log.error("unexpected error below the application", exc_info=exc)
        error = to_api_error(exc) if exc is not None else from_http_status(status)
        response = Response(
            body=orjson.dumps(error.envelope().model_dump()), status=error.status, headers={"Server": SERVER}
        )
        response.content_type = "application/json"
        response.force_close()
        return response


def _clients(manager: Any) -> Counter[str | None]:
    """The connections of each client address, kept on the server that made the handlers."""
    clients = getattr(manager, "_orchestrator_clients", None)
    if clients is None:
        clients = manager._orchestrator_clients = Counter()
    return clients


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
    body = orjson.dumps(error.envelope().model_dump())
    head = (
        f"HTTP/1.1 {error.status} {error.code.replace('_', ' ').title()}\r\nServer: {SERVER}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def install() -> None:
    """Make aiohttp's servers use ``EdgeRequestHandler`` for every connection."""
    # aiohttp.web_server does not export the name it imports: rebinding it is outside its API
    web_server.RequestHandler = EdgeRequestHandler  # type: ignore[attr-defined]
