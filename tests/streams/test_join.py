"""join_named: run named single-value branches concurrently and emit one dict of their values."""

from __future__ import annotations

from reactivex.testing import ReactiveTest, TestScheduler

from streams import join_named, throw
from tests.streams.marbles import Unguarded, cold, expect, span

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe


class BranchFailed(Exception):
    """The error of one branch."""


def test_emits_one_dict_keyed_by_branch_name_once_all_complete() -> None:
    """The join emits {name: value} when the last branch completes, then completes."""
    scheduler = TestScheduler()
    a = scheduler.create_cold_observable(on_next(10, 1), on_completed(10))
    b = scheduler.create_cold_observable(on_next(30, 2), on_completed(30))

    results = scheduler.start(lambda: join_named(a=a, b=b))

    assert results.messages == [on_next(230, {"a": 1, "b": 2}), on_completed(230)]


def test_subscribes_all_branches_at_the_same_tick() -> None:
    """Every branch is subscribed at once, so the calls run concurrently."""
    scheduler = TestScheduler()
    a = scheduler.create_cold_observable(on_next(10, 1), on_completed(10))
    b = scheduler.create_cold_observable(on_next(30, 2), on_completed(30))

    scheduler.start(lambda: join_named(a=a, b=b))

    assert a.subscriptions == [subscribe(200, 210)]
    assert b.subscriptions == [subscribe(200, 230)]


def test_error_in_one_branch_errors_at_once_and_disposes_the_other() -> None:
    """A failing branch ends the join at its tick and the pending branch is disposed then."""
    scheduler = TestScheduler()
    error = BranchFailed("b failed")
    a = scheduler.create_cold_observable(on_next(100, 1), on_completed(100))
    b = scheduler.create_cold_observable(on_error(20, error))

    results = scheduler.start(lambda: join_named(a=a, b=b))

    assert [on_error(220, lambda e: e is error)] == results.messages
    assert a.subscriptions == [subscribe(200, 220)]


def test_empty_branch_completes_the_join_with_no_value() -> None:
    """A branch that completes without a value completes the join, emitting nothing."""
    scheduler = TestScheduler()
    a = scheduler.create_cold_observable(on_completed(10))
    b = scheduler.create_cold_observable(on_next(30, 2), on_completed(30))

    results = scheduler.start(lambda: join_named(a=a, b=b))

    assert results.messages == [on_completed(210)]


def test_nothing_after_an_error_though_the_failed_branch_says_more() -> None:
    scheduler, error = TestScheduler(), BranchFailed("a")
    a = Unguarded(scheduler, "-#1|", error=error)

    results = scheduler.start(lambda: join_named(a=a, b=cold(scheduler, "--2|")))

    assert expect("-#", error=error) == results.messages
    assert a.subscriptions == [span("^!")]


def test_nothing_after_the_join_completes_though_a_branch_says_more() -> None:
    scheduler, error = TestScheduler(), BranchFailed("late")
    b = Unguarded(scheduler, "--2|#", error=error)

    results = scheduler.start(lambda: join_named(a=cold(scheduler, "-1|"), b=b))

    assert expect("---(j|)", {"j": {"a": "1", "b": "2"}}) == results.messages
    assert b.subscriptions == [span("^--!")]


def test_a_branch_is_let_go_of_when_it_ends_and_what_it_says_after_is_not_heard() -> None:
    scheduler, error = TestScheduler(), BranchFailed("late")
    a = Unguarded(scheduler, "-1|#", error=error)

    results = scheduler.start(lambda: join_named(a=a, b=cold(scheduler, "----2|")))

    assert expect("-----(j|)", {"j": {"a": "1", "b": "2"}}) == results.messages
    assert a.subscriptions == [span("^-!")]


def test_a_branch_failing_as_it_is_subscribed_keeps_the_rest_from_being_subscribed() -> None:
    scheduler, error = TestScheduler(), BranchFailed("at once")
    b = cold(scheduler, "1|")

    results = scheduler.start(lambda: join_named(a=throw(error), b=b))

    assert expect("#", error=error) == results.messages
    assert b.subscriptions == []


def test_disposal_disposes_every_branch_and_nothing_comes_after() -> None:
    scheduler = TestScheduler()
    a, b = cold(scheduler, "-1|"), cold(scheduler, "-----2|")

    results = scheduler.start(lambda: join_named(a=a, b=b), disposed=203)

    assert results.messages == []
    assert a.subscriptions == [span("^-!")]
    assert b.subscriptions == [span("^--!")]
