"""The client's own contract, against a small aiohttp server on loopback; every way the exchanges of
the command line end is tested through it (``tests/cli/``)."""

from __future__ import annotations

import pytest
from aiohttp import web

from orchestrator.client import Failed, OrchestratorClient, Reply

ANSWER = '{"success": true, "data": {"query": "tq", "results": []}}'


async def _served(aiohttp_server, path: str, answer: web.Response) -> str:
    async def handler(_request: web.Request) -> web.Response:
        return answer

    app = web.Application()
    app.router.add_route("*", path, handler)
    return str((await aiohttp_server(app)).make_url(""))


async def test_a_reply_holds_the_text_as_it_came_and_the_envelope_it_decodes_to(aiohttp_server):
    url = await _served(aiohttp_server, "/api/tickers/search", web.Response(text=ANSWER))
    async with OrchestratorClient(url, timeout_s=5) as client:
        reply = await client.search_tickers("tq")
    assert reply == Reply(ANSWER, {"success": True, "data": {"query": "tq", "results": []}})


async def test_a_csv_export_answered_with_json_is_no_usable_answer(aiohttp_server):
    url = await _served(
        aiohttp_server, "/api/sweep", web.Response(text=ANSWER, content_type="application/json")
    )
    async with OrchestratorClient(url, timeout_s=5) as client:
        with pytest.raises(Failed, match="asked for CSV, got application/json") as failed:
            await client.sweep_csv({})
    assert failed.value.exit_code == 2


async def test_a_client_outside_async_with_says_so():
    with pytest.raises(RuntimeError, match="inside `async with`"):
        await OrchestratorClient("http://127.0.0.1:1", timeout_s=1).search_tickers("tq")
