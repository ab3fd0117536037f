"""A coroutine as a cold observable.

::

    factory:      () -> coroutine that returns x
    subscribe:    ---------x|          (one task per subscription)
    dispose early:----X                (the task is cancelled)

The coroutine starts when the observable is subscribed, once per subscription, and disposing the
subscription before it finishes cancels its task, so an HTTP request made inside it is aborted.
A task made before subscription would be hot: already running, and cancelled for every subscriber
by the first one to leave (see ``docs/reactivex.md``), which is why the task is made inside ``defer``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import reactivex
from reactivex import Observable

T = TypeVar("T")


def from_coroutine(factory: Callable[[], Awaitable[T]]) -> Observable[T]:
    """Return an observable that runs ``factory()`` as a task on each subscription."""

    def subscribe_task(_scheduler: object) -> Observable[T]:
        return reactivex.from_future(asyncio.ensure_future(factory()))

    return reactivex.defer(subscribe_task)
