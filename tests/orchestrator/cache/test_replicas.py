"""Replicas sharing market data through a real Redis: what one fetched, the others do not fetch again.

Each test runs two orchestrators (two ``create_app`` with the same ``REDIS_URL``) in front of one set
of fake services on loopback, and counts the calls the services saw. Both run on the test's event
loop: the lock that coalesces their calls is in Redis, as it would be between processes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

import fakes
from tests.orchestrator.cache.conftest import settled


async def backtest(client: Any, **changes: Any) -> dict[str, Any]:
    response = await client.post("/api/backtest", json=fakes.backtest_request(**changes))
    body = await response.json()
    assert response.status == 200, body
    return body


def calls(log: Any, path: str) -> int:
    return len(log.started.get(path, []))


async def kept_keys(redis: Redis, kind: str) -> list[bytes]:
    return sorted([key async for key in redis.scan_iter(f"orchestrator:v1:{kind}:*")])


async def test_a_second_replica_makes_no_market_data_or_baseline_call_the_first_made(replicas, redis_url):
    (first, second), log = await replicas(2, redis_url)
    one = await backtest(first)
    await settled(first)
    two = await backtest(second)
    assert (calls(log, "/prices"), calls(log, "/dividends")) == (1, 1)
    # each replica its own strategy, and one baseline run between them: shared through Redis too
    assert (calls(log, "/signals"), calls(log, "/simulate")) == (3, 3)
    # the same prices and dividends, as the fingerprint of the data each answer used says
    assert two["data"]["metadata"]["fingerprint"] == one["data"]["metadata"]["fingerprint"]


async def test_identical_backtests_at_once_in_two_replicas_make_one_market_data_call(replicas, redis_url):
    (first, second), log = await replicas(2, redis_url, delays={"/prices": 0.3, "/dividends": 0.3})
    await asyncio.gather(backtest(first), backtest(second))
    assert (calls(log, "/prices"), calls(log, "/dividends")) == (1, 1)


async def test_a_range_that_ended_before_today_is_kept_long_one_that_reaches_today_briefly(
    replicas, redis_url, redis
):
    (first,), _ = await replicas(1, redis_url, cache={"settled_ttl_s": 1000, "recent_ttl_s": 30})
    await backtest(first, market_params__ticker="OLD")
    today = datetime.now(UTC).date()
    recent = {
        "market_params__ticker": "NEW",
        "market_params__start_date": (today - timedelta(days=30)).isoformat(),
        "market_params__end_date": today.isoformat(),
    }
    await backtest(first, **recent)
    await settled(first)
    ttls = sorted([await redis.pttl(key) for key in await kept_keys(redis, "prices")])
    assert len(ttls) == 2
    assert 25_000 < ttls[0] <= 30_000 and 990_000 < ttls[1] <= 1_000_000


async def test_an_error_is_not_kept_and_the_next_replica_calls_again(replicas, redis_url, redis):
    failing = {"prices": 1}

    @web.middleware
    async def fail_prices_once(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/prices" and failing["prices"]:
            failing["prices"] -= 1
            return web.json_response(fakes.error_envelope("INVALID_TICKER", "unknown ticker"), status=400)
        return await handler(request)

    (first, second), log = await replicas(2, redis_url, middlewares=(fail_prices_once,))
    response = await first.post("/api/backtest", json=fakes.backtest_request())
    assert response.status == 400
    await settled(first)
    assert await kept_keys(redis, "prices") == []  # (the dividends may have come in first: kept)
    assert [key async for key in redis.scan_iter("orchestrator:v1:*:lock")] == []  # no lock left
    await backtest(second)
    assert calls(log, "/prices") == 1  # the failed call never reached the service's handler
