"""timeout_after: fail with the caller's error, built when the timer fires, and dispose the source."""

from __future__ import annotations

import asyncio
import threading

from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.testing import ReactiveTest, TestScheduler

from streams import from_coroutine, timeout_after
from tests.streams.marbles import Unguarded, cold, expect, span

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe


class CallTimedOut(Exception):
    """The error a caller chooses for a call that took too long."""


def test_value_arriving_in_time_passes_through() -> None:
    """A value (and completion) before the deadline passes untouched."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(30, "x"), on_completed(30))

    results = scheduler.start(lambda: source.pipe(timeout_after(50, scheduler, CallTimedOut)))

    assert results.messages == [on_next(230, "x"), on_completed(230)]


def test_nothing_in_time_errors_with_the_factory_exception() -> None:
    """With no value by the deadline, the stream fails with the factory's exception class."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(100, "x"), on_completed(100))

    results = scheduler.start(lambda: source.pipe(timeout_after(50, scheduler, CallTimedOut)))

    # A predicate only matches from the left-hand side of ==.
    assert [on_error(250, lambda e: isinstance(e, CallTimedOut))] == results.messages


def test_factory_is_called_when_the_timer_fires() -> None:
    """The error factory runs at the timeout tick, not when the pipeline is built."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(100, "x"))
    calls: list[float] = []

    def factory() -> CallTimedOut:
        calls.append(scheduler.clock)
        return CallTimedOut(f"timed out at {scheduler.clock}")

    timed = source.pipe(timeout_after(50, scheduler, factory))
    assert calls == []

    results = scheduler.start(lambda: timed)

    assert calls == [250]
    assert [on_error(250, lambda e: str(e) == "timed out at 250.0")] == results.messages


def test_timeout_disposes_the_source_at_the_timeout_tick() -> None:
    """The source subscription ends at the deadline, which is what cancels a call in flight."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(100, "x"), on_completed(100))

    scheduler.start(lambda: source.pipe(timeout_after(50, scheduler, CallTimedOut)))

    assert source.subscriptions == [subscribe(200, 250)]


async def test_pending_timeout_starts_no_thread() -> None:
    """On an asyncio scheduler the timer lives on the loop: no thread is started, before or after it fires."""
    before = threading.enumerate()
    scheduler = AsyncIOScheduler(asyncio.get_running_loop())
    fired_on: list[int] = []

    def factory() -> CallTimedOut:
        fired_on.append(threading.get_ident())
        return CallTimedOut()

    never = asyncio.get_running_loop().create_future()
    errors: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()
    from_coroutine(lambda: never).pipe(timeout_after(0.01, scheduler, factory)).subscribe(
        on_error=errors.set_result
    )
    pending = threading.enumerate()

    assert isinstance(await errors, CallTimedOut)
    assert pending == before
    assert threading.enumerate() == before
    assert fired_on == [threading.get_ident()]


async def test_timeout_cancels_the_coroutine_in_flight() -> None:
    """On a real loop, the timeout cancels the task: the slow coroutine sees CancelledError."""
    scheduler = AsyncIOScheduler(asyncio.get_running_loop())
    cancelled = asyncio.get_running_loop().create_future()

    async def slow_call() -> str:
        try:
            await asyncio.get_running_loop().create_future()  # never resolves
        except asyncio.CancelledError:
            cancelled.set_result(True)
            raise
        return "late"

    errors: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()
    from_coroutine(slow_call).pipe(timeout_after(0.01, scheduler, CallTimedOut)).subscribe(
        on_error=errors.set_result
    )

    assert isinstance(await errors, CallTimedOut)
    assert await asyncio.wait_for(cancelled, timeout=5)


def test_a_factory_that_raises_is_the_error() -> None:
    scheduler, broken = TestScheduler(), RuntimeError("factory bug")

    def factory() -> Exception:
        raise broken

    source = cold(scheduler, "-----x|")
    results = scheduler.start(lambda: source.pipe(timeout_after(3, scheduler, factory)))

    assert expect("---#", error=broken) == results.messages
    assert source.subscriptions == [span("^--!")]


def test_disposal_cancels_the_timer_and_disposes_the_source() -> None:
    scheduler, fired = TestScheduler(), list[float]()

    def factory() -> CallTimedOut:
        fired.append(scheduler.clock)
        return CallTimedOut()

    source = cold(scheduler, "------x|")
    results = scheduler.start(lambda: source.pipe(timeout_after(5, scheduler, factory)), disposed=203)

    assert results.messages == []
    assert source.subscriptions == [span("^--!")]
    assert fired == []  # the timer due at 205 never ran


def test_nothing_after_the_timeout_though_the_source_says_more() -> None:
    scheduler = TestScheduler()
    source = Unguarded(scheduler, "-----x|")
    timed_out = CallTimedOut()

    results = scheduler.start(lambda: source.pipe(timeout_after(3, scheduler, lambda: timed_out)))

    assert expect("---#", error=timed_out) == results.messages
    assert source.subscriptions == [span("^--!")]


def test_nothing_after_the_source_completes_though_it_says_more() -> None:
    scheduler = TestScheduler()
    source = Unguarded(scheduler, "-x|y#", error=CallTimedOut("late"))

    results = scheduler.start(lambda: source.pipe(timeout_after(10, scheduler, CallTimedOut)))

    assert expect("-x|") == results.messages
    assert source.subscriptions == [span("^-!")]
