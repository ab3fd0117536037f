"""Services are asked for uncompressed answers, and a compressed one is refused unread: nothing is
ever inflated, so no answer can hold more than the bytes that came (``transport.service_session``)."""

from __future__ import annotations

import asyncio
import gzip
import os
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from reactivex.scheduler.eventloop import AsyncIOScheduler

import fakes
from fakes.services import fake_services, gzip_bomb
from orchestrator.clients.health import check_health
from orchestrator.clients.transport import AiohttpTransport, Request, service_session
from orchestrator.errors import CompressedAnswer
from orchestrator.registry import SERVICES
from orchestrator.web.app import create_app
from streams.lean import to_future
from tests.orchestrator.conftest import make_settings

Handler = Any


def compressing(paths: tuple[str, ...], body: bytes | None = None) -> Any:
    """A middleware: ``paths`` answer gzip (``body``, else their usual answer compressed)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in paths:
            return await handler(request)
        answer = await handler(request)
        compressed = body if body is not None else gzip.compress(answer.body)
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        return web.Response(body=compressed, headers=headers)

    return middleware


async def app_over(aiohttp_server: Any, orchestrator_client: Any, *middlewares: Any) -> Any:
    services = await aiohttp_server(fake_services(middlewares=middlewares))
    urls = {entry.url_setting: str(services.make_url("")).rstrip("/") for entry in SERVICES}
    return await orchestrator_client(create_app(make_settings(**urls)))


async def test_every_call_and_health_check_asks_for_an_uncompressed_answer(
    aiohttp_server, orchestrator_client
):
    asked: Counter[str] = Counter()

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        asked[request.headers.get("Accept-Encoding", "(none)")] += 1
        return await handler(request)

    client = await app_over(aiohttp_server, orchestrator_client, record)
    assert (await client.post("/api/backtest", json=fakes.backtest_request())).status == 200
    assert (await client.get("/api/health")).status == 200
    assert list(asked) == ["identity"] and asked["identity"] >= 11  # seven calls, four checks


async def test_a_compressed_answer_is_refused_and_not_retried(aiohttp_server, orchestrator_client):
    seen: Counter[str] = Counter()

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        seen[request.path] += 1
        return await handler(request)

    client = await app_over(aiohttp_server, orchestrator_client, count, compressing(("/prices",)))
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    error = (await response.json())["error"]
    assert (response.status, error["code"], error["details"]["service"]) == (
        502,
        "EXTERNAL_API_ERROR",
        "market_data",
    )
    assert error["message"] == "The market_data service answered compressed, which we do not ask for"
    assert seen["/prices"] == 1  # it would answer compressed again


@pytest.fixture
async def pooled() -> AsyncIterator[aiohttp.ClientSession]:
    session = service_session(aiohttp.TCPConnector(limit=4, keepalive_timeout=30))
    yield session
    await session.close()


async def test_a_compressed_answer_is_not_read_and_its_connection_is_closed(aiohttp_server, pooled):
    """Half a megabyte of gzip, more than aiohttp buffers before we read: left unread, its
    connection cannot be used again, so the next request goes out on another."""
    connections: list[Any] = []  # held, so that no two share an id
    bomb = gzip_bomb(512)

    async def handler(request: web.Request) -> web.Response:
        connections.append(request.transport)
        if request.path == "/gzip":
            return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})
        return web.Response(body=orjson.dumps(fakes.prices()), content_type="application/json")

    app = web.Application()
    app.router.add_post("/{path}", handler)
    server = await aiohttp_server(app)
    transport = AiohttpTransport(pooled)
    url = str(server.make_url("")).rstrip("/")
    with pytest.raises(CompressedAnswer):
        await to_future(transport.send(Request("POST", url + "/gzip", b"{}")))
    answer = await to_future(transport.send(Request("POST", url + "/plain", b"{}")))
    assert orjson.loads(answer.body) == fakes.prices()
    assert len({id(connection) for connection in connections}) == 2


@pytest.mark.parametrize("encoding", ["identity", "Identity ", ""])
async def test_an_answer_that_says_it_is_not_encoded_is_read(aiohttp_server, pooled, encoding):
    async def handler(_request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(fakes.prices()), headers={"Content-Encoding": encoding})

    app = web.Application()
    app.router.add_post("/prices", handler)
    server = await aiohttp_server(app)
    answer = await to_future(AiohttpTransport(pooled).send(Request("POST", str(server.make_url("/prices")))))
    assert orjson.loads(answer.body) == fakes.prices()


async def test_a_compressed_health_answer_is_unhealthy(aiohttp_server, pooled):
    async def health(_request: web.Request) -> web.Response:
        body = gzip.compress(b'{"status": "healthy"}')
        return web.Response(body=body, headers={"Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get("/health", health)
    server = await aiohttp_server(app)
    scheduler = AsyncIOScheduler(asyncio.get_running_loop())
    state = await check_health(AiohttpTransport(pooled), str(server.make_url("/health")), 2, scheduler)
    assert state == "unhealthy"


# --- ten bombs at once -----------------------------------------------------------------------------


def status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field)) / 1024


def reset_peak() -> bool:
    """The process's peak resident memory (VmHWM) back to what it holds now (Linux 4.0+)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="reads peak memory from /proc")
async def test_ten_gzip_bombs_at_once_do_not_raise_peak_memory_by_50_mb(aiohttp_server, orchestrator_client):
    """Half a megabyte each, inflating to 512 MiB: aiohttp used to inflate each network chunk up
    to 32 MiB before the answer's cap could count it (128 MB above rest for one answer)."""
    bombing, bomb = compressing(("/prices",), gzip_bomb(512)), False

    @web.middleware
    async def once_warm(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await (bombing(request, handler) if bomb else handler(request))

    client = await app_over(aiohttp_server, orchestrator_client, once_warm)
    # connections and imports warm, on a plain answer: memory that once held an inflated bomb
    # would stay resident, and hide the next
    assert (await client.post("/api/backtest", json=fakes.backtest_request())).status == 200
    bomb = True
    if not reset_peak():
        pytest.skip("this kernel does not let a process reset its peak memory")
    before = status_mb("VmRSS:")
    responses = await asyncio.gather(
        *(
            client.post("/api/backtest", json=fakes.backtest_request(market_params__ticker=f"B{n}"))
            for n in range(10)
        )
    )
    raised = status_mb("VmHWM:") - before
    print(f"ten gzip bombs at once: peak resident memory {raised:+.1f} MB")
    assert raised < 50
    assert [response.status for response in responses] == [502] * 10
