"""The connect timeout, defined once per service (``TIMEOUT__CONNECT_S``), on real sockets.

A service that does not accept is a listening socket whose accept queue is full: the kernel drops
the next connection's SYN, so connecting hangs as it does to a host that is down.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import aiohttp
import pytest

import fakes
from fakes.services import fake_services
from orchestrator.clients.transport import AiohttpTransport, Request, service_session
from orchestrator.registry import SERVICES
from orchestrator.web.app import create_app
from streams.lean import to_future
from tests.orchestrator.conftest import make_settings


@pytest.fixture
def not_accepting() -> Iterator[str]:
    """The URL of a service that never accepts a connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    queued = []
    for _ in range(3):  # fill the accept queue; they are never accepted
        waiting = socket.socket()
        waiting.setblocking(False)
        waiting.connect_ex(("127.0.0.1", port))
        queued.append(waiting)
    yield f"http://127.0.0.1:{port}"
    for waiting in (*queued, server):
        waiting.close()


async def test_connecting_to_a_service_is_bounded_by_its_transports_connect_timeout(not_accepting):
    session = service_session(aiohttp.TCPConnector(limit=4))
    transport = AiohttpTransport(session, connect_s=0.2)
    try:
        with pytest.raises(aiohttp.ConnectionTimeoutError):
            # No connect timeout would hang here until wait_for gave up (a TimeoutError of its own).
            await asyncio.wait_for(to_future(transport.send(Request("GET", not_accepting + "/health"))), 10)
    finally:
        await session.close()


async def test_each_service_connects_within_its_own_policys_connect_timeout(
    aiohttp_server, orchestrator_client, not_accepting, monkeypatch
):
    monkeypatch.setenv("SERVICES__METRICS__TIMEOUT__CONNECT_S", "0.2")
    services = await aiohttp_server(fake_services())
    urls = {entry.url_setting: str(services.make_url("")).rstrip("/") for entry in SERVICES}
    settings = make_settings(
        **(urls | {"metrics_url": not_accepting}),
        services={"metrics": {"timeout": {"attempt_s": 30}, "retry": {"max_attempts": 1}}},
    )
    client = await orchestrator_client(create_app(settings))
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    error = (await response.json())["error"]
    assert (response.status, error["code"]) == (504, "SERVICE_TIMEOUT")
    assert error["details"]["service"] == "metrics"
    # Not the backtest's deadline (5 s): metrics' attempt ended when connecting took 0.2 s.
    assert "deadline" not in error["details"]
