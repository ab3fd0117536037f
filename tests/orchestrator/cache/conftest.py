"""A real Redis for the shared store's tests (skipped without ``redis-server``, unless
``REQUIRE_REDIS=1``), a client on it, and the platform in several replicas sharing it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from fakes.services import CallLog, fake_services
from orchestrator.registry import SERVICES
from orchestrator.web.app import create_app
from orchestrator.web.keys import BACKTESTER
from tests.orchestrator.cache.redis_server import RedisServer, require_binary
from tests.orchestrator.conftest import make_settings

#: The Redis timeout of the tests that are not about timeouts: a loaded machine is not an outage.
PATIENT_S = 2.0


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One server for the session; each test starts on an empty database (``redis_url``)."""
    server = RedisServer(require_binary()).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    assert redis_server.command(b"FLUSHALL") == b"+OK"
    return redis_server.url


@pytest.fixture
def own_redis() -> Iterator[Callable[..., RedisServer]]:
    """A server of the test's own, to stop and start again (``port`` to reuse one)."""
    binary, servers = require_binary(), list[RedisServer]()

    def make(port: int | None = None) -> RedisServer:
        servers.append(RedisServer(binary, port))
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client, to look at what the orchestrator kept."""
    client = Redis.from_url(redis_url, protocol=2)
    yield client
    await client.aclose()


@pytest.fixture
def replicas(aiohttp_server: Any, orchestrator_client: Any):
    """``replicas(count, redis_url, ...)``: that many orchestrators with the same settings, in front
    of one set of fake services on loopback; returns their test clients and the services' log."""

    async def start(
        count: int,
        redis_url: str | None,
        delays: dict[str, float] | None = None,
        middlewares: tuple[Any, ...] = (),
        **settings: Any,
    ) -> tuple[list[Any], CallLog]:
        # Redis's replies in time even on a busy machine, unless a test says otherwise
        settings["cache"] = {"redis_timeout_s": PATIENT_S, **settings.get("cache", {})}
        log = CallLog()
        services = await aiohttp_server(fake_services(delays, log, middlewares))
        urls = {entry.url_setting: str(services.make_url("")).rstrip("/") for entry in SERVICES}
        clients = [
            await orchestrator_client(create_app(make_settings(**urls, redis_url=redis_url, **settings)))
            for _ in range(count)
        ]
        return clients, log

    return start


async def settled(*clients: Any) -> None:
    """Until what each replica writes to Redis in the background is written."""
    for client in clients:
        shared = client.app[BACKTESTER].cache.shared_store
        if shared is not None:
            await shared.flush()


async def within(event: asyncio.Event, seconds: float = 10) -> None:
    """Until ``event`` is set; failing after ``seconds`` rather than hanging the run."""
    await asyncio.wait_for(event.wait(), seconds)


def first_wait(store: Any) -> asyncio.Event:
    """Set once ``store`` has found another's lock on a claim: it is waiting for that call."""
    claim, waiting = store._claim, asyncio.Event()

    async def watched(**arguments: Any) -> Any:
        answer = await claim(**arguments)
        if answer == 0:
            waiting.set()
        return answer

    store._claim = watched
    return waiting
