"""zip_values: the first value of each source, together, as soon as the last of them arrives."""

from __future__ import annotations

from reactivex.testing import TestScheduler

from streams import throw, zip_values
from tests.streams.marbles import Unguarded, cold, expect, span


class Broken(Exception):
    """What a source fails with."""


def test_the_first_values_are_emitted_together_when_the_last_arrives_and_every_source_disposed():
    scheduler = TestScheduler()
    a, b = cold(scheduler, "-1---|"), cold(scheduler, "---2---|")
    results = scheduler.start(lambda: zip_values(a, b))
    assert expect("---(p|)", {"p": ("1", "2")}) == results.messages
    assert a.subscriptions == [span("^--!")]  # not waiting for its completion
    assert b.subscriptions == [span("^--!")]


def test_each_source_gives_only_its_first_value():
    scheduler = TestScheduler()
    results = scheduler.start(lambda: zip_values(cold(scheduler, "12|"), cold(scheduler, "--3|")))
    assert expect("--(p|)", {"p": ("1", "3")}) == results.messages


def test_a_source_that_ends_with_no_value_completes_with_nothing_to_pair():
    scheduler = TestScheduler()
    a, b = cold(scheduler, "--|"), cold(scheduler, "-----1|")
    results = scheduler.start(lambda: zip_values(a, b))
    assert expect("--|") == results.messages
    assert b.subscriptions == [span("^-!")]


def test_an_error_ends_it_at_once_and_disposes_the_others():
    scheduler, error = TestScheduler(), Broken("b")
    a, b = cold(scheduler, "-1----|"), cold(scheduler, "--#", error=error)
    results = scheduler.start(lambda: zip_values(a, b))
    assert expect("--#", error=error) == results.messages
    assert a.subscriptions == [span("^-!")]


def test_a_source_that_fails_as_it_is_subscribed_keeps_the_rest_from_being_subscribed():
    scheduler, error = TestScheduler(), Broken("at once")
    c = cold(scheduler, "1|")
    results = scheduler.start(lambda: zip_values(throw(error), c))
    assert expect("#", error=error) == results.messages
    assert c.subscriptions == []


def test_nothing_after_the_pair_though_a_source_says_more():
    scheduler, error = TestScheduler(), Broken("late")
    a = Unguarded(scheduler, "-1--#", error=error)
    results = scheduler.start(lambda: zip_values(a, cold(scheduler, "-2|")))
    assert expect("-(p|)", {"p": ("1", "2")}) == results.messages


def test_nothing_after_an_error_though_the_failed_source_says_more():
    scheduler, error = TestScheduler(), Broken("a")
    a = Unguarded(scheduler, "-#1|", error=error)
    results = scheduler.start(lambda: zip_values(a, cold(scheduler, "--2|")))
    assert expect("-#", error=error) == results.messages
    assert a.subscriptions == [span("^!")]


def test_disposal_disposes_every_source_and_nothing_comes_after():
    scheduler = TestScheduler()
    a, b = cold(scheduler, "-1|"), cold(scheduler, "-----2|")
    results = scheduler.start(lambda: zip_values(a, b), disposed=203)
    assert results.messages == []
    assert a.subscriptions == [span("^-!")]
    assert b.subscriptions == [span("^--!")]
