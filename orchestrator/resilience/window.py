"""Counts over the last few seconds, in buckets: what the retry budget and the breaker decide on."""

from __future__ import annotations

from orchestrator.resilience.clock import Clock


class RollingCounts:
    """Named counters over a sliding window of ``window_s``, kept in ``buckets`` slices of time.

    An event is forgotten between ``window_s - window_s / buckets`` and ``window_s`` after it
    happened; memory is fixed whatever the traffic.
    """

    def __init__(self, names: tuple[str, ...], window_s: float, clock: Clock, buckets: int = 10) -> None:
        self._names, self._clock = names, clock
        self._width = window_s / buckets
        self._epochs = [-1] * buckets  # which slice of time each bucket holds now
        self._counts = {name: [0] * buckets for name in names}

    def add(self, name: str, amount: int = 1) -> None:
        self._counts[name][self._bucket()] += amount

    def total(self, name: str) -> int:
        current = int(self._clock() // self._width)
        oldest = current - len(self._epochs) + 1
        counts = self._counts[name]
        return sum(counts[i] for i, epoch in enumerate(self._epochs) if oldest <= epoch <= current)

    def clear(self) -> None:
        for counts in self._counts.values():
            counts[:] = [0] * len(counts)

    def _bucket(self) -> int:
        epoch = int(self._clock() // self._width)
        index = epoch % len(self._epochs)
        if self._epochs[index] != epoch:  # a bucket from an older slice: reuse it
            self._epochs[index] = epoch
            for counts in self._counts.values():
                counts[index] = 0
        return index
