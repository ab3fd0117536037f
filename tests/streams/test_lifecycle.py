"""observe_lifecycle: callbacks for subscription, each value, error, and disposal before the end."""

from __future__ import annotations

from typing import Any

import pytest
from reactivex.testing import ReactiveTest, TestScheduler

from streams import observe_lifecycle
from tests.streams.marbles import Unguarded, cold, expect, span

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe


class CallFailed(Exception):
    """The source's error."""


class CallbackBug(Exception):
    """An exception raised inside a lifecycle callback."""


def recording(scheduler: TestScheduler, events: list[tuple[Any, ...]]):
    """observe_lifecycle with every callback appending ``(clock, name, *args)`` to ``events``."""
    return observe_lifecycle(
        on_subscribe=lambda: events.append((scheduler.clock, "subscribe")),
        on_next=lambda value: events.append((scheduler.clock, "next", value)),
        on_error=lambda error: events.append((scheduler.clock, "error", error)),
        on_cancel=lambda: events.append((scheduler.clock, "cancel")),
    )


def test_on_subscribe_is_called_at_subscribe_time() -> None:
    """on_subscribe runs when the stream is subscribed, before any value."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(50, "a"), on_completed(50))
    events: list[tuple[Any, ...]] = []

    scheduler.start(lambda: source.pipe(recording(scheduler, events)))

    assert events[0] == (200, "subscribe")


def test_on_next_is_called_for_each_value_which_passes_through() -> None:
    """on_next sees every value at its tick and the values still reach the consumer."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(10, "a"), on_next(20, "b"), on_completed(30))
    events: list[tuple[Any, ...]] = []

    results = scheduler.start(lambda: source.pipe(recording(scheduler, events)))

    assert events == [(200, "subscribe"), (210, "next", "a"), (220, "next", "b")]
    assert results.messages == [on_next(210, "a"), on_next(220, "b"), on_completed(230)]


def test_on_error_is_called_with_the_error() -> None:
    """on_error receives the source's error, which is still delivered downstream."""
    scheduler = TestScheduler()
    error = CallFailed("boom")
    source = scheduler.create_cold_observable(on_error(20, error))
    events: list[tuple[Any, ...]] = []

    results = scheduler.start(lambda: source.pipe(recording(scheduler, events)))

    assert events == [(200, "subscribe"), (220, "error", error)]
    assert [on_error(220, lambda e: e is error)] == results.messages


def test_on_cancel_is_called_when_disposed_before_a_terminal_event() -> None:
    """Disposing before completion calls on_cancel at the disposal tick and disposes the source."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(100, "a"), on_completed(100))
    events: list[tuple[Any, ...]] = []

    scheduler.start(lambda: source.pipe(recording(scheduler, events)), disposed=250)

    assert events == [(200, "subscribe"), (250, "cancel")]
    assert source.subscriptions == [subscribe(200, 250)]


def test_on_cancel_is_not_called_after_completion() -> None:
    """A stream that completed is not reported as cancelled when it is later disposed."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(10, "a"), on_completed(20))
    events: list[tuple[Any, ...]] = []

    scheduler.start(lambda: source.pipe(recording(scheduler, events)), disposed=500)

    assert events == [(200, "subscribe"), (210, "next", "a")]


def test_on_cancel_is_not_called_after_an_error() -> None:
    """A stream that failed is not reported as cancelled when it is later disposed."""
    scheduler = TestScheduler()
    error = CallFailed("boom")
    source = scheduler.create_cold_observable(on_error(20, error))
    events: list[tuple[Any, ...]] = []

    scheduler.start(lambda: source.pipe(recording(scheduler, events)), disposed=500)

    assert events == [(200, "subscribe"), (220, "error", error)]


