"""Who the client is: the peer, or the address a trusted proxy says it forwarded for.

Behind an ingress or a load balancer every request's peer is the proxy. Only when the peer is one
of ``EDGE__TRUSTED_PROXIES`` is the proxy's header believed, and only the header it writes
(``EDGE__PROXY_HEADER``): a client can send either header itself, and a proxy that appends to
``X-Forwarded-For`` passes a client's ``Forwarded`` through untouched. The client is the nearest
address in that header that is not a trusted proxy (every hop of a chain of trusted proxies is
skipped); the scheme and host come from the same header's ``proto`` and ``host``.

``X-Forwarded-For``/``-Proto``/``-Host`` are read by aiohttp-remotes' ``XForwardedFiltered``;
``Forwarded`` (RFC 7239) by aiohttp's own parser (``request.forwarded``). The request the handlers
get is a clone whose ``remote``, ``scheme`` and ``host`` are the client's; the canonical log line
names the client, and ``PROXIED`` says whether it came through a proxy (``web/client_share.py``
counts such clients by request, as it cannot count them by connection).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from ipaddress import ip_address
from typing import Any, Protocol

from aiohttp import web
from aiohttp_remotes import XForwardedFiltered

from orchestrator.limits import EdgeConfig
from orchestrator.web.keys import request_key
from orchestrator.web.middlewares import LOG_FIELDS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Middleware(Protocol):
    """What ``web.Application(middlewares=...)`` takes: its arguments are named, as aiohttp's own
    type says (a plain ``Callable`` would not match it)."""

    def __call__(self, request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]: ...


#: True on a request that came through a trusted proxy.
PROXIED = request_key("proxied", bool)


def forwarded_client(edge: EdgeConfig) -> Middleware:
    """The middleware: the request's client, as the peer or a trusted proxy tells it."""
    x_forwarded = XForwardedFiltered(edge.trusted_proxies) if edge.trusted_proxies else None
    use_forwarded = edge.proxy_header == "forwarded"

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        fields = request[LOG_FIELDS]
        if x_forwarded is None or not edge.trusts(request.remote):
            fields["client"] = request.remote
            return await handler(request)
        request[PROXIED] = True

        async def as_client(forwarded: web.Request) -> web.StreamResponse:
            fields["client"], fields["proxy"] = forwarded.remote, request.remote
            return await handler(forwarded)

        if use_forwarded:
            return await as_client(request.clone(**_from_forwarded(request, edge)))
        return await x_forwarded.middleware(request, as_client)

    return middleware


def _from_forwarded(request: web.Request, edge: EdgeConfig) -> dict[str, Any]:
    """``remote``, ``scheme`` and ``host`` from the nearest ``Forwarded`` element whose ``for`` is
    not a trusted proxy (the farthest, if every one is)."""
    overrides: dict[str, Any] = {}
    for element in reversed(request.forwarded):
        node = element.get("for")
        if not node:
            continue
        client = _address(node) or node  # ``unknown`` or an obfuscated name: as the proxy wrote it
        overrides = {"remote": client}
        for key, name in (("proto", "scheme"), ("host", "host")):
            if element.get(key):
                overrides[name] = element[key]
        if not edge.trusts(client):
            break
    return overrides


def _address(node: str) -> str | None:
    """The address of a ``for`` node (``192.0.2.1``, ``192.0.2.1:80``, ``[2001:db8::1]:80``);
    None for ``unknown``, an obfuscated name or anything else that is not an address."""
    if node.startswith("["):
        node = node[1 : node.find("]")]
    elif node.count(":") == 1:
        node = node.split(":", 1)[0]
    try:
        return str(ip_address(node))
    except ValueError:
        return None
