"""from_coroutine: a coroutine as a cold observable, one task per subscription, cancelled on disposal."""

from __future__ import annotations

import asyncio
from typing import Any

from reactivex import Observable
from reactivex.scheduler.eventloop import AsyncIOScheduler

from streams import from_coroutine


class CallFailed(Exception):
    """The coroutine's own error."""


def collect(observable: Observable[Any]) -> tuple[list[Any], asyncio.Future[None]]:
    """Subscribe on the running loop; return the recorded events and a future set at the terminal event."""
    events: list[Any] = []
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_error(error: Exception) -> None:
        events.append(("error", error))
        done.set_result(None)

    def on_completed() -> None:
        events.append("completed")
        done.set_result(None)

    observable.subscribe(
        on_next=lambda value: events.append(("next", value)),
        on_error=on_error,
        on_completed=on_completed,
        scheduler=AsyncIOScheduler(asyncio.get_running_loop()),
    )
    return events, done


async def test_nothing_runs_until_subscribed() -> None:
    """Building the observable neither calls the factory nor starts the coroutine (it is cold)."""
    calls: list[str] = []

    def factory():
        calls.append("factory")

        async def call() -> int:
            calls.append("run")
            return 1

        return call()

    observable = from_coroutine(factory)
    for _ in range(3):
        await asyncio.sleep(0)
    assert calls == []

    events, done = collect(observable)
    await done
    assert calls == ["factory", "run"]
    assert events == [("next", 1), "completed"]


async def test_each_subscription_runs_the_coroutine_once() -> None:
    """Two subscriptions run the coroutine twice, once each."""
    runs: list[int] = []

    async def call() -> int:
        runs.append(len(runs) + 1)
        return len(runs)

    observable = from_coroutine(call)
    first, first_done = collect(observable)
    second, second_done = collect(observable)
    await asyncio.gather(first_done, second_done)

    assert runs == [1, 2]
    assert first == [("next", 1), "completed"]
    assert second == [("next", 2), "completed"]


async def test_disposing_the_subscription_cancels_the_task() -> None:
    """Disposing before the coroutine finishes cancels it: it sees CancelledError and nothing is emitted."""
    started = asyncio.get_running_loop().create_future()
    cancelled = asyncio.get_running_loop().create_future()

    async def call() -> str:
        started.set_result(None)
        try:
            await asyncio.get_running_loop().create_future()  # never resolves
        except asyncio.CancelledError:
            cancelled.set_result(True)
            raise
        return "late"

    events: list[Any] = []
    subscription = from_coroutine(call).subscribe(
        on_next=events.append, on_error=events.append, on_completed=lambda: events.append("completed")
    )
    await started
    subscription.dispose()

    assert await asyncio.wait_for(cancelled, timeout=5)
    await asyncio.sleep(0)
    assert events == []


async def test_result_is_emitted_then_completion() -> None:
    """The coroutine's return value is emitted once, followed by completion."""

    async def call() -> str:
        await asyncio.sleep(0)
        return "result"

    events, done = collect(from_coroutine(call))
    await done

    assert events == [("next", "result"), "completed"]


async def test_exception_is_delivered_as_on_error() -> None:
    """An exception raised by the coroutine reaches on_error, with no value and no completion."""
    error = CallFailed("backend refused")

    async def call() -> str:
        await asyncio.sleep(0)
        raise error

    events, done = collect(from_coroutine(call))
    await done

    assert events == [("error", error)]


async def test_a_factory_that_raises_is_the_error_and_no_task_is_made() -> None:
    """The factory's own exception, raised before any coroutine exists, is the stream's error."""
    error = CallFailed("no coroutine")
    tasks_before = len(asyncio.all_tasks())

    def factory() -> Any:
        raise error

    events, done = collect(from_coroutine(factory))
    await done

    assert events == [("error", error)]
    assert len(asyncio.all_tasks()) == tasks_before
