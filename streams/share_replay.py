"""One upstream subscription shared by many consumers, replaying its last value.

::

    source:       -----a|            (subscribed once, by the first consumer)
    consumer 1:   -----a|
    consumer 2:          (late) a|   (replayed, no second call)
    all disposed before a:  source disposed, call cancelled

Like reactivex's ``replay(buffer_size=1)`` with ``ref_count()``: unlike ``share()``, a late consumer
still receives the value, and unlike the ``auto_connect`` forms, the source is disposed (its call
cancelled) when every consumer has gone. Once the source has ended, a late consumer gets the ending
replayed and the source is not subscribed again. Errors are replayed too, so any retry must sit
upstream of this operator. Build it per request: it holds the value for the life of the graph.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc

from streams.lean import LeanObservable
from streams.subscriptions import NOTHING, Action, Slot

T = TypeVar("T")


def share_replay() -> Callable[[Observable[T]], Observable[T]]:
    """Share one subscription to the source and replay its last value to late consumers."""

    def _share_replay(source: Observable[T]) -> Observable[T]:
        return LeanObservable(_Shared(source).subscribe)

    return _share_replay


class _Shared(abc.ObserverBase[T]):
    """The one subscription to the source, its consumers, and what it has said so far."""

    __slots__ = ("consumers", "ended", "error", "has_value", "source", "upstream", "value")

    def __init__(self, source: Observable[T]) -> None:
        self.source, self.upstream = source, Slot()
        self.consumers: list[abc.ObserverBase[T]] = []
        self.value: Any = None
        self.has_value, self.ended = False, False
        self.error: Exception | None = None

    def subscribe(
        self, consumer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        if self.ended:
            self._replay(consumer)
            return NOTHING
        self.consumers.append(consumer)
        if self.has_value:
            consumer.on_next(self.value)
        if len(self.consumers) == 1 and self.upstream.current is None:
            self.upstream = Slot()
            self.upstream.put(self.source.subscribe(self, scheduler=scheduler))
        return Action(lambda: self._leave(consumer))

    def _leave(self, consumer: abc.ObserverBase[T]) -> None:
        if consumer in self.consumers:
            self.consumers.remove(consumer)
            if not self.consumers and not self.ended:
                self.upstream.dispose()  # the last consumer left: the call is cancelled

    def _replay(self, consumer: abc.ObserverBase[T]) -> None:
        if self.has_value:
            consumer.on_next(self.value)
        if self.error is not None:
            consumer.on_error(self.error)
        else:
            consumer.on_completed()

    def on_next(self, value: T) -> None:
        self.value, self.has_value = value, True
        for consumer in tuple(self.consumers):
            consumer.on_next(value)

    def on_error(self, error: Exception) -> None:
        self.ended, self.error = True, error
        self.upstream.dispose()  # it has ended; let go of it (and it of us)
        consumers, self.consumers = self.consumers, []
        for consumer in consumers:
            consumer.on_error(error)

    def on_completed(self) -> None:
        self.ended = True
        self.upstream.dispose()
        consumers, self.consumers = self.consumers, []
        for consumer in consumers:
            consumer.on_completed()
