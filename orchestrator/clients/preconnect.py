"""Connections opened before the calls that will need them (predictive preconnect).

A backtest's calls follow one another: its signals call starts when its prices arrive, its
simulation when its signals do, its metrics call when its simulation does. On a cold pool each of
those calls first opens a connection (a socket, the TCP handshake, TLS where there is one, and a
tenth of a millisecond of the event loop's time), and a burst of backtests pays that a thousand
times at the very moment their answers arrive, when the loop is busiest. So while a call is in
flight, the graph *expects* the call that follows it (:func:`ahead`), and the next service's
:class:`Preconnector` opens connections until its pool holds one idle connection per call
expected: in the time the loop would otherwise spend waiting, as Envoy's ``preconnect_policy``
does::

    prices          ---------a|                   strategy calls expected: 1 ... 0
    strategy pool      (open)====idle====>taken   the signals call: no connect on its path
    signals call                 --------b|

An expectation ends when the call before it ends (the next call has started by then, or never
will: a failure, a client gone), so the count never outlives what it counts. Connections are
opened on the loop's next turn, and only as many as the pool lacks: an answer already in hand
(a cache hit) starts its call before then, and a warm pool opens nothing. A connection never used
is closed by the pool after its keep-alive (``UPSTREAM_KEEPALIVE_S``) like any idle one. Opening
fails quietly: the call itself then connects, and reports what it meets; and nothing more is
opened ahead for that service for :data:`REST_S`, so that a service refusing connections is not
asked twice as often as the calls themselves ask it.

aiohttp has no public way to open a connection without a request, nor to count a pool's idle
connections; both are done here, the only place that reaches into the connector (aiohttp is
pinned below 3.14, and ``tests/orchestrator/clients/test_preconnect.py`` checks each assumption).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol, TypeVar

import aiohttp
import structlog
from aiohttp.client_reqrep import ClientRequest
from reactivex import Observable
from yarl import URL

from streams import defer, observe_lifecycle

T = TypeVar("T")

#: Ends one expectation; calling it again does nothing.
Release = Callable[[], None]

log = structlog.get_logger("orchestrator.clients")

#: After a connection could not be opened, how long nothing more is opened ahead for that service.
REST_S = 1.0


class Anticipating(Protocol):
    def expect(self) -> Release:
        """A call to this service is coming: have a connection ready for it until released."""
        ...


class _NoPreconnect:
    """Expects nothing, opens nothing: a transport of the tests', or preconnecting turned off."""

    def expect(self) -> Release:
        return _nothing


def _nothing() -> None:
    return None


NO_PRECONNECT: Anticipating = _NoPreconnect()


def ahead(service: Anticipating) -> Callable[[Observable[T]], Observable[T]]:
    """While the source runs, a connection to ``service`` is readied for the call its value leads to.

    ::

        source:       ---a|
        expected:     1---0          (ended by the end, an error or a disposal, whichever comes)
    """

    if service is NO_PRECONNECT:  # nothing to ready: no wrapper either (2.5 µs a call saved)
        return lambda source: source

    def _ahead(source: Observable[T]) -> Observable[T]:
        def start(_: object) -> Observable[T]:
            release = service.expect()
            return source.pipe(
                observe_lifecycle(on_completed=release, on_error=lambda _: release(), on_cancel=release)
            )

        return defer(start)

    return _ahead


class Preconnector:
    """Readies connections to one service in its session's pool, one per call expected."""

    def __init__(self, session: aiohttp.ClientSession, url: str, connect_timeout_s: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        assert session.connector is not None
        self._loop, self._connector = loop, session.connector
        self._request = ClientRequest("GET", URL(url), loop=loop, session=session)
        self._key = self._request.connection_key
        self._timeout = aiohttp.ClientTimeout(sock_connect=connect_timeout_s)
        self.expected = 0
        self.opening = 0
        self._resting_until = 0.0
        self._turn_booked = False
        self._tasks: set[asyncio.Task[None]] = set()

    def expect(self) -> Release:
        self.expected += 1
        if not self._turn_booked:  # one top-up per turn of the loop, for every expectation in it
            self._turn_booked = True
            self._loop.call_soon(self._top_up)
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.expected -= 1

        return release

    def idle(self) -> int:
        """The pool's idle connections to this service (some may have been closed by it since)."""
        pooled = self._connector._conns.get(self._key)
        return len(pooled) if pooled is not None else 0

    def close(self) -> None:
        """Stop opening: what is being opened is abandoned (the application is stopping)."""
        for task in self._tasks:
            task.cancel()

    def _top_up(self) -> None:
        self._turn_booked = False
        connector = self._connector
        if connector.closed or self._loop.time() < self._resting_until:
            return
        ready = self.opening + self.idle()
        missing = self.expected - ready
        if connector.limit:  # never past the pool's size, counting what is in use
            missing = min(missing, connector.limit - len(connector._acquired) - ready)
        for _ in range(missing):
            self.opening += 1
            task = self._loop.create_task(self._open())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _open(self) -> None:
        """One new connection, into the pool, idle: as a call leaves its own when it is answered."""
        connector = self._connector
        try:
            handler = await connector._create_connection(self._request, [], self._timeout)
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            log.debug("preconnect failed", url=str(self._request.url), error=repr(error))
            self._resting_until = self._loop.time() + REST_S
            return
        finally:
            self.opening -= 1
        if connector.closed:
            handler.close()
        else:
            connector._release(self._key, handler)
