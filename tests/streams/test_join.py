"""join_named: run named single-value branches concurrently and emit one dict of their values."""

from __future__ import annotations

from reactivex.testing import ReactiveTest, TestScheduler

from streams import join_named

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
