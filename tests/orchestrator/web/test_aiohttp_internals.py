"""Each assumption ``orchestrator/web/aiohttp_internals.py`` makes about aiohttp's server, checked on
the aiohttp installed: a failure says which assumption the installed release broke."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from orchestrator.limits import EdgeConfig
from orchestrator.web.aiohttp_internals import (
    OwnServerRunner,
    RequestFactory,
    RequestHandlerFunction,
    requests_parsed,
)
from orchestrator.web.protocol import EdgeRequestHandler
from orchestrator.web.server import EdgeRunner, EdgeServer, edge_limits


def broke(assumption: str) -> str:
    return (
        f"aiohttp {aiohttp.__version__} broke an assumption of orchestrator/web/aiohttp_internals.py: "
        f"{assumption}"
    )


class Recording(web.Server):
    """A plain server that keeps the handler of each connection it makes."""

    def __init__(
        self, *args: Any, handler_class: type[web.RequestHandler] = web.RequestHandler, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.handler_class = handler_class
        self.handlers: list[web.RequestHandler] = []
        self.loop = asyncio.get_running_loop()

    def __call__(self) -> web.RequestHandler:
        handler = self.handler_class(self, loop=self.loop)
        self.handlers.append(handler)
        return handler


class RecordingRunner(OwnServerRunner):
    def __init__(self, app: web.Application, handler_class: type[web.RequestHandler] = web.RequestHandler):
        super().__init__(app)
        self.handler_class = handler_class
        self.made: list[web.Server] = []

    def make_server(self, handler: RequestHandlerFunction, request_factory: RequestFactory) -> web.Server:
        server = Recording(handler, request_factory=request_factory, handler_class=self.handler_class)
        self.made.append(server)
        return server


async def started(runner: web.AppRunner) -> tuple[str, int]:
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return host, port


@pytest.fixture
async def cleanup() -> AsyncIterator[list[web.AppRunner]]:
    runners: list[web.AppRunner] = []
    yield runners
    for runner in runners:
        await runner.cleanup()


def small_app(seen: list[str]) -> web.Application:
    """An application with a middleware, a route and a startup hook, each noting when it ran."""

    @web.middleware
    async def noting(request: web.Request, handler: Any) -> web.StreamResponse:
        seen.append("middleware")
        return await handler(request)

    async def echo(request: web.Request) -> web.Response:
        seen.append("route")
        assert request.app is app
        return web.Response(text=(await request.text()).upper())

    async def on_startup(_app: web.Application) -> None:
        seen.append("startup")

    app = web.Application(middlewares=[noting], client_max_size=16)
    app.router.add_post("/echo", echo)
    app.on_startup.append(on_startup)
    return app


# --- 1. the application's server, made by a runner of ours -------------------------------------


async def test_setup_makes_the_server_once_through_make_server_after_the_startup(cleanup):
    seen: list[str] = []
    runner = RecordingRunner(small_app(seen))
    cleanup.append(runner)
    await runner.setup()
    assert len(runner.made) == 1 and runner.server is runner.made[0], broke(
        "AppRunner.setup() makes its server with AppRunner._make_server(), once, and keeps what it returns"
    )
    assert seen == ["startup"], broke("AppRunner._make_server() runs the application's startup")


async def test_the_started_servers_handler_and_factory_serve_the_application(cleanup):
    seen: list[str] = []
    runner = RecordingRunner(small_app(seen))
    cleanup.append(runner)
    host, port = await started(runner)
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://{host}:{port}/echo", data=b"hello") as answer:
            echoed = (answer.status, await answer.text())
        async with session.post(f"http://{host}:{port}/echo", data=b"x" * 17) as answer:
            too_large = answer.status
    assert echoed == (200, "HELLO") and seen[1:3] == ["middleware", "route"], broke(
        "the server AppRunner._make_server() returns has request_handler (the application's "
        "middlewares and router) and request_factory (making web.Request of the application)"
    )
    assert too_large == 413, broke(
        "the started server's request_factory keeps the application's client_max_size"
    )


# --- 2. whether a connection's first request has arrived ------------------------------------------


class Counting(web.RequestHandler):
    """Notes ``requests_parsed`` as each ``data_received`` returns."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counted: list[int] = []

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.counted.append(requests_parsed(self))


