"""Where answers are kept: ``Store`` is the interface, ``MemoryStore`` the bounded in-process one.

A store keeps values under hashable keys, each with its size in bytes (an estimate the caller
gives) and a time to live. ``MemoryStore`` evicts the least recently used entries to stay within
``max_entries`` and ``max_bytes``, refuses an entry larger than ``max_bytes`` by itself, and reads
time from the clock it is given (the scheduler's, so its tests run on virtual time). The store that
replicas share (Redis) is ``shared.py``: asynchronous, consulted by ``calls.py`` after this one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from orchestrator import metrics


class CacheConfig(BaseModel):
    """``CACHE__*``: what is kept, how much, and for how long."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Off: every backtest makes all its calls, and identical calls in flight are not shared either.
    enabled: bool = True
    max_entries: Annotated[int, Field(ge=1, le=1_000_000)] = 512
    #: About 100 twenty-year price series; the estimate counts the bytes of JSON each value holds.
    max_bytes: Annotated[int, Field(ge=1024 * 1024, le=64 * 1024**3)] = 128 * 1024 * 1024
    #: A range that ended before today never changes, but the provider revises adjusted closes when
    #: a dividend or split comes: kept six hours, not for ever.
    settled_ttl_s: Annotated[float, Field(gt=0, le=30 * 86400)] = 6 * 3600
    #: A range that reaches today changes with every new bar.
    recent_ttl_s: Annotated[float, Field(gt=0, le=86400)] = 60

    # With ``REDIS_URL`` (``shared.py``): prices and dividends are kept in Redis too.
    #: Each Redis command's connect and read timeout, and the longest wait for a pooled connection:
    #: past it, Redis counts as unavailable and the in-process store serves.
    redis_timeout_s: Annotated[float, Field(gt=0, le=10)] = 0.25
    #: After a Redis error, how long until it is tried again (by one call; the others wait for it).
    redis_retry_s: Annotated[float, Field(gt=0, le=3600)] = 5.0
    #: A miss's lock: other processes wait this long at most for its call, then call themselves.
    redis_lock_s: Annotated[float, Field(gt=0, le=300)] = 5.0
    #: Connections to Redis per process, at most.
    redis_max_connections: Annotated[int, Field(ge=1, le=10_000)] = 32


class Store(Protocol):
    def get(self, key: Hashable) -> Any | None:
        """The value kept under ``key``, or None when there is none or it has expired."""
        ...

    def put(self, key: Hashable, value: Any, size: int, ttl_s: float) -> None:
        """Keep ``value`` under ``key`` for ``ttl_s`` seconds; ``size`` is its bytes, estimated."""
        ...


@dataclass(slots=True)
class _Entry:
    value: Any
    size: int
    expires_at: float


class MemoryStore:
    """Least recently used entries go first, to stay within the entry and byte bounds."""

    def __init__(self, max_entries: int, max_bytes: int, clock: Callable[[], float]) -> None:
        self.max_entries, self.max_bytes, self.clock = max_entries, max_bytes, clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= self.clock():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry.value

    def put(self, key: Hashable, value: Any, size: int, ttl_s: float) -> None:
        if key in self._entries:
            self._drop(key)
        if size > self.max_bytes:
            return  # it would push out everything else and still not fit
        self._entries[key] = _Entry(value, size, self.clock() + ttl_s)
        self.nbytes += size
        while len(self._entries) > self.max_entries or self.nbytes > self.max_bytes:
            self._drop(next(iter(self._entries)))
        self._measure()

    def _drop(self, key: Hashable) -> None:
        self.nbytes -= self._entries.pop(key).size
        self._measure()

    def _measure(self) -> None:
        metrics.CACHE_ENTRIES.set(len(self._entries))
        metrics.CACHE_BYTES.set(self.nbytes)
