"""aiohttp apps served from an event loop in a thread, for tests that speak to them synchronously
(Playwright's synchronous API, raw sockets, hypothesis): fakes on aiohttp's plain runner, the
orchestrator's application on its own (``web/server.py``), as production serves it."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from orchestrator.web import server


class BackgroundServers:
    """aiohttp apps served on loopback from an event loop in a thread, for the synchronous Playwright API.

    ``with BackgroundServers() as servers: url = servers.serve(app)``; every app is cleaned up on exit.
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runners: list[web.AppRunner] = []

    def __enter__(self) -> BackgroundServers:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        for runner in reversed(self._runners):
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def serve(self, app: web.Application) -> str:
        """Start ``app`` (a fake's) on a free loopback port; its base URL."""
        return asyncio.run_coroutine_threadsafe(self._start(web.AppRunner(app)), self._loop).result(10)

    def serve_orchestrator(self, app: web.Application) -> str:
        """Start ``app``, made by ``create_app``, as production serves it; its base URL."""
        return asyncio.run_coroutine_threadsafe(self._start(server.runner(app)), self._loop).result(10)

    async def _start(self, runner: web.AppRunner) -> str:
        await runner.setup()
        self._runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}"
