"""An answer refused for answering another question (``schemas/downstream.py``: what was asked)
never reaches the shared store: no replica is served it, and the next call asks again."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from redis.asyncio import Redis

import fakes
from tests.orchestrator.cache.conftest import settled


async def kept(redis: Redis, kind: str) -> list[bytes]:
    return [key async for key in redis.scan_iter(f"orchestrator:v1:{kind}:*")]


async def test_prices_for_another_ticker_are_not_kept_in_redis(replicas, redis_url, redis):
    answered = {"/prices": 0}

    @web.middleware
    async def another_ticker_once(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/prices":
            answered["/prices"] += 1
            if answered["/prices"] == 1:
                return web.json_response(fakes.prices(ticker="POISON"))
        return await handler(request)

    (first, second), _ = await replicas(2, redis_url, middlewares=(another_ticker_once,))
    response = await first.post("/api/backtest", json=fakes.backtest_request())
    assert (response.status, (await response.json())["error"]["code"]) == (502, "EXTERNAL_API_ERROR")
    await settled(first)
    assert await kept(redis, "prices") == []
    assert [key async for key in redis.scan_iter("orchestrator:v1:*:lock")] == []  # no lock left
    response = await second.post("/api/backtest", json=fakes.backtest_request())
    assert response.status == 200
    assert answered["/prices"] == 2  # the second replica asked the service: nothing was kept
    await settled(second)
    assert len(await kept(redis, "prices")) == 1  # the answer that matched is
