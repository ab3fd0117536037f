"""retry_with_backoff: a new subscription after each error the policy accepts, after its delay."""

from __future__ import annotations

import reactivex
from reactivex.testing import ReactiveTest, TestScheduler

from streams import retry_with_backoff
from tests.streams.marbles import Unguarded, cold, expect, span

on_next, on_completed, on_error = ReactiveTest.on_next, ReactiveTest.on_completed, ReactiveTest.on_error
subscribe = ReactiveTest.subscribe


class Flaky(Exception):
    pass


def test_a_value_passes_with_no_retry():
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(10, "v"), on_completed(10))
    results = scheduler.start(lambda: source.pipe(retry_with_backoff(lambda *_: 5, scheduler)))
    assert results.messages == [on_next(210, "v"), on_completed(210)]
    assert source.subscriptions == [subscribe(200, 210)]


def test_each_retry_waits_the_delay_the_policy_gives():
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_error(10, Flaky()))
    delays = {1: 5, 2: 20}
    seen: list[int] = []

    def policy(error: Exception, attempts: int) -> float | None:
        seen.append(attempts)
        return delays.get(attempts)

    results = scheduler.start(lambda: source.pipe(retry_with_backoff(policy, scheduler)))
    # attempt 1: 200-210, wait 5; attempt 2: 215-225, wait 20; attempt 3: 245-255, then give up
    assert source.subscriptions == [subscribe(200, 210), subscribe(215, 225), subscribe(245, 255)]
    assert seen == [1, 2, 3]
    assert [on_error(255, lambda e: isinstance(e, Flaky))] == results.messages


def test_the_policy_sees_the_error_and_can_refuse_it():
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_error(10, KeyError("not worth it")))
    policy = lambda error, _attempts: None if isinstance(error, KeyError) else 1  # noqa: E731
    results = scheduler.start(lambda: source.pipe(retry_with_backoff(policy, scheduler)))
    assert len(source.subscriptions) == 1
    assert [on_error(210, lambda e: isinstance(e, KeyError))] == results.messages


def test_success_on_a_later_attempt_ends_the_retrying():
    scheduler = TestScheduler()
    attempts = iter([reactivex.throw(Flaky()), reactivex.throw(Flaky()), reactivex.return_value("ok")])
    source = reactivex.defer(lambda _: next(attempts))
    results = scheduler.start(lambda: source.pipe(retry_with_backoff(lambda *_: 3, scheduler)))
    assert results.messages == [on_next(206, "ok"), on_completed(206)]


def test_disposing_during_the_wait_cancels_the_next_attempt():
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_error(10, Flaky()))
    results = scheduler.start(
        lambda: source.pipe(retry_with_backoff(lambda *_: 100, scheduler)), disposed=250
    )
    assert results.messages == []
    assert source.subscriptions == [subscribe(200, 210)]


def test_disposing_during_an_attempt_disposes_it():
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_error(10, Flaky()), on_next(500, "never seen"))
    stalled = scheduler.create_cold_observable(on_next(500, "late"))
    attempts = iter([source, stalled])
    deferred = reactivex.defer(lambda _: next(attempts))
    scheduler.start(lambda: deferred.pipe(retry_with_backoff(lambda *_: 5, scheduler)), disposed=300)
    assert stalled.subscriptions == [subscribe(215, 300)]


def test_a_policy_that_raises_fails_the_stream_with_its_error():
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_error(10, Flaky()))

    def broken(_error: Exception, _attempts: int) -> float:
        raise ValueError("policy bug")

    results = scheduler.start(lambda: source.pipe(retry_with_backoff(broken, scheduler)))
    assert [on_error(210, lambda e: isinstance(e, ValueError))] == results.messages


def test_nothing_after_giving_up_though_the_source_says_more():
    scheduler, error = TestScheduler(), Flaky("last")
    source = Unguarded(scheduler, "-#v|", error=error)
    results = scheduler.start(lambda: source.pipe(retry_with_backoff(lambda *_: None, scheduler)))
    assert expect("-#", error=error) == results.messages
    assert source.subscriptions == [span("^!")]


def test_nothing_after_the_completion_though_the_source_says_more():
    scheduler = TestScheduler()
    source = Unguarded(scheduler, "-v|w#", error=Flaky("late"))
    results = scheduler.start(lambda: source.pipe(retry_with_backoff(lambda *_: 1, scheduler)))
    assert expect("-v|") == results.messages
    assert source.subscriptions == [span("^-!")]


def test_a_failed_attempt_is_let_go_of_before_the_wait():
    scheduler = TestScheduler()
    first, second = Unguarded(scheduler, "-#v|", error=Flaky("first")), cold(scheduler, "-w|")
    attempts = iter([first, second])
    source = reactivex.defer(lambda _: next(attempts))
    results = scheduler.start(lambda: source.pipe(retry_with_backoff(lambda *_: 3, scheduler)))
    assert expect("     w|") == results.messages  # nothing the failed attempt said after its error
    assert first.subscriptions == [span("^!")]
    assert second.subscriptions == [span("    ^-!")]
