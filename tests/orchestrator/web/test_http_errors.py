"""Every answer is the envelope: unknown paths, wrong methods, bodies that are not JSON or too large."""

from __future__ import annotations

import pytest

import fakes


async def _envelope(response) -> dict:
    assert response.content_type == "application/json"
    body = await response.json()
    assert body["success"] is False
    return body["error"]


async def test_unknown_path_is_404(client):
    response = await client.get("/api/nothing-here")
    assert (response.status, (await _envelope(response))["code"]) == (404, "NOT_FOUND")


async def test_wrong_method_is_405(client):
    response = await client.get("/api/backtest")
    error = await _envelope(response)
    assert (response.status, error["code"]) == (405, "METHOD_NOT_ALLOWED")
    assert "POST" in error["details"]["allowed"]


@pytest.mark.parametrize("body", [b"{not json", b'{"a": 1', b"\xff\xfe", b"[1,]"])
async def test_body_not_json_is_400(client, services, body):
    response = await client.post("/api/backtest", data=body, headers={"Content-Type": "application/json"})
    error = await _envelope(response)
    assert (response.status, error["code"]) == (400, "INVALID_REQUEST")
    assert "not valid JSON" in error["message"]


async def test_empty_body_is_400(client, services):
    response = await client.post("/api/backtest", data=b"", headers={"Content-Type": "application/json"})
    assert (response.status, (await _envelope(response))["code"]) == (400, "INVALID_REQUEST")


async def test_body_too_large_is_413(client_for, services):
    client = await client_for(max_body_bytes=2048)
    padded = fakes.backtest_request(padding="x" * 4096)
    response = await client.post("/api/backtest", json=padded)
    error = await _envelope(response)
    assert (response.status, error["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert error["details"]["max_bytes"] == 2048


async def test_body_too_large_sent_in_chunks_is_413(client_for, services):
    """No Content-Length to refuse up front: aiohttp stops reading at the limit, and it is the same code."""
    client = await client_for(max_body_bytes=2048)

    async def chunks():
        for _ in range(8):
            yield b" " * 1024

    response = await client.post("/api/backtest", data=chunks(), headers={"Content-Type": "application/json"})
    error = await _envelope(response)
    assert (response.status, error["code"]) == (413, "PAYLOAD_TOO_LARGE")


async def test_non_json_media_type_is_415(client, services):
    response = await client.post(
        "/api/backtest", data="ticker=TQQQ", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (response.status, (await _envelope(response))["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")


async def test_json_with_charset_is_accepted(client, happy):
    import orjson

    response = await client.post(
        "/api/backtest",
        data=orjson.dumps(fakes.backtest_request()),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status == 200


async def test_cors_preflight_allows_the_frontend(client):
    response = await client.options(
        "/api/backtest",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


async def test_cors_refuses_other_origins(client):
    response = await client.options(
        "/api/backtest",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in response.headers
