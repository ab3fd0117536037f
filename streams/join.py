"""Wait for named single-value branches and emit one dict of their values.

::

    a:       ---1|
    b:       ------2|
    result:  ------{a: 1, b: 2}|
    b error: ---X                (a disposed at once: its call is cancelled)

As reactivex's ``fork_join``, it subscribes every branch at once, so they run concurrently; the
first error ends the join and disposes the others. A branch that completes empty completes the join
with no value.
"""

from __future__ import annotations

from typing import Any

from reactivex import Observable, abc

from streams.lean import LeanObservable
from streams.subscriptions import Many, Slot


def join_named(**branches: Observable[Any]) -> Observable[dict[str, Any]]:
    """Run the branches concurrently; emit ``{name: last value}`` once all complete."""
    names, sources = tuple(branches), tuple(branches.values())

    def subscribe(
        observer: abc.ObserverBase[dict[str, Any]], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        join = _Join(observer, names)
        for index, source in enumerate(sources):
            if join.done:
                break
            join.slots[index].put(source.subscribe(_Branch(join, index), scheduler=scheduler))
        return Many(*join.slots)

    return LeanObservable(subscribe)


class _Join:
    __slots__ = ("done", "finished", "names", "observer", "slots", "values")

    def __init__(self, observer: abc.ObserverBase[dict[str, Any]], names: tuple[str, ...]) -> None:
        self.observer, self.names = observer, names
        self.slots = tuple(Slot() for _ in names)
        self.values: dict[str, Any] = {}
        self.finished, self.done = 0, False

    def end(self) -> None:
        self.done = True
        for slot in self.slots:
            slot.dispose()


class _Branch(abc.ObserverBase[Any]):
    __slots__ = ("index", "join")

    def __init__(self, join: _Join, index: int) -> None:
        self.join, self.index = join, index

    def on_next(self, value: Any) -> None:
        if not self.join.done:
            self.join.values[self.join.names[self.index]] = value

    def on_error(self, error: Exception) -> None:
        join = self.join
        if not join.done:
            join.end()
            join.observer.on_error(error)

    def on_completed(self) -> None:
        join = self.join
        if join.done:
            return
        if join.names[self.index] not in join.values:  # empty: the join completes with nothing
            join.end()
            join.observer.on_completed()
            return
        join.slots[self.index].dispose()  # it has ended: let go of it (and it of us)
        join.finished += 1
        if join.finished == len(join.names):
            join.end()
            values = {name: join.values[name] for name in join.names}
            join.observer.on_next(values)
            join.observer.on_completed()
