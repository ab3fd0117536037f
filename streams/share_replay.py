"""One upstream subscription shared by many consumers, replaying its last value.

::

    source:       -----a|            (subscribed once, by the first consumer)
    consumer 1:   -----a|
    consumer 2:          (late) a|   (replayed, no second call)
    all disposed before a:  source disposed, call cancelled

``replay(buffer_size=1)`` with ``ref_count()``: unlike ``share()``, a late consumer still receives the
value, and unlike the ``auto_connect`` forms, the source is disposed (its call cancelled) when every
consumer has gone. Errors are replayed too, so any retry must sit upstream of this operator.
Build it per request: the replay subject holds the value for the life of the graph.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import reactivex
from reactivex import Observable
from reactivex import operators as ops

T = TypeVar("T")


def share_replay() -> Callable[[Observable[T]], Observable[T]]:
    """Share one subscription to the source and replay its last value to late consumers."""

    def _share_replay(source: Observable[T]) -> Observable[T]:
        finished = False

        def mark_finished(*_: object) -> None:
            nonlocal finished
            finished = True

        # Once the source has ended, ref_count would reconnect for a late consumer and run the call
        # again; the replay subject already holds the ending, so reconnect to nothing instead.
        guarded: Observable[T] = reactivex.defer(
            lambda _: (
                reactivex.never()
                if finished
                else source.pipe(ops.do_action(on_error=mark_finished, on_completed=mark_finished))
            )
        )
        return guarded.pipe(ops.replay(buffer_size=1), ops.ref_count())

    return _share_replay
