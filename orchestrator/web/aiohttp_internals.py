"""Every use of a private name of aiohttp's server side, in one place, each with its assumption.

The orchestrator's own server (``web/server.py``) and its connection handler (``web/protocol.py``)
are built on aiohttp's public classes, ``web.AppRunner``, ``web.Server`` and ``web.RequestHandler``,
and their documented keyword arguments. Two things they need have no public door; they are here,
and nowhere else (the client side's are in ``orchestrator/clients/own_answers.py``):

1. **The application's server, made by a runner of ours.** ``AppRunner.setup()`` runs the
   application's startup, then makes the ``web.Server`` that every site accepts connections for,
   in ``AppRunner._make_server()``. That server's ``request_handler`` (the application's router and
   middlewares) and ``request_factory`` (making ``web.Request`` with the application's
   ``client_max_size``) are public attributes, but there is no public way to have a runner serve
   them through another server. :class:`OwnServerRunner` overrides ``_make_server``: aiohttp's
   own does all it does (startup, freezing), then :meth:`OwnServerRunner.make_server` builds the
   server from those two. Assumed: ``AppRunner._make_server`` exists, is what ``setup()`` calls,
   is awaited once, and returns a ``web.Server`` whose ``request_handler`` and
   ``request_factory`` serve the application.
2. **Whether a connection's first request has arrived.** A connection's handler counts the
   requests its parser has read in ``RequestHandler._request_count``, incremented in
   ``data_received`` as the headers are parsed, before the request's task even runs. The header
   deadline (``web/protocol.py``) is cancelled by it: nothing public says, at that moment, that
   the headers are in (the request factory runs a turn of the loop later, when the deadline may
   already have fired). Assumed: ``_request_count`` is an int, 0 until the first request's headers
   are parsed, then at least 1, and a request the parser rejects counts too.

What the edge relies on that is public but not promised by aiohttp's documentation, tested the
same way: ``web.Server`` is the protocol factory sites hand to ``loop.create_server`` (its
``__call__`` makes each connection's handler); ``RequestHandler.handle_error`` answers what the
parser rejects; the keyword arguments the edge passes are ``RequestHandler``'s; aiohttp's classes
define none of the attribute names our subclasses add; and aiohttp's gunicorn worker serves the
``web.AppRunner`` our coroutine hands it as it is (``cli/workers.py``; checked on real processes
by ``tests/e2e/test_workers.py``).

``tests/orchestrator/web/test_aiohttp_internals.py`` checks each assumption on the aiohttp
installed; a failure names the assumption and the aiohttp version that broke it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

#: What ``web.Server`` takes as its ``handler`` and its ``request_factory`` (aiohttp's own names
#: for these types are private).
RequestHandlerFunction = Callable[[web.BaseRequest], Any]
RequestFactory = Callable[..., web.BaseRequest]


class OwnServerRunner(web.AppRunner):
    """An ``AppRunner`` whose application is served by the server :meth:`make_server` makes."""

    async def _make_server(self) -> web.Server:
        started = await super()._make_server()  # the application started and frozen
        return self.make_server(started.request_handler, started.request_factory)

    def make_server(self, handler: RequestHandlerFunction, request_factory: RequestFactory) -> web.Server:
        """The server of the application whose ``handler`` and ``request_factory`` are given: the
        hook a subclass fills (``web/server.py``'s ``EdgeRunner``); this class only reaches in."""
        raise NotImplementedError


def requests_parsed(handler: web.RequestHandler) -> int:
    """How many requests' headers the connection's parser has read so far (rejected ones too)."""
    count: int = handler._request_count
    return count
