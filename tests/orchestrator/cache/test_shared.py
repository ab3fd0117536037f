"""The shared store on a real Redis: its keys, the claim (a value, or the lock), the lock's release,
and what it does when Redis is away."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis
from structlog.testing import capture_logs

from orchestrator.cache.shared import RELEASE, UNAVAILABLE, Claim, SharedStore
from orchestrator.cache.store import CacheConfig
from tests.orchestrator.cache.conftest import PATIENT_S, first_wait, within
from tests.orchestrator.cache.redis_server import free_port

KEY = SharedStore.key_of(("prices", "market_data", "TQQQ", "ETF", "2020-01-01", "2022-01-01", "daily"))
LOCK = f"{KEY}:lock"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def connect(request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., SharedStore]]:
    """``connect(url=..., clock=..., **config)``: a store (closed after the test), on the session's
    Redis unless ``url`` is given (a closed port needs no Redis at all)."""
    stores: list[SharedStore] = []

    def make(url: str | None = None, clock: Callable[[], float] | None = None, **config: Any) -> SharedStore:
        options: dict[str, Any] = {"poll_s": 0.01} | ({"clock": clock} if clock else {})
        url = url or request.getfixturevalue("redis_url")
        config = {"redis_timeout_s": PATIENT_S, **config}
        stores.append(SharedStore.connect(url, CacheConfig(**config), **options))
        return stores[-1]

    yield make
    for store in stores:
        await store.close()


def test_keys_are_namespaced_versioned_and_hashed():
    assert re.fullmatch(r"orchestrator:v1:prices:[0-9a-f]{64}", KEY)
    other = SharedStore.key_of(("prices", "market_data", "SPY", "ETF", "2020-01-01", "2022-01-01", "daily"))
    assert other != KEY


async def test_a_first_claim_takes_the_lock_for_a_lock_s(connect, redis: Redis):
    claim = await connect(redis_lock_s=2).claim(KEY)
    assert claim.token is not None and claim.value is None and not claim.waited
    assert await redis.get(LOCK) == claim.token.encode()
    assert 1_000 < await redis.pttl(LOCK) <= 2_000


async def test_a_kept_answer_is_claimed_with_the_time_it_has_left(connect, redis: Redis):
    await redis.set(KEY, b"answer", px=60_000)
    claim = await connect().claim(KEY)
    assert (claim.value, claim.token, claim.waited) == (b"answer", None, False)
    assert claim.ttl_s is not None and 59 < claim.ttl_s <= 60


async def test_keeping_sets_the_answer_for_its_ttl_and_gives_the_lock_back(connect, redis: Redis):
    store = connect()
    claim = await store.claim(KEY)
    store.keep(KEY, lambda: b"answer", 30, claim.token)
    await store.flush()
    assert await redis.get(KEY) == b"answer" and 29_000 < await redis.pttl(KEY) <= 30_000
    assert await redis.exists(LOCK) == 0


async def test_a_claim_while_another_process_calls_waits_for_its_answer(connect):
    holder, waiter = connect(), connect()
    held = await holder.claim(KEY)
    waits = first_wait(waiter)
    waiting = asyncio.ensure_future(waiter.claim(KEY))
    await within(waits)
    await asyncio.sleep(0.03)  # a few polls
    assert not waiting.done()
    holder.keep(KEY, lambda: b"answer", 30, held.token)
    claim = await asyncio.wait_for(waiting, 2)
    assert (claim.value, claim.waited) == (b"answer", True)


async def test_a_claim_whose_holder_failed_takes_the_lock_itself(connect):
    holder, waiter = connect(), connect()
    held = await holder.claim(KEY)
    waits = first_wait(waiter)
    waiting = asyncio.ensure_future(waiter.claim(KEY))
    await within(waits)
    holder.release(KEY, held.token)  # its call failed: nothing kept
    claim = await asyncio.wait_for(waiting, 2)
    assert claim.token is not None and claim.token != held.token and claim.waited


async def test_a_claim_waits_a_lock_s_at_most_then_calls_without_the_lock(connect, redis: Redis):
    await redis.set(LOCK, b"someone else's", px=60_000)  # held longer than this process would
    claim = await connect(redis_lock_s=0.1).claim(KEY)
    assert claim == Claim(waited=True)


# --- the lock's release: a compare-and-delete ------------------------------------------------------


async def test_the_release_script_deletes_the_lock_it_holds(redis: Redis):
    await redis.set(LOCK, b"mine", px=10_000)
    assert await redis.register_script(RELEASE)(keys=[LOCK], args=[b"mine"]) == 1
    assert await redis.exists(LOCK) == 0


async def test_the_release_script_leaves_a_lock_another_holds(redis: Redis):
    await redis.set(LOCK, b"theirs", px=10_000)
    assert await redis.register_script(RELEASE)(keys=[LOCK], args=[b"mine"]) == 0
    assert await redis.get(LOCK) == b"theirs"


async def test_a_late_holder_never_releases_the_lock_taken_after_its_own_expired(connect, redis: Redis):
    late, next_ = connect(redis_lock_s=0.05), connect()
    mine = await late.claim(KEY)
    await asyncio.sleep(0.1)  # expired
    theirs = await next_.claim(KEY)
    late.release(KEY, mine.token)
    await late.flush()
    assert theirs.token is not None and await redis.get(LOCK) == theirs.token.encode()


async def test_the_release_script_on_no_lock_does_nothing(redis: Redis):
    assert await redis.register_script(RELEASE)(keys=[LOCK], args=[b"mine"]) == 0


# --- Redis away ------------------------------------------------------------------------------------


async def test_unreachable_redis_is_unavailable_until_the_pause_ends_then_one_caller_tries_again(connect):
    clock = Clock()
    store = connect(f"redis://127.0.0.1:{free_port()}/0", clock=clock, redis_retry_s=5)
    with capture_logs() as logs:
        assert store.available() and await store.claim(KEY) == UNAVAILABLE
        assert not store.available()
        clock.now = 5
        assert (store.available(), store.available()) == (True, False)  # one probe
        assert await store.claim(KEY) == UNAVAILABLE
        clock.now = 9.9
        assert not store.available()
    assert [line["event"] for line in logs] == ["shared_cache_unavailable"]  # once for the outage


async def test_a_write_that_fails_counts_as_an_outage_and_fails_nothing(connect):
    store = connect(f"redis://127.0.0.1:{free_port()}/0")
    with capture_logs() as logs:
        store.keep(KEY, lambda: b"answer", 30, "token")
        store.release(KEY, "token")
        await store.flush()
    assert not store.available()
    assert [line["event"] for line in logs] == ["shared_cache_unavailable"]


async def test_a_timeout_counts_as_unavailable_fast(connect, own_redis):
    server = own_redis().start()
    store = connect(server.url, redis_timeout_s=0.1)
    assert (await store.claim(KEY)).token is not None
    server.process.send_signal(signal.SIGSTOP)  # connected, but it answers nothing
    try:
        started = asyncio.get_running_loop().time()
        assert await store.claim(KEY + "x") == UNAVAILABLE
        assert asyncio.get_running_loop().time() - started < 1
    finally:
        server.process.send_signal(signal.SIGCONT)
