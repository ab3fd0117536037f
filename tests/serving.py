"""The orchestrator's application served as production serves it, on loopback, for tests.

``web/server.py``'s runner (its own server, each connection handled by the edge, handlers cancelled
when their client goes away, the drain on shutdown), on a free port of 127.0.0.1; and a client of
it. pytest-aiohttp's ``aiohttp_server`` and ``aiohttp_client`` serve an application with aiohttp's
plain server: they stay for the fake services, never for the orchestrator.

The fixtures (``tests/conftest.py``): ``orchestrator_server(app)`` gives a :class:`Served`
(``host``, ``port``, ``make_url``, ``app``), ``orchestrator_client(app)`` a :class:`Client` with
the methods of an ``aiohttp.ClientSession`` on paths (``await client.post("/api/backtest", ...)``);
both stop what they started when the test ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from orchestrator.web import server


class Served:
    """The application, served on ``host:port``."""

    def __init__(self, runner: web.AppRunner, host: str, port: int) -> None:
        self.runner = runner
        self.host = host
        self.port = port

    @property
    def app(self) -> web.Application:
        return self.runner.app

    def make_url(self, path: str) -> URL:
        return URL.build(scheme="http", host=self.host, port=self.port).join(URL(path))


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[Served]:
    """``app`` (the orchestrator's) served on a free loopback port until the block ends."""
    runner = server.runner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield Served(runner, host, port)
    finally:
        await runner.cleanup()


class Client:
    """A client of a :class:`Served` application: requests on paths, answers as aiohttp's."""

    def __init__(self, served: Served, session: aiohttp.ClientSession) -> None:
        self.server = served
        self.session = session

    @property
    def app(self) -> web.Application:
        return self.server.app

    def make_url(self, path: str) -> URL:
        return self.server.make_url(path)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.session.request(method, self.make_url(path), **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> Any:
        return self.request("OPTIONS", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)


class Serving:
    """What one test served, all stopped at its end (clients first, then the servers)."""

    def __init__(self) -> None:
        self._stack = AsyncExitStack()

    async def server(self, app: web.Application) -> Served:
        return await self._stack.enter_async_context(serving(app))

    async def client(self, app: web.Application, **session: Any) -> Client:
        served = await self.server(app)
        http = await self._stack.enter_async_context(aiohttp.ClientSession(**session))
        return Client(served, http)

    async def close(self) -> None:
        await self._stack.aclose()
