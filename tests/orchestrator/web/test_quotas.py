"""Quotas per tenant over HTTP (``web/auth.py``'s ``quotas``), and API keys shared through Redis:
429 with its headers for the excess, another tenant unaffected, a revocation seen by a second
replica within a second (a real Redis: ``REQUIRE_REDIS=1`` fails rather than skips without one)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import redis

import fakes
from orchestrator.auth import api_keys
from orchestrator.auth.config import Quota
from tests.orchestrator.cache.conftest import redis_server, redis_url  # noqa: F401  (fixtures)

#: Slow enough that a busy machine taking seconds over a test refills at most a token.
QUOTA = {"requests_per_s": 0.2, "burst": 4}


def keys_in(tmp_path: Path, **tenants: Quota | None) -> tuple[Path, dict[str, str]]:
    made = {tenant: api_keys.new_key(tenant, quota=quota) for tenant, quota in tenants.items()}
    path = tmp_path / "keys.json"
    api_keys.write_file(path, {record.id: record for _, record in made.values()})
    return path, {tenant: key for tenant, (key, _) in made.items()}


async def backtest(client: Any, key: str) -> Any:
    return await client.post("/api/backtest", json=fakes.backtest_request(), headers={"X-API-Key": key})


async def test_a_tenant_over_its_rate_gets_429_with_retry_after_and_the_ratelimit_headers(
    client_for, happy, tmp_path
):
    path, keys = keys_in(tmp_path, a=None)
    client = await client_for(auth={"mode": "api_key", "api_keys_file": str(path)}, quota=QUOTA)
    answers = [await backtest(client, keys["a"]) for _ in range(10)]
    statuses = [answer.status for answer in answers]
    assert statuses[:4] == [200] * 4 and statuses.count(429) >= 5
    refused = next(answer for answer in answers if answer.status == 429)
    error = (await refused.json())["error"]
    assert (error["code"], error["details"]["quota"]) == ("RATE_LIMITED", "rate")
    assert 1 <= int(refused.headers["Retry-After"]) <= 5  # a token back at 0.2 a second
    assert refused.headers["RateLimit-Policy"] == '"tenant";q=4;w=20'
    assert refused.headers["RateLimit"].startswith('"tenant";r=0;t=')


async def test_an_answer_to_a_caller_says_what_is_left(client_for, happy, tmp_path):
    path, keys = keys_in(tmp_path, a=None)
    client = await client_for(auth={"mode": "api_key", "api_keys_file": str(path)}, quota=QUOTA)
    answer = await backtest(client, keys["a"])
    assert (answer.status, answer.headers["RateLimit"]) == (200, '"tenant";r=3;t=5')


async def test_another_tenant_is_unaffected_by_one_over_its_quota(client_for, happy, tmp_path):
    path, keys = keys_in(tmp_path, a=None, b=None)
    client = await client_for(auth={"mode": "api_key", "api_keys_file": str(path)}, quota=QUOTA)
    for _ in range(10):
        await backtest(client, keys["a"])
    assert (await backtest(client, keys["a"])).status == 429
    assert [(await backtest(client, keys["b"])).status for _ in range(4)] == [200] * 4


async def test_a_tenant_s_own_quota_is_over_the_default(client_for, happy, tmp_path):
    path, keys = keys_in(tmp_path, a=None)
    client = await client_for(
        auth={"mode": "api_key", "api_keys_file": str(path)},
        quota={**QUOTA, "tenants": {"a": {"burst": 1}}},
    )
    assert [(await backtest(client, keys["a"])).status for _ in range(2)] == [200, 429]


async def test_a_key_s_own_quota_is_over_its_tenant_s(client_for, happy, tmp_path):
    path, keys = keys_in(tmp_path, a=Quota(burst=2))
    client = await client_for(auth={"mode": "api_key", "api_keys_file": str(path)}, quota=QUOTA)
    assert [(await backtest(client, keys["a"])).status for _ in range(3)] == [200, 200, 429]


async def test_backtests_in_flight_past_the_tenant_s_limit_get_429(start, tmp_path):
    path, keys = keys_in(tmp_path, a=None, b=None)
    client, _ = await start(
        {"/simulate": 0.5},
        auth={"mode": "api_key", "api_keys_file": str(path)},
        quota={"backtests_in_flight": 1},
    )
    first = asyncio.create_task(backtest(client, keys["a"]))
    await asyncio.sleep(0.1)
    refused = await backtest(client, keys["a"])
    error = (await refused.json())["error"]
    said = (refused.status, error["details"]["quota"], refused.headers["Retry-After"])
    assert said == (429, "backtests", "1")
    assert (await backtest(client, keys["b"])).status == 200
    assert (await first).status == 200
    assert (await backtest(client, keys["a"])).status == 200  # the hold given back


async def test_refusals_are_counted_by_configured_tenant_only(client_for, happy, tmp_path):
    from prometheus_client import REGISTRY

    path, keys = keys_in(tmp_path, a=None, zed=None)
    client = await client_for(
        auth={"mode": "api_key", "api_keys_file": str(path)},
        quota={"requests_per_s": 0.1, "burst": 1, "tenants": {"a": {}}},
    )

    def refused(tenant: str) -> float:
        labels = {"tenant": tenant, "quota": "rate"}
        return REGISTRY.get_sample_value("orchestrator_quota_refusals_total", labels) or 0.0

    before = refused("a"), refused("other"), refused("zed")
    for key in (keys["a"], keys["a"], keys["zed"], keys["zed"]):
        await backtest(client, key)
    assert (refused("a") - before[0], refused("other") - before[1], refused("zed")) == (1, 1, before[2])


# --- shared through Redis ------------------------------------------------------------------------


@pytest.fixture
def in_redis(redis_url):  # noqa: F811  (the fixture imported above)
    """A plain client for what ``orchestrator keys`` writes (in a thread: it blocks)."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


async def test_a_revocation_in_redis_is_seen_by_every_replica_within_a_second(
    client_for,
    happy,
    redis_url,  # noqa: F811  (the fixture imported above)
    in_redis,
):
    key, record = api_keys.new_key("a")
    await asyncio.to_thread(api_keys.redis_keep, in_redis, record)
    settings = {"auth": {"mode": "api_key"}, "redis_url": redis_url, "cache": {"redis_timeout_s": 2}}
    replicas = [await client_for(**settings), await client_for(**settings)]
    assert [(await backtest(replica, key)).status for replica in replicas] == [200, 200]
    revoked_at = time.monotonic()
    assert await asyncio.to_thread(api_keys.redis_forget, in_redis, record.id)
    seen = {}
    while len(seen) < 2 and time.monotonic() - revoked_at < 3:
        for number, replica in enumerate(replicas):
            if number not in seen and (await backtest(replica, key)).status == 401:
                seen[number] = time.monotonic() - revoked_at
        await asyncio.sleep(0.02)
    assert sorted(seen) == [0, 1] and max(seen.values()) < 1.0


async def test_replicas_share_a_tenant_s_bucket_through_redis(client_for, happy, redis_url, in_redis):  # noqa: F811
    key, record = api_keys.new_key("a")
    await asyncio.to_thread(api_keys.redis_keep, in_redis, record)
    settings = {
        "auth": {"mode": "api_key"},
        "redis_url": redis_url,
        "cache": {"redis_timeout_s": 2},
        "quota": {"requests_per_s": 0.1, "burst": 4},
    }
    replicas = [await client_for(**settings), await client_for(**settings)]
    statuses = [(await backtest(replicas[n % 2], key)).status for n in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]
