"""The services behind the orchestrator as a table: a transport handed to ``create_app(transport=...)``.

Each (method, URL) is answered by a function of the request (the URL without its query: a
function reads the query itself), on the real event loop, as a task per exchange: an ``async``
function may sleep, and is cancelled when the orchestrator gives up on the call, as an HTTP
exchange would be. A URL nobody answers fails as a refused connection does. Every request is kept,
in the order sent, for the test to read what went out (method, URL, headers, body).

No HTTP and no patching underneath: what aiohttp's client does with the services' bytes is tested
against real servers on loopback (``tests/orchestrator/clients/``) and with aioresponses, which
fakes a session's own exchanges (``test_transport.py``).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
from reactivex import Observable
from yarl import URL

import fakes
from orchestrator.clients.transport import Answer, Request
from streams import from_coroutine

#: How a URL answers: a function of the request, giving (or awaiting) an answer, or raising.
Reply = Callable[[Request], Answer | Awaitable[Answer]]


class ServiceTable:
    """The transport: ``answer(url, reply)`` to make a URL answer; ``requests``, what was sent."""

    def __init__(self) -> None:
        self.replies: dict[tuple[str, str], Reply] = {}
        self.requests: list[Request] = []

    def answer(self, url: str, reply: Reply, method: str = "POST") -> None:
        """From now on, ``method url`` is answered by ``reply`` (in place of what answered it)."""
        self.replies[(method, url)] = reply

    def send(self, request: Request) -> Observable[Answer]:
        return from_coroutine(lambda: self._exchange(request))

    async def _exchange(self, request: Request) -> Answer:
        self.requests.append(request)
        reply = self.replies.get((request.method, str(URL(request.url).with_query(None))))
        if reply is None:
            raise aiohttp.ClientConnectionError(f"Connection refused: {request.method} {request.url}")
        answer = reply(request)
        return await answer if inspect.isawaitable(answer) else answer

    def sent(self, url: str, method: str = "POST") -> list[Request]:
        """The requests sent to ``url`` (without its query), in order."""
        return [
            request
            for request in self.requests
            if request.method == method and str(URL(request.url).with_query(None)) == url
        ]

    def bodies(self, url: str) -> list[dict[str, Any]]:
        """The JSON bodies POSTed to ``url``, in order."""
        return [json.loads(request.body or b"null") for request in self.sent(url)]


def body_of(request: Request) -> Any:
    """The JSON a request carries."""
    return json.loads(request.body or b"null")


def json_answer(payload: Any, status: int = 200) -> Reply:
    """Always ``payload``, as JSON, with ``status``."""
    body = orjson.dumps(payload)
    return lambda _request: Answer(status, body)


def raw_answer(body: bytes | str, status: int = 200) -> Reply:
    """Always ``body`` as it is (HTML, garbage, nothing), with ``status``."""
    data = body.encode() if isinstance(body, str) else body
    return lambda _request: Answer(status, data)


def failing(error: BaseException) -> Reply:
    """Always raises ``error`` (what the HTTP client would: a refused connection, a reset)."""

    def reply(_request: Request) -> Answer:
        raise error

    return reply


def as_the_fakes_do(path: str) -> Reply:
    """What the small fakes (``fakes/__init__.py``) answer for a service's ``path``, to the body asked."""
    return lambda request: Answer(200, orjson.dumps(fakes.answer(path, body_of(request))))
