"""Quotas (``auth/quota.py``): the token bucket, holds on what runs, settings per day; in this
process, and shared through a real Redis (``REQUIRE_REDIS=1`` fails rather than skips without one)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from orchestrator.auth.caller import Caller
from orchestrator.auth.config import Quota, QuotaConfig
from orchestrator.auth.quota import Hold, LocalQuotas, Quotas, subject_of
from tests.orchestrator.cache.conftest import redis_server, redis_url  # noqa: F401  (fixtures)

A = Caller("a", frozenset(), "api_key", key_id="aaaaaaaaaaaa")
B = Caller("b", frozenset(), "api_key", key_id="bbbbbbbbbbbb")
SMALL = QuotaConfig(requests_per_s=1, burst=3, backtests_in_flight=1, settings_per_day=10)


def test_a_bucket_lets_the_burst_through_then_refills_at_the_rate():
    now = [0.0]
    local = LocalQuotas(clock=lambda: now[0])
    limits = SMALL.limits("a")
    assert [local.take("a", limits, None).allowed for _ in range(4)] == [True, True, True, False]
    refused = local.take("a", limits, None)
    assert (refused.over, refused.retry_after_s) == ("rate", 1.0)
    now[0] = 1.0
    assert local.take("a", limits, None).allowed


def test_one_tenant_s_bucket_is_not_another_s():
    local = LocalQuotas(clock=lambda: 0.0)
    for _ in range(3):
        local.take("a", SMALL.limits("a"), None)
    assert not local.take("a", SMALL.limits("a"), None).allowed
    assert local.take("b", SMALL.limits("b"), None).allowed


def test_a_hold_is_refused_past_its_limit_until_given_back():
    local = LocalQuotas(clock=lambda: 0.0)
    limits = SMALL.limits("a")
    first = Hold("backtests", "one", 60)
    assert local.take("a", limits, first).allowed
    refused = local.take("a", limits, Hold("backtests", "two", 60))
    assert (refused.allowed, refused.over) == (False, "backtests")
    local.release("a", first)
    assert local.take("a", limits, Hold("backtests", "two", 60)).allowed


def test_a_hold_ends_by_itself_after_its_life():
    now = [0.0]
    local = LocalQuotas(clock=lambda: now[0])
    limits = SMALL.limits("a")
    local.take("a", limits, Hold("backtests", "one", 5))
    now[0] = 6.0
    assert local.take("a", limits, Hold("backtests", "two", 5)).allowed


def test_settings_per_day_are_counted_up_to_the_limit():
    local = LocalQuotas()
    assert local.spend("a", "settings", 8, 10)
    assert not local.spend("a", "settings", 3, 10)
    assert local.spend("a", "settings", 2, 10)


def test_a_key_with_its_own_quota_has_its_own_bucket():
    own = Caller("a", frozenset(), "api_key", key_id="cccccccccccc", quota=Quota(burst=1))
    assert (subject_of(A), subject_of(own)) == ("tenant:a", "key:cccccccccccc")


def test_the_headers_say_the_policy_and_what_is_left():
    local = LocalQuotas(clock=lambda: 0.0)
    decision = local.take("a", QuotaConfig(requests_per_s=10, burst=40).limits("a"), None)
    assert decision.headers() == {"RateLimit-Policy": '"tenant";q=40;w=4', "RateLimit": '"tenant";r=39;t=1'}


# --- through Redis -------------------------------------------------------------------------------


@pytest.fixture
async def two_replicas(redis_url):  # noqa: F811  (the fixture imported above)
    clients = [Redis.from_url(redis_url, protocol=2) for _ in range(2)]
    yield [Quotas(SMALL, client) for client in clients]
    for client in clients:
        await client.aclose()


async def test_replicas_share_one_bucket_through_redis(two_replicas):
    first, second = two_replicas
    taken = [await first.take(A), await second.take(A), await first.take(A), await second.take(A)]
    assert [decision.allowed for decision in taken] == [True, True, True, False]
    assert (await second.take(B)).allowed


async def test_replicas_share_holds_through_redis_and_give_them_back(two_replicas):
    first, second = two_replicas
    hold = Hold("backtests", "one", 60)
    assert (await first.take(A, hold)).allowed
    assert (await second.take(A, Hold("backtests", "two", 60))).over == "backtests"
    first.release(A, hold)
    await first.close()  # the release, sent in the background, done
    assert (await second.take(A, Hold("backtests", "two", 60))).allowed


async def test_settings_per_day_are_shared_through_redis(two_replicas):
    first, second = two_replicas
    assert await first.spend(A, "settings", 8)
    assert not await second.spend(A, "settings", 3)


async def test_redis_away_each_replica_limits_on_its_own():
    quotas = Quotas(SMALL, Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2))
    try:
        assert [(await quotas.take(A)).allowed for _ in range(4)] == [True, True, True, False]
    finally:
        await quotas.redis.aclose()
