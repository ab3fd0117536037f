"""Services that leak, lie, redirect, flood or drop connections, on real loopback servers: whatever
they send, the caller gets our words and our bounds."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

import fakes
from orchestrator.registry import SERVICES
from orchestrator.web.app import create_app
from tests.orchestrator.conftest import make_settings

SECRET = "postgres://admin:hunter2@db.internal:5432/prod"
TRACE = 'Traceback (most recent call last):\n  File "/srv/app/handlers.py", line 42, in prices'

Misbehaviour = Callable[[web.Request], Awaitable[web.StreamResponse | None]]


def services(misbehave: dict[str, Misbehaviour], seen: Counter[str] | None = None) -> web.Application:
    """The fake services, but ``misbehave[path]`` answers that path (returning None: behave)."""
    seen = seen if seen is not None else Counter()

    async def handler(request: web.Request) -> web.StreamResponse:
        seen[request.path] += 1
        if request.path in misbehave and (answer := await misbehave[request.path](request)) is not None:
            return answer
        return web.json_response(fakes.answer(request.path, await request.json()))

    app = web.Application()
    app.router.add_post("/{path:.*}", handler)
    return app


async def start(aiohttp_server: Any, orchestrator_client: Any, app: web.Application, **settings: Any) -> Any:
    server = await aiohttp_server(app)
    url = str(server.make_url("")).rstrip("/")
    values = {entry.url_setting: url for entry in SERVICES} | {"hedge": {"enabled": False}}
    return await orchestrator_client(create_app(make_settings(**values, **settings)))


async def backtest(client: Any) -> tuple[int, dict[str, Any], str]:
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    text = await response.text()
    return response.status, orjson.loads(text), text


def envelope(status: int, code: str, message: str, details: dict[str, Any]) -> web.Response:
    body = {"success": False, "error": {"code": code, "message": message, "details": details}}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


async def test_a_verbose_internal_error_reaches_the_caller_in_our_words_only(
    aiohttp_server, orchestrator_client
):
    async def leak(_request: web.Request) -> web.Response:
        return envelope(500, "INTERNAL_ERROR", f"{TRACE}\n{SECRET}", {"dsn": SECRET, "trace": TRACE})

    client = await start(aiohttp_server, orchestrator_client, services({"/calculate": leak}))
    status, body, text = await backtest(client)
    assert (status, body["error"]["code"]) == (502, "EXTERNAL_API_ERROR")
    assert "hunter2" not in text and "Traceback" not in text and "handlers.py" not in text


async def test_a_passed_through_code_keeps_plain_details_and_drops_the_rest(
    aiohttp_server, orchestrator_client
):
    async def unknown(_request: web.Request) -> web.Response:
        details = {"ticker": "NOPE", "query": "SELECT * FROM prices WHERE t='x'", "dsn": SECRET, "n": 3}
        return envelope(404, "INVALID_TICKER", f"no such ticker; see {SECRET}", details)

    client = await start(aiohttp_server, orchestrator_client, services({"/prices": unknown}))
    status, body, text = await backtest(client)
    assert (status, body["error"]["message"]) == (400, "No such ticker")
    assert body["error"]["details"] == {"ticker": "NOPE", "n": 3, "service": "market_data"}
    assert "hunter2" not in text and "SELECT" not in text


async def test_a_service_cannot_blame_another(aiohttp_server, orchestrator_client):
    async def spoof(_request: web.Request) -> web.Response:
        return envelope(503, "SERVICE_UNAVAILABLE", "down", {"service": "metrics"})

    client = await start(aiohttp_server, orchestrator_client, services({"/signals": spoof}))
    status, body, _ = await backtest(client)
    assert (status, body["error"]["details"]["service"]) == (503, "strategy")


async def test_a_redirect_is_not_followed_and_is_a_contract_error(aiohttp_server, orchestrator_client):
    elsewhere_seen: Counter[str] = Counter()
    elsewhere = await aiohttp_server(services({}, elsewhere_seen))

    async def redirect(_request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(str(elsewhere.make_url("/simulate")))

    seen: Counter[str] = Counter()
    client = await start(aiohttp_server, orchestrator_client, services({"/simulate": redirect}, seen))
    status, body, text = await backtest(client)
    assert (status, body["error"]["code"], body["error"]["details"]["status"]) == (
        502,
        "EXTERNAL_API_ERROR",
        307,
    )
    assert elsewhere_seen == Counter()  # the body was never re-posted to wherever it pointed
    assert seen["/simulate"] == 2  # once per simulation: a redirect is not retried either
    assert str(elsewhere.port) not in text


async def test_an_answer_over_the_cap_is_not_read_past_it(aiohttp_server, orchestrator_client):
    async def flood(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            for _ in range(64):  # 16 MB, announced by no Content-Length
                await response.write(b" " * (256 * 1024))
        except ConnectionError:
            pass
        return response

    client = await start(
        aiohttp_server, orchestrator_client, services({"/prices": flood}), max_answer_bytes=1024 * 1024
    )
    status, body, _ = await backtest(client)
    assert (status, body["error"]["code"]) == (502, "EXTERNAL_API_ERROR")
    assert body["error"]["message"] == "The market_data service answered more than we read"


async def test_a_pooled_connection_the_service_just_closed_is_retried_at_once(
    aiohttp_server, orchestrator_client
):
    """The race of a keep-alive pool: the service drops an idle connection as a request goes out on it."""
    answered: dict[int, int] = Counter()

    async def close_the_second(request: web.Request) -> None:
        connection = id(request.transport)
        answered[connection] += 1
        if answered[connection] == 2 and request.transport is not None:
            request.transport.close()  # as if its keep-alive had just run out
            await asyncio.sleep(0.01)
        return None

    client = await start(
        aiohttp_server,
        orchestrator_client,
        services(dict.fromkeys(fakes.SERVICE_PATHS, close_the_second)),
        retry={"max_attempts": 1},  # no retry of ours: only the transport's own, for this race
    )
    for _ in range(3):
        status, body, _ = await backtest(client)
        assert status == 200, body
