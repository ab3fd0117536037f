"""defer, just and throw: observables made from what is in hand, each subscription on its own."""

from __future__ import annotations

from typing import Any

from reactivex import Observable, abc
from reactivex.testing import TestScheduler

from streams import defer, just, throw
from tests.streams.marbles import cold, expect, span


class Broken(Exception):
    """What a source or a factory fails with."""


def test_just_is_its_value_and_the_end_at_once():
    scheduler = TestScheduler()
    results = scheduler.start(lambda: just("a"))
    assert expect("(a|)") == results.messages


def test_just_gives_each_subscriber_the_value():
    seen: list[Any] = []
    source = just(1)
    source.subscribe(seen.append)
    source.subscribe(seen.append)
    assert seen == [1, 1]


def test_throw_fails_at_once_with_its_error():
    scheduler, error = TestScheduler(), Broken("thrown")
    results = scheduler.start(lambda: throw(error))
    assert expect("#", error=error) == results.messages


def test_defer_makes_the_source_anew_for_each_subscription_with_its_scheduler():
    scheduler, made = TestScheduler(), list[Any]()

    def factory(given: abc.SchedulerBase | None) -> Observable[str]:
        made.append(given)
        return cold(scheduler, "-a|")

    deferred = defer(factory)
    assert made == []  # nothing until subscribed
    results = scheduler.start(lambda: deferred)
    assert expect("-a|") == results.messages
    assert made == [scheduler]
    deferred.subscribe(lambda _: None, scheduler=scheduler)
    assert len(made) == 2


def test_a_factory_that_raises_is_the_error():
    scheduler, error = TestScheduler(), Broken("factory")

    def factory(_: abc.SchedulerBase | None) -> Observable[Any]:
        raise error

    results = scheduler.start(lambda: defer(factory))
    assert expect("#", error=error) == results.messages


def test_disposing_a_deferred_source_disposes_what_the_factory_made():
    scheduler = TestScheduler()
    made = cold(scheduler, "-----a|")
    results = scheduler.start(lambda: defer(lambda _: made), disposed=202)
    assert results.messages == []
    assert made.subscriptions == [span("^-!")]
