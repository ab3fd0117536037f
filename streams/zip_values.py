"""Wait for the first value of each source and emit them together.

::

    a:       ---1|
    b:       ------2|
    result:  ------(1, 2)|     (every source disposed then)
    a:       ---|              -> |  (a source ends with no value: nothing to pair)
    b error: ---X              -> X  (the others disposed at once)

reactivex's ``zip`` for sources of one value, with this package's lean subscription
(``streams/lean.py``): the result is emitted as soon as the last first value arrives, without
waiting for completions, then completes.
"""

from __future__ import annotations

from typing import Any

from reactivex import Observable, abc

from streams.lean import LeanObservable
from streams.subscriptions import Many, Slot


def zip_values(*sources: Observable[Any]) -> Observable[tuple[Any, ...]]:
    """Emit a tuple of each source's first value once all have one, then complete."""

    def subscribe(
        observer: abc.ObserverBase[tuple[Any, ...]], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        pairing = _Pairing(observer, len(sources))
        for index, source in enumerate(sources):
            if pairing.ended:
                break
            pairing.slots[index].put(source.subscribe(_Side(pairing, index), scheduler=scheduler))
        return Many(*pairing.slots)

    return LeanObservable(subscribe)


_MISSING: Any = object()


class _Pairing:
    __slots__ = ("ended", "missing", "observer", "slots", "values")

    def __init__(self, observer: abc.ObserverBase[tuple[Any, ...]], count: int) -> None:
        self.observer, self.ended, self.missing = observer, False, count
        self.slots = tuple(Slot() for _ in range(count))
        self.values = [_MISSING] * count

    def end(self) -> None:
        self.ended = True
        for slot in self.slots:
            slot.dispose()


class _Side(abc.ObserverBase[Any]):
    __slots__ = ("index", "pairing")

    def __init__(self, pairing: _Pairing, index: int) -> None:
        self.pairing, self.index = pairing, index

    def on_next(self, value: Any) -> None:
        pairing = self.pairing
        if pairing.ended or pairing.values[self.index] is not _MISSING:
            return
        pairing.values[self.index] = value
        pairing.missing -= 1
        if not pairing.missing:
            pairing.end()
            pairing.observer.on_next(tuple(pairing.values))
            pairing.observer.on_completed()

    def on_error(self, error: Exception) -> None:
        pairing = self.pairing
        if not pairing.ended:
            pairing.end()
            pairing.observer.on_error(error)

    def on_completed(self) -> None:
        pairing = self.pairing
        if not pairing.ended and pairing.values[self.index] is _MISSING:
            pairing.end()
            pairing.observer.on_completed()
