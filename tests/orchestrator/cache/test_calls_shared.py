"""``CallCache.serve`` with a shared store on a real Redis: the same contract as in one process (hits,
coalesced waits and misses counted, ``on_shared`` told of what was not called for, errors never kept, a
caller that leaves cancels nothing for the others), now across replicas."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Any

import pytest
from redis.asyncio import Redis

from orchestrator.cache.calls import CallCache
from orchestrator.cache.codecs import Codec
from orchestrator.cache.shared import SharedStore
from orchestrator.cache.store import CacheConfig
from orchestrator.clients.context import CallStats
from streams import from_coroutine
from tests.orchestrator.cache.conftest import PATIENT_S, first_wait, within

TEXT: Codec[str] = Codec(str.encode, bytes.decode)
KEY = ("prices", "market_data", "TQQQ", "2020-01-01", "2022-01-01")
REMOTE = SharedStore.key_of(KEY)


class Failed(Exception):
    """The call's own error."""


class Service:
    """The call behind the cache: answers ``value`` after ``delay_s``, counting the calls made."""

    def __init__(self, value: str = "bars", delay_s: float = 0.0, error: Exception | None = None) -> None:
        self.value, self.delay_s, self.error = value, delay_s, error
        self.calls = self.cancelled = 0
        self.called, self.go = asyncio.Event(), asyncio.Event()
        self.go.set()  # unless a test holds the answer back (``go.clear()``)

    async def answer(self) -> str:
        self.calls += 1
        self.called.set()
        try:
            await asyncio.sleep(self.delay_s)
            await within(self.go)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.error is not None:
            raise self.error
        return self.value


class Caller:
    """One backtest asking ``cache`` for :data:`KEY`: what it was told was shared, its stats."""

    def __init__(self, cache: CallCache, service: Service) -> None:
        self.stats, self.shared = CallStats(), list[tuple[Any, bool]]()
        self.served = cache.serve(
            KEY,
            "2022-01-01",
            from_coroutine(service.answer),
            size_of=len,
            name="prices",
            stats=self.stats,
            on_shared=lambda value, coalesced: self.shared.append((value, coalesced)),
            codec=TEXT,
        )

    async def get(self) -> Any:
        return await self.served

    def outcome(self) -> dict[str, dict[str, int]]:
        return {event: dict(names) for event, names in self.stats.counts.items()}


@pytest.fixture
async def replica(redis_url: str) -> AsyncIterator[Callable[..., CallCache]]:
    """``replica()``: an in-process cache on the shared store, as one orchestrator process has."""
    stores: list[SharedStore] = []

    def make() -> CallCache:
        config = CacheConfig(redis_timeout_s=PATIENT_S)
        stores.append(SharedStore.connect(redis_url, config, poll_s=0.01))
        return CallCache.from_config(
            config, time.monotonic, today=lambda: date(2026, 11, 25), shared_store=stores[-1]
        )

    yield make
    for store in stores:
        await store.close()


async def test_a_miss_calls_and_keeps_the_answer_for_the_other_replicas(replica, redis: Redis):
    cache, service = replica(), Service()
    caller = Caller(cache, service)
    assert await caller.get() == "bars"
    await cache.shared_store.flush()
    assert (service.calls, caller.outcome(), caller.shared) == (1, {"cache_misses": {"prices": 1}}, [])
    assert await redis.get(REMOTE) == b"bars" and await redis.exists(f"{REMOTE}:lock") == 0


async def test_what_another_replica_kept_is_a_hit_and_reported_as_cached(replica):
    first, second, service = replica(), replica(), Service()
    await Caller(first, service).get()
    await first.shared_store.flush()
    caller = Caller(second, service)
    assert await caller.get() == "bars"
    assert (service.calls, caller.outcome()) == (1, {"cache_hits": {"prices": 1}})
    assert caller.shared == [("bars", False)]


async def test_a_call_another_replica_is_making_is_waited_for_and_reported_as_coalesced(replica):
    first, second, service = replica(), replica(), Service()
    service.go.clear()
    calling = asyncio.ensure_future(Caller(first, service).get())
    await within(service.called)  # the first replica holds the lock and calls
    waits, waiter = first_wait(second.shared_store), Caller(second, service)
    waiting = asyncio.ensure_future(waiter.get())
    await within(waits)
    service.go.set()
    assert await waiting == "bars" and await calling == "bars"
    assert (service.calls, waiter.outcome()) == (1, {"cache_coalesced": {"prices": 1}})
    assert waiter.shared == [("bars", True)]


