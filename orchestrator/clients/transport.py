"""How one HTTP exchange with a service is made: the seam between the clients and the network.

A service client hands its transport a :class:`Request` and gets back a cold observable of the
:class:`Answer`: nothing is sent until it is subscribed, and disposing the subscription aborts the
exchange. :class:`AiohttpTransport` does it over the application's pooled session; tests hand the
clients a transport of their own (answers from a table, on a virtual clock) without touching the
clients' code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
from reactivex import Observable

from streams import from_coroutine


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    url: str
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes


class Transport(Protocol):
    def send(self, request: Request) -> Observable[Answer]:
        """A cold observable of the answer; it errors with what the HTTP layer raised."""
        ...


@dataclass(frozen=True, slots=True)
class AiohttpTransport:
    """Requests over one pooled aiohttp session; each subscription is one task, cancelled on dispose."""

    session: aiohttp.ClientSession

    def send(self, request: Request) -> Observable[Answer]:
        return from_coroutine(lambda: self._send(request))

    async def _send(self, request: Request) -> Answer:
        async with self.session.request(
            request.method, request.url, data=request.body, headers=request.headers
        ) as answer:
            return Answer(answer.status, await answer.read())
