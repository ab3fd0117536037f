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
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import UTC, date, datetime
from typing import Any, Literal, TypeVar

from reactivex import Observable, abc

from orchestrator.cache.store import CacheConfig, MemoryStore, Store
from orchestrator.clients.context import CallStats
from orchestrator.resilience.clock import Clock
from streams import defer, observe_lifecycle, share_replay
from streams.lean import NOTHING, LeanObservable

T = TypeVar("T")

Outcome = Literal["cache_hits", "cache_misses", "cache_coalesced"]


def utc_today() -> date:
    return datetime.now(UTC).date()


class CallCache:
    """Identical calls, served once: ``serve`` is the whole of it."""

    def __init__(
        self, config: CacheConfig, store: Store | None, today: Callable[[], date] = utc_today
    ) -> None:
        self.config, self.store, self.today = config, store, today
        self._in_flight: dict[Hashable, Observable[Any]] = {}

    @classmethod
    def from_config(
        cls, config: CacheConfig, clock: Clock, today: Callable[[], date] = utc_today
    ) -> CallCache:
        store = MemoryStore(config.max_entries, config.max_bytes, clock) if config.enabled else None
        return cls(config, store, today)

    @classmethod
    def disabled(cls) -> CallCache:
        """A cache that keeps and shares nothing: every call is made."""
        return cls(CacheConfig(enabled=False), None)

    def ttl_s(self, end_date: str) -> float:
        """How long an answer for a range ending on ``end_date`` (``YYYY-MM-DD``) may be kept."""
        settled = end_date < self.today().isoformat()
        return self.config.settled_ttl_s if settled else self.config.recent_ttl_s

    def in_flight(self) -> int:
        return len(self._in_flight)

    def serve(
        self,
        key: Hashable,
        end_date: str,
        load: Observable[T],
        *,
        size_of: Callable[[T], int],
        name: str,
        stats: CallStats,
        shared: Callable[[T, bool], None],
    ) -> Observable[T]:
        """``load``'s answer for ``key``: kept, shared, or called for.

        ``stats`` counts the outcome under ``name`` (``cache_hits``, ``cache_misses`` or
        ``cache_coalesced``); ``shared(value, coalesced)`` is told of each value this backtest did
        not call for itself, as it is delivered.
        """
        store = self.store
        if store is None:
            return load

        def start(_: Any) -> Observable[T]:
            kept = store.get(key)
            if kept is not None:
                stats.add("cache_hits", name)
                return _kept(kept, lambda: shared(kept, False))
            running = self._in_flight.get(key)
            if running is not None:
                stats.add("cache_coalesced", name)
                return running.pipe(observe_lifecycle(on_next=lambda value: shared(value, True)))
            stats.add("cache_misses", name)
            return self._call(
                key, load, lambda value: store.put(key, value, size_of(value), self.ttl_s(end_date))
            )

        return defer(start)

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
