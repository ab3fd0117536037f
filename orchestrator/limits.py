"""How much a client may ask of the orchestrator: the edge's limits and the request's bounds.

Two validated configs, read from the environment by ``orchestrator.settings`` (``EDGE__*`` and
``REQUEST_LIMITS__*``); ``docs/security.md`` lists each with the default it takes and why. The
anchors: nginx's and Envoy's edge defaults (header and idle timeouts, header buffers) and the OWASP
API Security Top 10's "unrestricted resource consumption".
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

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
    #: Connections one client address may hold at once; past it a new one is closed at once. Behind
    #: a proxy every client has the proxy's address: raise it there.
    max_connections_per_client: Annotated[int, Field(ge=1, le=100_000)] = 128
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
