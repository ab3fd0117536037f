"""then: a single-value source continued by a call made from its value, subscribed when it arrives."""

from __future__ import annotations

from typing import Any

from reactivex import Observable
from reactivex.testing import TestScheduler
from reactivex.testing.coldobservable import ColdObservable

from streams import then
from tests.streams.marbles import Unguarded, cold, expect, span


class Broken(Exception):
    """What a source, a continuation or the function making it fails with."""


class Continuations:
    """The continuation function: each call makes a cold observable of ``diagram``, kept to be read."""

    def __init__(self, scheduler: TestScheduler, diagram: str, error: Exception | None = None) -> None:
        self.scheduler, self.diagram, self.error = scheduler, diagram, error
        self.made: list[tuple[Any, ColdObservable[Any]]] = []

    def __call__(self, value: Any) -> Observable[Any]:
        following = cold(self.scheduler, self.diagram, {"x": f"f({value})"}, self.error)
        self.made.append((value, following))
        return following


def test_the_continuation_is_subscribed_when_the_value_arrives_and_its_values_pass():
    scheduler = TestScheduler()
    source, f = cold(scheduler, "---a|"), Continuations(scheduler, "---x|")
    results = scheduler.start(lambda: source.pipe(then(f)))
    assert expect("------x|", {"x": "f(a)"}) == results.messages
    [(value, following)] = f.made
    assert value == "a"
    assert following.subscriptions == [span("   ^---!")]
    assert source.subscriptions == [span("^---!")]  # let go of once it completes


def test_a_source_error_is_the_error_and_the_function_is_never_called():
    scheduler, error = TestScheduler(), Broken("source")
    f = Continuations(scheduler, "-x|")
    results = scheduler.start(lambda: cold(scheduler, "---#", error=error).pipe(then(f)))
    assert expect("---#", error=error) == results.messages
    assert f.made == []


def test_a_source_with_no_value_completes_with_nothing_to_continue():
    scheduler = TestScheduler()
    f = Continuations(scheduler, "-x|")
    results = scheduler.start(lambda: cold(scheduler, "---|").pipe(then(f)))
    assert expect("---|") == results.messages
    assert f.made == []


def test_a_function_that_raises_is_the_error_and_the_source_is_disposed():
    scheduler, error = TestScheduler(), Broken("function")

    def fails(_: Any) -> Observable[Any]:
        raise error

    source = cold(scheduler, "--a--|")
    results = scheduler.start(lambda: source.pipe(then(fails)))
    assert expect("--#", error=error) == results.messages
    assert source.subscriptions == [span("^-!")]


def test_the_continuation_error_is_the_error():
    scheduler, error = TestScheduler(), Broken("continuation")
    f = Continuations(scheduler, "--#", error)
    results = scheduler.start(lambda: cold(scheduler, "-a|").pipe(then(f)))
    assert expect("---#", error=error) == results.messages


def test_only_the_first_value_is_continued():
    scheduler = TestScheduler()
    f = Continuations(scheduler, "----x|")
    results = scheduler.start(lambda: cold(scheduler, "-ab|").pipe(then(f)))
    assert expect("-----x|", {"x": "f(a)"}) == results.messages
    assert [value for value, _ in f.made] == ["a"]


def test_nothing_after_the_source_fails_though_it_says_more():
    scheduler, error = TestScheduler(), Broken("source")
    f = Continuations(scheduler, "-x|")
    results = scheduler.start(lambda: Unguarded(scheduler, "-#a|", error=error).pipe(then(f)))
    assert expect("-#", error=error) == results.messages
    assert f.made == []


def test_nothing_after_the_source_completes_empty_though_it_says_more():
    scheduler = TestScheduler()
    f = Continuations(scheduler, "-x|")
    source = Unguarded(scheduler, "-|a")
    results = scheduler.start(lambda: source.pipe(then(f)))
    assert expect("-|") == results.messages
    assert source.subscriptions == [span("^!")]


def test_nothing_after_the_continuation_ends_though_the_source_fails_later():
    scheduler, error = TestScheduler(), Broken("late")
    source = Unguarded(scheduler, "-a-----#", error=error)
    results = scheduler.start(lambda: source.pipe(then(Continuations(scheduler, "-x|"))))
    assert expect("--x|", {"x": "f(a)"}) == results.messages
    assert source.subscriptions == [span("^--!")]


def test_disposal_before_the_value_disposes_the_source_and_calls_nothing():
    scheduler = TestScheduler()
    source, f = cold(scheduler, "-----a|"), Continuations(scheduler, "-x|")
    results = scheduler.start(lambda: source.pipe(then(f)), disposed=203)
    assert results.messages == []
    assert source.subscriptions == [span("^--!")]
    assert f.made == []


def test_disposal_during_the_continuation_disposes_it_and_nothing_comes_after():
    scheduler = TestScheduler()
    source, f = cold(scheduler, "-a-----|"), Continuations(scheduler, "-----x|")
    results = scheduler.start(lambda: source.pipe(then(f)), disposed=204)
    assert results.messages == []
    [(_, following)] = f.made
    assert following.subscriptions == [span(" ^--!")]
    assert source.subscriptions == [span("^---!")]
