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

from orchestrator.clients.own_answers import OwnAnswersOnly
from orchestrator.errors import AnswerTooLarge, CompressedAnswer
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


#: What a service session asks for, and how it reads: see :func:`service_session`.
IDENTITY = {"Accept-Encoding": "identity"}


def service_session(connector: aiohttp.BaseConnector) -> aiohttp.ClientSession:
    """A session for calling services over ``connector``: each answer is read only from a
    connection that held nothing before its request went out (``own_answers.py``), and nothing is
    compressed. The services are on the same network, where bytes are cheap: asking for gzip would
    save a twenty-year answer's transfer at a CPU cost of its own, and let half a megabyte inflate
    to 32 MiB per network chunk before any cap could count it (docs/security.md). So every request
    asks for ``identity``, aiohttp never inflates, and an answer compressed anyway is refused unread
    (:class:`AiohttpTransport`)."""
    return aiohttp.ClientSession(
        connector=connector,
        response_class=OwnAnswersOnly,
        headers=IDENTITY,
        auto_decompress=False,
        # Timeouts are operators on the graph; the connect timeout is the transport's, per request.
        timeout=aiohttp.ClientTimeout(total=None),
    )


@dataclass(frozen=True, slots=True)
class AiohttpTransport:
    """Requests over one pooled aiohttp session; each subscription is one task, cancelled on dispose.

    A service is not trusted further than its contract: a redirect is not followed (it is answered
    as what it is, a 3xx, which breaks the contract), an answer is read only up to
    ``max_answer_bytes`` (declared or not), a compressed one not at all (a connection it is still
    arriving on is closed, not pooled), and a request that meets a pooled connection the service
    has just closed, or one holding bytes the service sent unasked (``own_answers.py``), is sent once
    more on a fresh one: that is the pool's race, or the service's stray, not a failure of this
    call, and every call here is safe to repeat. Opening a connection may take ``connect_s`` (the
    service's ``TIMEOUT__CONNECT_S``); the rest of the exchange is timed by the graph.
    """

    session: aiohttp.ClientSession
    max_answer_bytes: int = 32 * 1024 * 1024
    #: Opens a new connection for every request: the second try after a stale pooled connection,
    #: which another pooled connection, just as stale, could fail again.
    fresh: aiohttp.ClientSession | None = None
    #: Seconds to open a connection, on either session; None: as long as the graph allows.
    connect_s: float | None = None
    _timeout: aiohttp.ClientTimeout = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Made once: every request of this service's calls is sent with it.
        object.__setattr__(self, "_timeout", aiohttp.ClientTimeout(total=None, sock_connect=self.connect_s))

    def send(self, request: Request) -> Observable[Answer]:
        return from_coroutine(lambda: self._send(request))

    async def _send(self, request: Request) -> Answer:
        try:
            return await self._exchange(request, self.session)
        except aiohttp.ServerDisconnectedError:
            return await self._exchange(request, self.fresh or self.session)  # once more, fresh

    async def _exchange(self, request: Request, session: aiohttp.ClientSession) -> Answer:
        async with session.request(
            request.method,
            request.url,
            data=request.body,
            headers=request.headers,
            allow_redirects=False,
            timeout=self._timeout,
        ) as answer:
            if _compressed(answer):
                answer.close()  # a connection it is still arriving on cannot be used again
                raise CompressedAnswer()
            return Answer(answer.status, await self._read(answer))

    async def _read(self, answer: aiohttp.ClientResponse) -> bytes:
        limit = self.max_answer_bytes
        declared = answer.content_length
        if declared is not None:
            if declared > limit:
                raise AnswerTooLarge(limit)
            # aiohttp's parser reads exactly the length declared, no more: read it whole, in one
            # piece (chunk by chunk cost about 20 µs more for two years of prices).
            return await answer.read()
        body = bytearray()
        async for chunk in answer.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > limit:
                body.clear()  # not kept alive by the traceback until the error is gone
                raise AnswerTooLarge(limit)
        return bytes(body)


def _compressed(answer: aiohttp.ClientResponse) -> bool:
    """Whether the answer is encoded (gzip, br, ...) rather than sent as it is."""
    encoding = answer.headers.get("Content-Encoding")
    return encoding is not None and encoding.strip().lower() not in ("", "identity")
