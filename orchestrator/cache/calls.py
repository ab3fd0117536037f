"""One call for many: served from the store, from an identical call in flight, or made.

::

    backtest 1:  prices(TQQQ, 2020-2022)  --call----------a|   a miss: the call is made, its answer kept
    backtest 2:       prices(TQQQ, 2020-2022)  --(shared)--a|   coalesced: it waits for that same call
    backtest 3:                                 prices(...) a|   a hit: from the store, no call at all

The shared call is counted by its consumers (``share_replay``): the backtest that started it may
leave (its client gone, its deadline passed) and the call goes on for the others; only when every
one of them has left is it cancelled. It runs under the deadline and the request id of the backtest
that started it. An error is never kept, and the call it ended is forgotten at once, so the next
backtest tries again.

How long an answer is kept follows its date range: one that ended before today (UTC) never changes
and is kept ``settled_ttl_s``; one that reaches today changes with each new bar and is kept
``recent_ttl_s``.

With a shared store (Redis, ``shared.py``) and a ``codec`` (prices and dividends), a miss in this
process asks the shared store before it calls: the answer another replica kept (a hit), or one
another replica is calling for (coalesced, across processes), or else the lock to call and keep it
there. That lookup is the call identical backtests of this process share, as above. Redis
unavailable: the in-process store serves alone, as it does without ``REDIS_URL``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from reactivex import Observable, abc

from orchestrator.cache.codecs import Codec
from orchestrator.cache.shared import Claim, SharedStore
from orchestrator.cache.store import CacheConfig, MemoryStore, Store
from orchestrator.clients.context import CallStats
from orchestrator.resilience.clock import Clock
from streams import Turns, defer, from_coroutine, in_turns, just, observe_lifecycle, share_replay, then
from streams.lean import LeanObservable
from streams.subscriptions import NOTHING

T = TypeVar("T")


def utc_today() -> date:
    return datetime.now(UTC).date()


class CallCache:
    """Identical calls, served once: ``serve`` is the whole of it."""

    def __init__(
        self,
        config: CacheConfig,
        store: Store | None,
        today: Callable[[], date] = utc_today,
        shared_store: SharedStore | None = None,
        turns: Turns | None = None,
    ) -> None:
        self.config, self.store, self.today, self.shared_store = config, store, today, shared_store
        self.turns = turns
        self._in_flight: dict[Hashable, Observable[Any]] = {}

    @classmethod
    def from_config(
        cls,
        config: CacheConfig,
        clock: Clock,
        today: Callable[[], date] = utc_today,
        shared_store: SharedStore | None = None,
        turns: Turns | None = None,
    ) -> CallCache:
        """Off (``CACHE__ENABLED=false``): nothing kept, nothing shared, the shared store unused.
        ``turns``: where the backtests that share a call in flight take turns to be woken by its
        answer (none: all at once)."""
        if not config.enabled:
            return cls(config, None, today)
        return cls(
            config, MemoryStore(config.max_entries, config.max_bytes, clock), today, shared_store, turns
        )

    @classmethod
    def disabled(cls) -> CallCache:
        """A cache that keeps and shares nothing: every call is made."""
        return cls(CacheConfig(enabled=False), None)

    def ttl_s(self, end_date: str | None) -> float:
        """How long an answer for a range ending on ``end_date`` (``YYYY-MM-DD``) may be kept; ``None``
        for an answer of no range (a ticker search), which may change any day, as a recent range."""
        settled = end_date is not None and end_date < self.today().isoformat()
        return self.config.settled_ttl_s if settled else self.config.recent_ttl_s

    def in_flight(self) -> int:
        return len(self._in_flight)

    def serve(
        self,
        key: Hashable,
        end_date: str | None,
        load: Observable[T],
        *,
        size_of: Callable[[T], int],
        name: str,
        stats: CallStats,
        on_shared: Callable[[T, bool], None],
        codec: Codec[T] | None = None,
    ) -> Observable[T]:
        """``load``'s answer for ``key``: kept, shared, or called for.

        ``stats`` counts the outcome under ``name`` (``cache_hits``, ``cache_misses`` or
        ``cache_coalesced``); ``on_shared(value, coalesced)`` is told of each value this backtest did
        not call for itself, as it is delivered. With a ``codec`` the answer is also kept in the
        shared store, when there is one (``key[0]`` names its kind there).
        """
        store = self.store
        if store is None:
            return load
        remote = self.shared_store if codec is not None else None
        # A thousand backtests coalesced on one call are woken a few per turn: each starts its next
        # call, and the first of those leave while the rest are still being woken (streams/in_turns.py).
        woken: Callable[[Observable[T]], Observable[T]] = (
            _as_is if self.turns is None else in_turns(self.turns)
        )

        def coalesced(value: T) -> None:
            on_shared(value, True)

        def start(_: Any) -> Observable[T]:
            kept = store.get(key)
            if kept is not None:
                stats.add("cache_hits", name)
                return _kept(kept, lambda: on_shared(kept, False))
            running = self._in_flight.get(key)
            if running is not None:
                stats.add("cache_coalesced", name)
                return running.pipe(woken, observe_lifecycle(on_next=coalesced))
            if remote is not None and codec is not None and remote.available():
                return self._call_through(remote, codec, key, end_date, load, size_of, name, stats, on_shared)
            stats.add("cache_misses", name)
            return self._call(
                key, load, lambda value: store.put(key, value, size_of(value), self.ttl_s(end_date))
            )

        return defer(start)

    def _call_through(
        self,
        remote: SharedStore,
        codec: Codec[T],
        key: Hashable,
        end_date: str | None,
        load: Observable[T],
        size_of: Callable[[T], int],
        name: str,
        stats: CallStats,
        on_shared: Callable[[T, bool], None],
    ) -> Observable[T]:
        """A miss here: the shared store's answer, else ``load``'s (kept there under its lock).

        The lookup and the call it may lead to are one call that identical backtests of this
        process share (``_call``); ``found`` tells the backtest that started it how it was served.
        """
        store, remote_key, found = self.store, SharedStore.key_of(key), _Found()
        assert store is not None

        def answered(claim: Claim) -> Observable[T]:
            if claim.value is not None:
                try:
                    value = codec.decode(claim.value)
                except Exception as error:  # kept by another version, or damaged: called for again
                    remote.unreadable(remote_key, error)
                else:
                    stats.add("cache_coalesced" if claim.waited else "cache_hits", name)
                    found.answered, found.waited, found.ttl_s = True, claim.waited, claim.ttl_s
                    return just(value)
            stats.add("cache_misses", name)
            if claim.unavailable:
                return load
            token, ttl_s = claim.token, self.ttl_s(end_date)

            def release(*_: Any) -> None:
                remote.release(remote_key, token)

            def keep_shared(value: T) -> None:
                remote.keep(remote_key, lambda: codec.encode(value), ttl_s, token)

            return load.pipe(observe_lifecycle(on_next=keep_shared, on_error=release, on_cancel=release))

        def keep(value: T) -> None:
            ttl_s = found.ttl_s if found.ttl_s is not None else self.ttl_s(end_date)
            store.put(key, value, size_of(value), ttl_s)

        running = self._call(key, from_coroutine(lambda: remote.claim(remote_key)).pipe(then(answered)), keep)

        def delivered(value: T) -> None:
            if found.answered:  # by the shared store: not called for
                on_shared(value, found.waited)

        return running.pipe(observe_lifecycle(on_next=delivered))

    def _call(self, key: Hashable, load: Observable[T], keep: Callable[[T], None]) -> Observable[T]:
        # ``forget`` knows the shared call by its id only: holding the call itself, it would make a
        # cycle with it, and a cycle waits for the garbage collector to free what the call holds.
        call_id = [0]

        def forget(*_: Any) -> None:
            if id(self._in_flight.get(key)) == call_id[0]:
                del self._in_flight[key]

        running = load.pipe(
            observe_lifecycle(on_next=keep, on_error=forget, on_cancel=forget, on_completed=forget),
            share_replay(),
        )
        call_id[0] = id(running)
        self._in_flight[key] = running
        return running


class _Found:
    """Whether the shared store ``answered`` a call (else it was called for, here), written before
    the answer is delivered: after it ``waited`` for another process's call or not, and the
    seconds the answer has left there (None: not known)."""

    __slots__ = ("answered", "ttl_s", "waited")

    def __init__(self) -> None:
        self.answered = self.waited = False
        self.ttl_s: float | None = None


def _kept(value: T, delivered: Callable[[], None]) -> Observable[T]:
    def subscribe(
        observer: abc.ObserverBase[T], _scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        try:
            delivered()
        except Exception as error:  # delivered as the stream's error, not lost in the loop
            observer.on_error(error)
            return NOTHING
        observer.on_next(value)
        observer.on_completed()
        return NOTHING

    return LeanObservable(subscribe)


def _as_is(source: Observable[T]) -> Observable[T]:
    """The operator that changes nothing."""
    return source
