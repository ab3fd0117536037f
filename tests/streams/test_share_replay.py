"""share_replay: one source subscription for many consumers, the last value replayed to late ones."""

from __future__ import annotations

from typing import Any

from reactivex import Observable
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.mockobserver import MockObserver

from streams import share_replay
from tests.streams.marbles import Unguarded, cold, expect, span

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe


class CallFailed(Exception):
    """The error of the shared call."""


def consume(
    scheduler: TestScheduler, shared: Observable[Any], at: int, dispose_at: int | None = None
) -> MockObserver[Any]:
    """Subscribe a recording consumer at ``at`` and, if given, dispose it at ``dispose_at``."""
    observer = scheduler.create_observer()
    subscription = []
    scheduler.schedule_absolute(at, lambda *_: subscription.append(shared.subscribe(observer)))
    if dispose_at is not None:
        scheduler.schedule_absolute(dispose_at, lambda *_: subscription[0].dispose())
    return observer


def test_source_is_subscribed_once_for_several_consumers() -> None:
    """Two consumers share one source subscription and both receive its value."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(50, "a"), on_completed(50))
    shared = source.pipe(share_replay())

    first = consume(scheduler, shared, at=200)
    second = consume(scheduler, shared, at=210)
    scheduler.start()

    assert first.messages == [on_next(250, "a"), on_completed(250)]
    assert second.messages == [on_next(250, "a"), on_completed(250)]
    assert source.subscriptions == [subscribe(200, 250)]


def test_late_consumer_gets_the_replayed_value_without_a_new_subscription() -> None:
    """A consumer arriving after the value gets it replayed; the source is not subscribed again."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(50, "a"), on_completed(50))
    shared = source.pipe(share_replay())

    consume(scheduler, shared, at=200)
    late = consume(scheduler, shared, at=300)
    scheduler.start()

    assert late.messages == [on_next(300, "a"), on_completed(300)]
    assert source.subscriptions == [subscribe(200, 250)]


def test_early_disposal_of_one_consumer_keeps_the_source_for_the_others() -> None:
    """One consumer leaving early does not dispose the source while another still listens."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(50, "a"), on_completed(50))
    shared = source.pipe(share_replay())

    leaver = consume(scheduler, shared, at=200, dispose_at=220)
    stayer = consume(scheduler, shared, at=210)
    scheduler.start()

    assert leaver.messages == []
    assert stayer.messages == [on_next(250, "a"), on_completed(250)]
    assert source.subscriptions == [subscribe(200, 250)]


def test_source_is_disposed_when_every_consumer_has_disposed() -> None:
    """When the last consumer leaves before the value, the source is disposed at that tick."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(100, "a"), on_completed(100))
    shared = source.pipe(share_replay())

    consume(scheduler, shared, at=200, dispose_at=220)
    consume(scheduler, shared, at=210, dispose_at=230)
    scheduler.start()

    assert source.subscriptions == [subscribe(200, 230)]


def test_error_is_replayed_to_a_late_consumer() -> None:
    """A consumer arriving after the source failed receives the same error."""
    scheduler = TestScheduler()
    error = CallFailed("backend down")
    source = scheduler.create_cold_observable(on_error(50, error))
    shared = source.pipe(share_replay())

    first = consume(scheduler, shared, at=200)
    late = consume(scheduler, shared, at=300)
    scheduler.start()

    assert [on_error(250, lambda e: e is error)] == first.messages
    assert [on_error(300, lambda e: e is error)] == late.messages


def test_nothing_after_the_completion_though_the_source_says_more() -> None:
    """The source is let go of at its end: what it says after reaches neither consumers nor the replay."""
    scheduler = TestScheduler()
    source = Unguarded(scheduler, "-a|b#", error=CallFailed("late"))
    shared = source.pipe(share_replay())

    first = consume(scheduler, shared, at=200)
    late = consume(scheduler, shared, at=300)
    scheduler.start()

    assert expect("-a|") == first.messages
    assert late.messages == [on_next(300, "a"), on_completed(300)]
    assert source.subscriptions == [span("^-!")]


def test_nothing_after_the_error_though_the_source_says_more() -> None:
    scheduler, error = TestScheduler(), CallFailed("first")
    source = Unguarded(scheduler, "-#a|", error=error)

    first = consume(scheduler, source.pipe(share_replay()), at=200)
    scheduler.start()

    assert expect("-#", error=error) == first.messages
    assert source.subscriptions == [span("^!")]


def test_a_consumer_after_every_other_left_subscribes_the_source_again() -> None:
    """Nothing was kept of a source abandoned before its end: the next consumer starts it anew."""
    scheduler = TestScheduler()
    source = cold(scheduler, "----a|")
    shared = source.pipe(share_replay())

    consume(scheduler, shared, at=200, dispose_at=202)
    again = consume(scheduler, shared, at=210)
    scheduler.start()

    assert again.messages == [on_next(214, "a"), on_completed(215)]
    assert source.subscriptions == [span("^-!"), subscribe(210, 215)]
