"""How much a client may ask of the orchestrator: the edge's limits and the request's bounds.

Two validated configs, read from the environment by ``orchestrator.settings`` (``EDGE__*`` and
``REQUEST_LIMITS__*``); ``docs/security.md`` lists each with the default it takes and why. The
anchors: nginx's and Envoy's edge defaults (header and idle timeouts, header buffers) and the OWASP
API Security Top 10's "unrestricted resource consumption".
"""

from __future__ import annotations

from ipaddress import IPv6Address, ip_address
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, field_validator
from pydantic_settings import NoDecode

Seconds = Annotated[float, Field(gt=0, le=3600)]


class EdgeConfig(BaseModel):
    """``EDGE__*``: what one connection may hold, and for how long."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: From the connection's first byte to the end of the first request's headers (nginx's
    #: client_header_timeout is 60 s; an API client sends its headers at once).
    header_timeout_s: Seconds = 10.0
    #: To receive the whole body once the headers are in (nginx's client_body_timeout: 60 s between reads).
    body_timeout_s: Seconds = 10.0
    #: An idle keep-alive connection is closed after this (nginx: 75 s; aiohttp's own: 3,630 s). It
    #: also bounds the headers of every request after the first on a connection.
    idle_timeout_s: Seconds = 15.0
    #: After an answer that left a body unread (too large, too slow), how long the rest is read and
    #: thrown away so the client sees the answer, before the connection is closed (nginx lingers 30 s;
    #: aiohttp 10 s, during which a client trickling a huge body holds the connection).
    linger_s: Annotated[float, Field(ge=0, le=60)] = 1.0
    #: Connections one client address may hold at once, or requests in flight when it comes through
    #: a trusted proxy (nginx's limit_conn). Past it, the request is answered 503 with Retry-After
    #: and the connection closed (``web/protocol.py``, ``web/client_share.py``).
    max_connections_per_client: Annotated[int, Field(ge=1, le=100_000)] = 128
    #: Connections one trusted proxy may hold at once: an ingress keeps a pool of them open for all
    #: its clients, each of whom is held to ``max_connections_per_client`` requests in flight.
    max_connections_per_proxy: Annotated[int, Field(ge=1, le=1_000_000)] = 1024
    #: How long a connection past its address's cap has to send its request before it is closed:
    #: its one request is answered at once (503), never kept waiting for the header timeout.
    over_cap_timeout_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    #: File descriptors kept free for other clients: while fewer are left (the process's soft
    #: RLIMIT_NOFILE minus the connection's own descriptor number), a connection past its address's
    #: cap is closed at once instead of answered, so one address cannot exhaust them.
    spare_descriptors: Annotated[int, Field(ge=0, le=1_000_000)] = 128
    #: The peers whose ``Forwarded`` / ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed:
    #: addresses or networks (``10.0.0.0/8``). Empty: every peer is the client itself.
    trusted_proxies: Annotated[tuple[IPvAnyNetwork, ...], NoDecode] = ()
    #: The header the trusted proxies write; the other one is ignored, as a client may have sent it.
    proxy_header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    def trusts(self, address: str | None) -> bool:
        """Whether ``address`` (a peer's, as the socket gives it) is one of the trusted proxies."""
        if not self.trusted_proxies or not address:
            return False
        try:
            ip = ip_address(address)
        except ValueError:
            return False  # not an IP (a Unix socket's peer): never a proxy we know
        if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # an IPv4 peer of a dual-stack socket
        return any(ip in network for network in self.trusted_proxies)

    def connection_cap(self, peer: str | None) -> int:
        """How many connections ``peer`` may hold at once."""
        return self.max_connections_per_proxy if self.trusts(peer) else self.max_connections_per_client

    #: Connections the kernel holds until they are accepted (nginx: 511; gunicorn: 2048; aiohttp:
    #: 128, which a burst from an ingress overflows: the SYNs past it are dropped and sent again a
    #: second later). The kernel caps it at net.core.somaxconn (4096 on Linux since 5.4).
    backlog: Annotated[int, Field(ge=1, le=65_535)] = 1024
    #: The longest request line and the longest header (aiohttp and nginx: 8 KiB).
    max_header_bytes: Annotated[int, Field(ge=1024, le=65_536)] = 8190
    #: How many headers a request may have (aiohttp: 128).
    max_headers: Annotated[int, Field(ge=8, le=1000)] = 64


class RequestLimits(BaseModel):
    """``REQUEST_LIMITS__*``: the most one backtest request may ask for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: How deep the JSON body may nest (the request itself is 3 deep; a strategy config a few more).
    max_json_depth: Annotated[int, Field(ge=4, le=64)] = 16
    #: How many values (objects, arrays, strings, numbers...) the JSON body may hold in all.
    max_json_values: Annotated[int, Field(ge=50, le=1_000_000)] = 2000
    #: The longest date range (50 years of days: twenty-year daily backtests are common).
    max_range_days: Annotated[int, Field(ge=1, le=100_000)] = 18_263
    #: The largest amount of money (initial capital, investment per trade).
    max_amount: Annotated[float, Field(gt=0, le=1e15)] = 1e12
    #: The largest percentage (transaction cost, cash interest rate): 100 is 100%.
    max_percent: Annotated[float, Field(gt=0, le=1e6)] = 100.0