def test_exception_in_on_next_callback_becomes_the_stream_error() -> None:
    """A failing on_next callback fails the stream with its exception and disposes the source."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(10, "a"), on_next(20, "b"), on_completed(30))
    bug = CallbackBug("callback failed")

    def failing_on_next(_value: object) -> None:
        raise bug

    results = scheduler.start(lambda: source.pipe(observe_lifecycle(on_next=failing_on_next)))

    assert [on_error(210, lambda e: e is bug)] == results.messages
    assert source.subscriptions == [subscribe(200, 210)]


def test_exception_in_on_error_callback_becomes_the_stream_error() -> None:
    """A failing on_error callback still ends the stream, with the callback's exception as its error."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_error(20, CallFailed("boom")))
    bug = CallbackBug("callback failed")

    def failing_on_error(_error: Exception) -> None:
        raise bug

    results = scheduler.start(lambda: source.pipe(observe_lifecycle(on_error=failing_on_error)))

    assert [on_error(220, lambda e: e is bug)] == results.messages


def test_completion_is_reported_and_exactly_one_ending_runs() -> None:
    scheduler = TestScheduler()
    endings: list[str] = []
    source = scheduler.create_cold_observable(on_next(10, "a"), on_completed(20))
    operator = observe_lifecycle(
        on_error=lambda _e: endings.append("error"),
        on_cancel=lambda: endings.append("cancel"),
        on_completed=lambda: endings.append("completed"),
    )
    scheduler.start(lambda: source.pipe(operator))
    assert endings == ["completed"]


def test_an_on_completed_that_raises_fails_the_stream() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_completed(10))

    def broken() -> None:
        raise RuntimeError("broken callback")

    results = scheduler.start(lambda: source.pipe(observe_lifecycle(on_completed=broken)))
    assert [on_error(210, lambda e: isinstance(e, RuntimeError))] == results.messages


def test_an_on_subscribe_that_raises_is_the_error_and_the_source_is_not_subscribed() -> None:
    scheduler, bug = TestScheduler(), CallbackBug("on_subscribe failed")
    endings: list[str] = []

    def broken() -> None:
        raise bug

    source = cold(scheduler, "-a|")
    operator = observe_lifecycle(on_subscribe=broken, on_error=lambda _: endings.append("error"))
    results = scheduler.start(lambda: source.pipe(operator))

    assert expect("#", error=bug) == results.messages
    assert source.subscriptions == []
    assert endings == []  # it never began, so nothing ends


def test_nothing_after_the_completion_though_the_source_says_more() -> None:
    scheduler, events = TestScheduler(), list[tuple[Any, ...]]()
    source = Unguarded(scheduler, "-a|b#", error=CallFailed("late"))

    results = scheduler.start(lambda: source.pipe(recording(scheduler, events)))

    assert expect("-a|") == results.messages
    assert events == [(200, "subscribe"), (201, "next", "a")]
    assert source.subscriptions == [span("^-!")]


def test_nothing_after_the_error_though_the_source_says_more() -> None:
    scheduler, events, error = TestScheduler(), list[tuple[Any, ...]](), CallFailed("first")
    source = Unguarded(scheduler, "-#a|", error=error)

    results = scheduler.start(lambda: source.pipe(recording(scheduler, events)))

    assert expect("-#", error=error) == results.messages
    assert events == [(200, "subscribe"), (201, "error", error)]


def test_disposal_disposes_the_source_and_nothing_comes_after() -> None:
    scheduler, events = TestScheduler(), list[tuple[Any, ...]]()
    source = cold(scheduler, "-a---b|")

    results = scheduler.start(lambda: source.pipe(recording(scheduler, events)), disposed=203)

    assert expect("-a") == results.messages
    assert source.subscriptions == [span("^--!")]
    assert events[-1] == (203, "cancel")


def test_an_on_cancel_that_raises_reaches_whoever_disposed_once_the_source_is_disposed() -> None:
    """Disposed, the stream has no one left to tell: the disposer hears it, and the source is let go of."""
    scheduler, bug = TestScheduler(), CallbackBug("on_cancel failed")

    def broken() -> None:
        raise bug

    source = cold(scheduler, "-----a|")
    subscription = source.pipe(observe_lifecycle(on_cancel=broken)).subscribe(scheduler.create_observer())
    scheduler.advance_to(2)

    with pytest.raises(CallbackBug):
        subscription.dispose()
    assert source.subscriptions == [subscribe(0, 2)]
