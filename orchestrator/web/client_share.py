"""Each client address's share of the server: past it, its request is answered 503 at once.

One number, ``EDGE__MAX_CONNECTIONS_PER_CLIENT``, counted where it can be:

* a client that connects directly is held to that many **connections**: the connection handler
  (``web/protocol.py``) marks the one past the cap ``over_cap`` before any request is read, and its
  request is answered here, 503 with ``Retry-After`` and ``Connection: close``, then closed (its
  unread body, if any, is read and dropped for ``EDGE__LINGER_S`` so the client sees the answer);
* a client behind a trusted proxy shares the proxy's pooled connections with every other client,
  so it is held to that many **requests in flight**, counted by its own address
  (``web/forwarded.py``); the proxy's connection stays open for the proxy's next request.

Like nginx's ``limit_conn``, refusing answers the request (503) instead of resetting the
connection, so a client behind one address (an ingress, a NAT, the frontend's server) sees why.
"""

from __future__ import annotations

from collections import Counter

from aiohttp import web

from orchestrator import metrics
from orchestrator.errors import OverClientShare
from orchestrator.limits import EdgeConfig
from orchestrator.web.forwarded import PROXIED, Handler, Middleware
from orchestrator.web.middlewares import LOG_FIELDS, error_response


def client_share(edge: EdgeConfig) -> Middleware:
    """The middleware, with its own count of each proxied client's requests in flight."""
    in_flight: Counter[str | None] = Counter()
    limit = edge.max_connections_per_client

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        over_cap = getattr(request.protocol, "over_cap", None)
        if over_cap is not None:
            response = _refuse(request, OverClientShare(over_cap, "connections"), "client_connections")
            response.force_close()
            return response
        if not request.get(PROXIED):
            return await handler(request)
        client = request.remote
        if in_flight[client] >= limit:
            return _refuse(request, OverClientShare(limit, "requests"), "client_requests")
        in_flight[client] += 1
        try:
            return await handler(request)
        finally:
            in_flight[client] -= 1
            if not in_flight[client]:
                del in_flight[client]

    return middleware


def _refuse(request: web.Request, error: OverClientShare, reason: str) -> web.Response:
    request[LOG_FIELDS]["shed"] = reason
    metrics.child(metrics.SHED, reason).inc()
    return error_response(request, error)
