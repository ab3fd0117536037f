"""hedge: a second subscription after a delay; the first copy to end wins, the other is disposed."""

from __future__ import annotations

import reactivex
from reactivex.testing import ReactiveTest, TestScheduler

from streams import hedge
from tests.streams.marbles import Unguarded, cold, expect, span

on_next, on_completed, on_error = ReactiveTest.on_next, ReactiveTest.on_completed, ReactiveTest.on_error
subscribe = ReactiveTest.subscribe


class Reset(Exception):
    pass


def copies(scheduler: TestScheduler, *scripts):
    """A source whose n-th subscription plays the n-th script (a cold observable each)."""
    observables = [scheduler.create_cold_observable(*script) for script in scripts]
    calls = iter(observables)
    return reactivex.defer(lambda _: next(calls)), observables


def test_a_call_that_ends_before_the_delay_is_not_hedged():
    scheduler = TestScheduler()
    source, [_, second] = copies(scheduler, [on_next(10, "a"), on_completed(10)], [on_next(1, "b")])
    results = scheduler.start(lambda: source.pipe(hedge(lambda: 50, lambda: True, scheduler)))
    assert results.messages == [on_next(210, "a"), on_completed(210)]
    assert second.subscriptions == []


def test_a_slow_call_gets_a_copy_at_the_delay_and_the_faster_copy_wins():
    scheduler = TestScheduler()
    source, [first, second] = copies(
        scheduler, [on_next(1000, "slow"), on_completed(1000)], [on_next(10, "fast"), on_completed(10)]
    )
    results = scheduler.start(lambda: source.pipe(hedge(lambda: 50, lambda: True, scheduler)), disposed=2000)
    assert results.messages == [on_next(260, "fast"), on_completed(260)]
    assert first.subscriptions == [subscribe(200, 260)]  # the slow copy is cancelled
    assert second.subscriptions == [subscribe(250, 260)]


def test_the_first_copy_still_wins_if_it_ends_first():
    scheduler = TestScheduler()
    source, [_, second] = copies(
        scheduler, [on_next(60, "first"), on_completed(60)], [on_next(100, "copy"), on_completed(100)]
    )
    results = scheduler.start(lambda: source.pipe(hedge(lambda: 50, lambda: True, scheduler)))
    assert results.messages == [on_next(260, "first"), on_completed(260)]
    assert second.subscriptions == [subscribe(250, 260)]


def test_no_copy_when_may_hedge_says_no_at_the_delay():
    scheduler = TestScheduler()
    asked: list[float] = []

    def may_hedge() -> bool:
        asked.append(scheduler.clock)
        return False

    source, [_, second] = copies(scheduler, [on_next(100, "a"), on_completed(100)], [on_next(1, "b")])
    results = scheduler.start(lambda: source.pipe(hedge(lambda: 30, may_hedge, scheduler)))
    assert asked == [230]
    assert results.messages == [on_next(300, "a"), on_completed(300)]
    assert second.subscriptions == []


def test_no_delay_means_no_hedge():
    scheduler = TestScheduler()
    source, [_, second] = copies(scheduler, [on_next(100, "a"), on_completed(100)], [on_next(1, "b")])
    results = scheduler.start(lambda: source.pipe(hedge(lambda: None, lambda: True, scheduler)))
    assert results.messages == [on_next(300, "a"), on_completed(300)]
    assert second.subscriptions == []


def test_an_error_before_the_delay_passes_and_sends_no_copy():
    scheduler = TestScheduler()
    source, [_, second] = copies(scheduler, [on_error(10, Reset())], [on_next(1, "b")])
    results = scheduler.start(lambda: source.pipe(hedge(lambda: 50, lambda: True, scheduler)))
    assert [on_error(210, lambda e: isinstance(e, Reset))] == results.messages
    assert second.subscriptions == []


def test_disposal_cancels_both_copies():
    scheduler = TestScheduler()
    source, [first, second] = copies(scheduler, [on_next(1000, "a")], [on_next(1000, "b")])
    scheduler.start(lambda: source.pipe(hedge(lambda: 50, lambda: True, scheduler)), disposed=300)
    assert first.subscriptions == [subscribe(200, 300)]
    assert second.subscriptions == [subscribe(250, 300)]


def test_disposal_before_the_delay_cancels_the_timer_so_no_copy_is_sent():
    scheduler, asked = TestScheduler(), list[float]()

    def may_hedge() -> bool:
        asked.append(scheduler.clock)
        return True

    source, [first, second] = copies(scheduler, [on_next(1000, "a")], [on_next(1, "b")])
    results = scheduler.start(lambda: source.pipe(hedge(lambda: 50, may_hedge, scheduler)), disposed=220)
    assert results.messages == []
    assert first.subscriptions == [subscribe(200, 220)]
    assert second.subscriptions == []
    assert asked == []  # the timer due at 250 never ran


def test_nothing_after_the_winner_ends_though_the_loser_says_more():
    scheduler, error = TestScheduler(), Reset("late")
    slow = Unguarded(scheduler, "---------a|")
    fast = Unguarded(scheduler, "-b|#", error=error)
    attempts = iter([slow, fast])
    source = reactivex.defer(lambda _: next(attempts))
    results = scheduler.start(lambda: source.pipe(hedge(lambda: 3, lambda: True, scheduler)))
    assert expect("    b|") == results.messages
    assert slow.subscriptions == [span("^   !")]
    assert fast.subscriptions == [span("   ^ !")]


def test_an_after_s_that_raises_is_the_error_and_nothing_is_subscribed():
    scheduler, error = TestScheduler(), Reset("no delay")

    def after_s() -> float:
        raise error

    source = cold(scheduler, "-a|")
    results = scheduler.start(lambda: source.pipe(hedge(after_s, lambda: True, scheduler)))
    assert expect("#", error=error) == results.messages
    assert source.subscriptions == []


def test_a_may_hedge_that_raises_is_the_error_and_the_first_copy_is_disposed():
    scheduler, error = TestScheduler(), Reset("no budget")

    def may_hedge() -> bool:
        raise error

    source = cold(scheduler, "------a|")
    results = scheduler.start(lambda: source.pipe(hedge(lambda: 3, may_hedge, scheduler)))
    assert expect("---#", error=error) == results.messages
    assert source.subscriptions == [span("^--!")]