async def test_identical_calls_in_one_replica_share_one_lookup_and_one_call(replica):
    cache, service = replica(), Service(delay_s=0.05)
    one, two = Caller(cache, service), Caller(cache, service)
    await asyncio.gather(one.get(), two.get())
    assert service.calls == 1
    assert (one.outcome(), two.outcome()) == (
        {"cache_misses": {"prices": 1}},
        {"cache_coalesced": {"prices": 1}},
    )
    assert two.shared == [("bars", True)]


async def test_an_answer_from_the_shared_store_is_kept_here_for_the_time_it_has_left_there(replica, redis):
    await redis.set(REMOTE, b"bars", px=5_000)
    cache = replica()
    await Caller(cache, Service()).get()
    left = cache.store._entries[KEY].expires_at - time.monotonic()
    assert 4 < left <= 5  # not the six hours of a settled range: what it has left in Redis


async def test_an_error_is_kept_nowhere_and_the_lock_is_given_back(replica, redis: Redis):
    cache, service = replica(), Service(error=Failed())
    with pytest.raises(Failed):
        await Caller(cache, service).get()
    await cache.shared_store.flush()
    assert [key async for key in redis.scan_iter("orchestrator:*")] == []
    assert cache.store.get(KEY) is None and cache.in_flight() == 0


async def test_a_caller_that_leaves_does_not_cancel_the_call_for_the_others(replica, redis: Redis):
    cache, service = replica(), Service(delay_s=0.1)
    leaver, stayer = Caller(cache, service), Caller(cache, service)
    leaving = leaver.served.subscribe(lambda _: None)
    staying = asyncio.ensure_future(stayer.get())
    await asyncio.sleep(0.02)
    leaving.dispose()
    assert await staying == "bars"
    await cache.shared_store.flush()
    assert (service.calls, service.cancelled) == (1, 0) and await redis.get(REMOTE) == b"bars"


async def test_when_every_caller_has_left_the_call_is_cancelled_and_the_lock_given_back(replica, redis):
    cache, service = replica(), Service(delay_s=10)
    subscription = Caller(cache, service).served.subscribe(lambda _: None)
    await within(service.called)  # the lock is taken, the call made
    assert await redis.exists(f"{REMOTE}:lock") == 1
    subscription.dispose()
    await cache.shared_store.flush()
    assert service.cancelled == 1 and await redis.exists(f"{REMOTE}:lock") == 0


async def test_a_value_that_does_not_read_back_is_called_for_again_and_replaced(replica, redis: Redis):
    await redis.set(REMOTE, b"\xff not text", px=60_000)
    cache, service = replica(), Service()
    caller = Caller(cache, service)
    assert await caller.get() == "bars"
    await cache.shared_store.flush()
    assert (service.calls, caller.outcome()) == (1, {"cache_misses": {"prices": 1}})
    assert await redis.get(REMOTE) == b"bars"


async def test_what_is_not_for_the_shared_store_stays_in_process(replica, redis: Redis):
    cache, service = replica(), Service()
    stats = CallStats()
    served = cache.serve(
        ("baseline", "TQQQ"),
        "2022-01-01",
        from_coroutine(service.answer),
        size_of=len,
        name="baseline",
        stats=stats,
        on_shared=lambda *_: None,
    )
    assert await served == "bars"
    await cache.shared_store.flush()
    assert [key async for key in redis.scan_iter("*")] == []


async def test_calls_through_the_shared_store_leave_nothing_for_the_garbage_collector(replica, redis):
    """As in one process (tests/orchestrator/backtest/test_graph_memory.py): reference counting
    frees a call, its lookup and its lock once they end, whether called for, found or waited for."""
    first, second, seen = replica(), replica(), list[Any]()

    def served(cache: CallCache, service: Service) -> Any:  # no object of the test in a cycle
        return cache.serve(
            KEY, "2022-01-01", from_coroutine(service.answer), size_of=len, name="prices",
            stats=CallStats(), on_shared=lambda *value: seen.append(value), codec=TEXT,
        )  # fmt: skip

    await served(first, Service())  # what is made once (types, the pools' connections)
    await first.shared_store.flush()
    await served(second, Service())
    await redis.flushall()
    first.store._entries.clear()
    second.store._entries.clear()
    seen.clear()
    gc.collect()
    gc.disable()
    try:
        service, waits = Service(), first_wait(second.shared_store)
        service.go.clear()
        calling = asyncio.ensure_future(served(first, service))  # a miss: the lock, the call
        await within(service.called)
        waiting = asyncio.ensure_future(served(second, Service()))  # waited for
        await within(waits)
        service.go.set()
        await waiting
        await calling
        await first.shared_store.flush()
        second.store._entries.clear()
        await served(second, Service())  # found
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable == 0 and seen == [("bars", True), ("bars", False)]
