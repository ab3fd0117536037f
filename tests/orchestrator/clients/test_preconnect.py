"""Connections readied ahead of the calls expected: real sockets on loopback, counted by the server.

The server's ``connections`` are the connections it has accepted and not yet seen closed; the
pool's idle connections are what the preconnector reads of aiohttp's connector (its one reach
into aiohttp's internals, pinned here).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
import reactivex
import structlog
from aiohttp import web
from reactivex import Observable
from reactivex.testing import ReactiveTest, TestScheduler

from orchestrator.clients.preconnect import NO_PRECONNECT, Preconnector, ahead
from orchestrator.web.app import _session
from tests.virtual import RecordedExpectations as Recorded


class Service:
    """An aiohttp server on a free loopback port that answers ``POST /`` with ``{}``."""

    def __init__(self, runner: web.AppRunner, url: str) -> None:
        self.runner, self.url = runner, url

    @property
    def connections(self) -> int:
        assert self.runner.server is not None
        return len(self.runner.server.connections)


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    async def answer(_request: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield Service(runner, f"http://127.0.0.1:{port}")
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A service's pool as the application makes it (``web/app.py``)."""
    pool = _session(pool_size=100, keepalive_s=4.0)
    yield pool
    await pool.close()


async def settle() -> None:
    """Long enough for connections on loopback to open, and the server to see them."""
    for _ in range(20):
        await asyncio.sleep(0.005)


async def call(session: aiohttp.ClientSession, url: str) -> None:
    async with session.post(url + "/", data=b"{}") as answer:
        await answer.read()


# --- the preconnector ------------------------------------------------------------------------------


async def test_three_calls_expected_get_three_connections_on_the_next_turn(service, session):
    preconnector = Preconnector(session, service.url)
    for _ in range(3):
        preconnector.expect()
    assert preconnector.opening == 0  # nothing opened inside the caller's turn
    await settle()
    assert (service.connections, preconnector.idle(), preconnector.opening) == (3, 3, 0)


async def test_the_call_expected_goes_out_on_the_readied_connection(service, session):
    preconnector = Preconnector(session, service.url)
    release = preconnector.expect()
    await settle()
    release()
    await call(session, service.url)
    assert service.connections == 1
    assert preconnector.idle() == 1  # back in the pool, as any call leaves its connection


async def test_an_expectation_released_within_its_turn_opens_nothing(service, session):
    preconnector = Preconnector(session, service.url)
    preconnector.expect()()  # the answer was in hand (a cache hit): the call started at once
    await settle()
    assert (service.connections, preconnector.expected) == (0, 0)


async def test_a_warm_pool_opens_nothing(service, session):
    await asyncio.gather(call(session, service.url), call(session, service.url))
    preconnector = Preconnector(session, service.url)
    preconnector.expect(), preconnector.expect()
    await settle()
    assert (service.connections, preconnector.idle()) == (2, 2)


async def test_only_what_the_pool_lacks_is_opened(service, session):
    await call(session, service.url)
    preconnector = Preconnector(session, service.url)
    for _ in range(3):
        preconnector.expect()
    await settle()
    assert service.connections == 3


async def test_the_pools_size_bounds_what_is_opened(service):
    small = _session(pool_size=2, keepalive_s=4.0)
    try:
        preconnector = Preconnector(small, service.url)
        for _ in range(5):
            preconnector.expect()
        await settle()
        assert service.connections == 2
    finally:
        await small.close()


async def test_releasing_twice_ends_one_expectation(service, session):
    preconnector = Preconnector(session, service.url)
    first, _second = preconnector.expect(), preconnector.expect()
    first()
    first()
    assert preconnector.expected == 1


async def test_a_service_not_listening_is_no_error_here(session):
    unused = socket_port_nobody_listens_on()
    preconnector = Preconnector(session, f"http://127.0.0.1:{unused}")
    with structlog.testing.capture_logs() as logs:
        preconnector.expect()
        await settle()
    assert (preconnector.opening, preconnector.idle()) == (0, 0)
    [failed] = [line for line in logs if line["event"] == "preconnect failed"]
    assert "ClientConnectorError" in failed["error"] or "ConnectionRefused" in failed["error"]


async def test_after_a_refusal_nothing_is_opened_ahead_for_a_while(session):
    unused = socket_port_nobody_listens_on()
    preconnector = Preconnector(session, f"http://127.0.0.1:{unused}")
    with structlog.testing.capture_logs() as logs:
        for rested in (False, False, True):  # a call expected, then started (released), three times
            if rested:
                preconnector._resting_until = 0.0  # as if REST_S had passed
            release = preconnector.expect()
            await settle()
            release()
    # the second came while the preconnector rested: that call found out for itself
    assert [line["event"] for line in logs].count("preconnect failed") == 2


async def test_closing_abandons_what_is_being_opened(service, session, monkeypatch):
    preconnector = Preconnector(session, service.url)
    never = asyncio.Event()

    async def stalled(*_args: object) -> None:
        await never.wait()

    monkeypatch.setattr(session.connector, "_create_connection", stalled)
    preconnector.expect()
    await settle()
    assert preconnector.opening == 1
    preconnector.close()
    await settle()
    assert preconnector.opening == 0


async def test_nothing_is_opened_once_the_pool_is_closed(service):
    pool = _session(pool_size=10, keepalive_s=4.0)
    preconnector = Preconnector(pool, service.url)
    preconnector.expect()
    await pool.close()
    await settle()
    assert service.connections == 0


def socket_port_nobody_listens_on() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the operator ----------------------------------------------------------------------------------


def run_ahead(messages: list[object], disposed: int = 1000) -> list[tuple[float, str]]:
    scheduler = TestScheduler()
    recorded = Recorded(scheduler)
    source: Observable[int] = scheduler.create_cold_observable(*messages)
    scheduler.start(lambda: source.pipe(ahead(recorded)), disposed=disposed)
    return recorded.log


def test_ahead_expects_from_subscription_to_the_sources_end():
    on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed
    assert run_ahead([on_next(10, 1), on_completed(10)]) == [(200, "expect"), (210, "release")]


def test_ahead_releases_when_the_source_fails():
    assert run_ahead([ReactiveTest.on_error(15, ValueError("no"))]) == [(200, "expect"), (215, "release")]


def test_ahead_releases_when_the_source_is_abandoned():
    assert run_ahead([ReactiveTest.on_next(50, 1)], disposed=230) == [(200, "expect"), (230, "release")]


def test_ahead_passes_the_source_on_unchanged():
    seen: list[int] = []
    reactivex.of(1, 2).pipe(ahead(NO_PRECONNECT)).subscribe(seen.append)
    assert seen == [1, 2]