async def counted_after(chunks: list[bytes], cleanup: list[web.AppRunner]) -> list[int]:
    runner = RecordingRunner(small_app([]), handler_class=Counting)
    cleanup.append(runner)
    host, port = await started(runner)
    _, writer = await asyncio.open_connection(host, port)
    for chunk in chunks:
        writer.write(chunk)
        await writer.drain()
        await asyncio.sleep(0.05)
    writer.close()
    [handler] = runner.made[0].handlers  # type: ignore[attr-defined]
    return handler.counted


async def test_the_request_count_is_zero_until_the_headers_are_parsed_then_one(cleanup):
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
    counted = await counted_after([head, b"\r\n", b"hi"], cleanup)
    assert counted[0] == 0 and counted[1] >= 1, broke(
        "RequestHandler._request_count is 0 until the first request's headers are parsed, and at least 1 "
        f"as data_received returns with them (seen: {counted})"
    )


async def test_a_request_the_parser_rejects_counts_too(cleanup):
    counted = await counted_after([b"NOT HTTP AT ALL\r\n\r\n"], cleanup)
    assert counted and counted[0] >= 1, broke(
        f"RequestHandler._request_count counts a request the parser rejects (seen: {counted})"
    )


# --- what is public but not promised -----------------------------------------------------------


async def test_the_server_is_the_protocol_factory_of_the_sites(cleanup):
    runner = RecordingRunner(small_app([]))
    cleanup.append(runner)
    host, port = await started(runner)
    writers = [(await asyncio.open_connection(host, port))[1] for _ in range(3)]
    await asyncio.sleep(0.05)
    for writer in writers:
        writer.close()
    assert len(runner.made[0].handlers) == 3, broke(  # type: ignore[attr-defined]
        "a site makes each connection's handler by calling its runner's web.Server"
    )


async def test_handle_error_answers_what_the_parser_rejects(cleanup):
    class Answering(web.RequestHandler):
        def handle_error(self, request: Any, status: int = 500, exc: Any = None, message: Any = None) -> Any:
            return web.Response(status=status, text="ours", headers={"Connection": "close"})

    runner = RecordingRunner(small_app([]), handler_class=Answering)
    cleanup.append(runner)
    host, port = await started(runner)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert b" 400 " in answer.split(b"\r\n")[0] and answer.endswith(b"ours"), broke(
        f"RequestHandler.handle_error answers a request the parser rejects (answered: {answer[:80]!r})"
    )


def test_every_handler_option_the_edge_passes_is_a_keyword_of_aiohttps_handler():
    keywords = set(inspect.signature(web.RequestHandler.__init__).parameters)
    passed = set(edge_limits(EdgeConfig())) | {"access_log"}
    assert passed <= keywords, broke(f"web.RequestHandler no longer takes {sorted(passed - keywords)}")


async def test_aiohttp_uses_none_of_the_names_our_subclasses_add():
    loop = asyncio.get_running_loop()
    server = EdgeServer(lambda _request: None, edge=EdgeConfig())  # type: ignore[arg-type,return-value]
    handler = EdgeRequestHandler(server, loop=loop, edge=EdgeConfig(), clients=server.clients)
    runner = EdgeRunner(web.Application(), EdgeConfig())
    for ours, theirs in ((handler, web.RequestHandler), (server, web.Server), (runner, web.AppRunner)):
        clash = set(vars(ours)) & set(dir(theirs))
        assert not clash, broke(f"{theirs.__name__} now has attributes named as ours: {sorted(clash)}")
