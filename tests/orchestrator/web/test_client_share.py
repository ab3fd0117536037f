"""Each address's share, behind a trusted proxy: requests in flight per client, connections per proxy.

(A direct client's connection cap is in test_edges.py, with the connection handler that counts it.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from orchestrator.limits import EdgeConfig
from orchestrator.web.client_share import client_share
from orchestrator.web.forwarded import forwarded_client
from orchestrator.web.middlewares import error_envelopes, request_context
from orchestrator.web.server import EdgeRunner


@pytest.fixture
def release() -> asyncio.Event:
    """Set to let every ``/slow`` request finish."""
    return asyncio.Event()


class Server:
    """Where a test's server listens."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def make_url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"


@pytest.fixture
async def proxied(release: asyncio.Event):
    """``await proxied(**edge)``: a server of ours (``web/server.py``) whose ``/slow`` waits for
    ``release``, behind the edge's middlewares; 127.0.0.1, where the tests connect from, is a
    trusted proxy."""
    runners: list[EdgeRunner] = []

    async def slow(_request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="done")

    async def start(**edge: Any) -> Server:
        config = EdgeConfig(trusted_proxies=["127.0.0.0/8"], **edge)
        app = web.Application(
            middlewares=[request_context, error_envelopes, forwarded_client(config), client_share(config)]
        )
        app.router.add_get("/slow", slow)
        runner = EdgeRunner(app, config)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return Server(*runner.addresses[0][:2])

    yield start
    release.set()
    for runner in runners:
        await runner.cleanup()


async def get(session: aiohttp.ClientSession, server: Any, client: str) -> tuple[int, dict[str, str]]:
    async with session.get(server.make_url("/slow"), headers={"X-Forwarded-For": client}) as answer:
        await answer.read()
        return answer.status, dict(answer.headers)


async def test_a_proxied_client_is_held_to_its_requests_in_flight(proxied, release):
    server = await proxied(max_connections_per_client=2)
    async with aiohttp.ClientSession() as session:
        first = [asyncio.create_task(get(session, server, "203.0.113.7")) for _ in range(2)]
        await asyncio.sleep(0.1)  # both in flight
        status, headers = await get(session, server, "203.0.113.7")
        release.set()
        assert [answer[0] for answer in await asyncio.gather(*first)] == [200, 200]
    assert (status, headers["Retry-After"]) == (503, "1")
    assert headers.get("Connection", "").lower() != "close"  # the proxy's connection stays open


async def test_other_clients_of_the_same_proxy_are_served_meanwhile(proxied, release):
    server = await proxied(max_connections_per_client=1)
    async with aiohttp.ClientSession() as session:
        busy = asyncio.create_task(get(session, server, "203.0.113.7"))
        await asyncio.sleep(0.1)
        other = asyncio.create_task(get(session, server, "198.51.100.9"))
        await asyncio.sleep(0.1)
        release.set()
        assert [(await busy)[0], (await other)[0]] == [200, 200]


async def test_a_client_s_share_frees_when_its_request_ends(proxied, release):
    server = await proxied(max_connections_per_client=1)
    release.set()
    async with aiohttp.ClientSession() as session:
        statuses = [(await get(session, server, "203.0.113.7"))[0] for _ in range(3)]
    assert statuses == [200, 200, 200]


async def test_a_trusted_proxy_is_held_to_its_own_connection_cap(proxied, release):
    server = await proxied(max_connections_per_client=100, max_connections_per_proxy=2)
    release.set()
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        held = [await asyncio.open_connection(server.host, server.port) for _ in range(2)]
        status, headers = await get(session, server, "203.0.113.7")
        for _, writer in held:
            writer.close()
    assert (status, headers["Connection"].lower()) == (503, "close")
