"""Serving a call from the store, from an identical call in flight, or by making it; on virtual time.

Each ``load`` is a cold observable answering at 50 ticks; callers subscribe at the ticks given.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from reactivex import Observable
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.mockobserver import MockObserver

from orchestrator.cache.calls import CallCache
from orchestrator.cache.store import CacheConfig
from orchestrator.clients.context import CallStats
from orchestrator.resilience.clock import clock_of
from streams import Turns

on_next, on_completed, on_error, subscribe = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
    ReactiveTest.subscribe,
)
TODAY = date(2026, 11, 25)


class Failed(Exception):
    """The call's own error."""


def cache_on(scheduler: TestScheduler, turns: Turns | None = None, **config: Any) -> CallCache:
    return CallCache.from_config(CacheConfig(**config), clock_of(scheduler), today=lambda: TODAY, turns=turns)


class Caller:
    """One backtest asking for ``key``: what it received, what it was told was shared, its stats."""

    def __init__(self, scheduler: TestScheduler, cache: CallCache, key: Any, load: Observable[Any]) -> None:
        self.observer: MockObserver[Any] = scheduler.create_observer()
        self.stats, self.shared = CallStats(), list[tuple[Any, bool]]()
        self.served = cache.serve(
            key,
            "2022-01-01",
            load,
            size_of=lambda _: 10,
            name="prices",
            stats=self.stats,
            on_shared=lambda value, coalesced: self.shared.append((value, coalesced)),
        )

    def at(self, scheduler: TestScheduler, tick: int, leave: int | None = None) -> Caller:
        subscription: list[Any] = []
        scheduler.schedule_absolute(
            tick, lambda *_: subscription.append(self.served.subscribe(self.observer))
        )
        if leave is not None:
            scheduler.schedule_absolute(leave, lambda *_: subscription[0].dispose())
        return self

    def outcome(self) -> dict[str, dict[str, int]]:
        return {event: dict(names) for event, names in self.stats.counts.items()}


def answering(scheduler: TestScheduler, value: Any = "bars") -> Any:
    return scheduler.create_cold_observable(on_next(50, value), on_completed(50))


def test_identical_calls_in_flight_make_one_call_and_all_get_its_answer():
    scheduler = TestScheduler()
    cache = cache_on(scheduler)
    load = answering(scheduler)
    first = Caller(scheduler, cache, "TQQQ", load).at(scheduler, 200)
    second = Caller(scheduler, cache, "TQQQ", load).at(scheduler, 210)
    scheduler.start()
    assert load.subscriptions == [subscribe(200, 250)]
    assert first.observer.messages == second.observer.messages == [on_next(250, "bars"), on_completed(250)]
    assert (first.outcome(), second.outcome()) == (
        {"cache_misses": {"prices": 1}},
        {"cache_coalesced": {"prices": 1}},
    )
    assert second.shared == [("bars", True)]


def test_different_calls_never_share():
    scheduler = TestScheduler()
    cache = cache_on(scheduler)
    tqqq, spy = answering(scheduler, "tqqq"), answering(scheduler, "spy")
    first = Caller(scheduler, cache, "TQQQ", tqqq).at(scheduler, 200)
    second = Caller(scheduler, cache, "SPY", spy).at(scheduler, 210)
    scheduler.start()
    assert (tqqq.subscriptions, spy.subscriptions) == ([subscribe(200, 250)], [subscribe(210, 260)])
    assert (first.observer.messages[0].value.value, second.observer.messages[0].value.value) == (
        "tqqq",
        "spy",
    )


def test_a_kept_answer_is_served_without_a_call():
    scheduler = TestScheduler()
    cache = cache_on(scheduler)
    load = answering(scheduler)
    Caller(scheduler, cache, "TQQQ", load).at(scheduler, 200)
    later = Caller(scheduler, cache, "TQQQ", load).at(scheduler, 400)
    scheduler.start()
    assert load.subscriptions == [subscribe(200, 250)]
    assert later.observer.messages == [on_next(400, "bars"), on_completed(400)]
    assert (later.outcome(), later.shared) == ({"cache_hits": {"prices": 1}}, [("bars", False)])


def test_a_kept_answer_expires_with_its_age():
    scheduler = TestScheduler()
    cache = cache_on(scheduler, settled_ttl_s=100)
    load = answering(scheduler)
    Caller(scheduler, cache, "TQQQ", load).at(scheduler, 200)  # kept at 250, until 350
    Caller(scheduler, cache, "TQQQ", load).at(scheduler, 349)
    Caller(scheduler, cache, "TQQQ", load).at(scheduler, 350)
    scheduler.start()
    assert load.subscriptions == [subscribe(200, 250), subscribe(350, 400)]


def test_a_range_that_ended_before_today_is_kept_long_one_that_reaches_today_briefly():
    cache = cache_on(TestScheduler(), settled_ttl_s=21600, recent_ttl_s=60)
    assert (cache.ttl_s("2026-11-24"), cache.ttl_s("2026-11-25"), cache.ttl_s("2027-01-01")) == (
        21600,
        60,
        60,
    )


def test_an_answer_of_no_range_is_kept_as_briefly_as_one_that_reaches_today():
    cache = cache_on(TestScheduler(), settled_ttl_s=21600, recent_ttl_s=60)
    assert cache.ttl_s(None) == 60


def test_an_error_is_not_kept_and_the_next_caller_calls_again():
    scheduler = TestScheduler()
    cache = cache_on(scheduler)
    failing = scheduler.create_cold_observable(on_error(50, Failed()))
    first = Caller(scheduler, cache, "TQQQ", failing).at(scheduler, 200)
    Caller(scheduler, cache, "TQQQ", failing).at(scheduler, 300)
    scheduler.start()
    assert first.observer.messages[0].value.kind == "E"
    assert failing.subscriptions == [subscribe(200, 250), subscribe(300, 350)]
    assert cache.in_flight() == 0


def test_a_caller_that_leaves_does_not_cancel_the_call_for_the_others():
    scheduler = TestScheduler()
    cache = cache_on(scheduler)
    load = answering(scheduler)
    Caller(scheduler, cache, "TQQQ", load).at(scheduler, 200, leave=220)  # started the call, then left
    stayer = Caller(scheduler, cache, "TQQQ", load).at(scheduler, 210)
    scheduler.start()
    assert load.subscriptions == [subscribe(200, 250)]
    assert stayer.observer.messages == [on_next(250, "bars"), on_completed(250)]


def test_callers_coalesced_on_a_call_are_woken_in_turns_after_the_one_that_made_it():
    scheduler = TestScheduler()
    turns = Turns(scheduler, per_turn=1)
    cache = cache_on(scheduler, turns=turns)
    load = answering(scheduler)
    log: list[str] = []
    for k, name in enumerate("abc"):
        caller = Caller(scheduler, cache, "TQQQ", load).at(scheduler, 200 + k)

        def woken(_value: Any, name: str = name) -> None:
            log.append(f"woken {name}")  # and it starts its next call, on the scheduler
            scheduler.schedule(lambda *_: log.append(f"next call {name}"))

        caller.observer.on_next = woken  # type: ignore[method-assign]
    scheduler.start()
    assert load.subscriptions == [subscribe(200, 250)]
    # the caller that made the call is told at once; each coalesced one after the work of the last
    assert log == ["woken a", "next call a", "woken b", "next call b", "woken c", "next call c"]
    assert len(turns) == 0


def test_a_coalesced_caller_that_leaves_before_its_turn_gets_nothing_and_the_others_their_answer():
    scheduler = TestScheduler()
    cache = cache_on(scheduler, turns=Turns(scheduler, per_turn=1))
    load = answering(scheduler)
    first = Caller(scheduler, cache, "TQQQ", load).at(scheduler, 200)
    leaving = Caller(scheduler, cache, "TQQQ", load)
    subscription = []
    scheduler.schedule_absolute(
        210, lambda *_: subscription.append(leaving.served.subscribe(leaving.observer))
    )
    # told by the first caller's answer, at 250, before its own turn: leaves at once (its client gone)
    first.observer.on_next = lambda value: subscription[0].dispose()  # type: ignore[method-assign]
    stayer = Caller(scheduler, cache, "TQQQ", load).at(scheduler, 220)
    scheduler.start()
    assert leaving.observer.messages == []
    assert stayer.observer.messages == [on_next(250, "bars"), on_completed(250)]


def test_when_every_caller_has_left_the_call_is_cancelled_and_forgotten():
    scheduler = TestScheduler()
    cache = cache_on(scheduler)
    load = answering(scheduler)
    Caller(scheduler, cache, "TQQQ", load).at(scheduler, 200, leave=220)
    Caller(scheduler, cache, "TQQQ", load).at(scheduler, 210, leave=230)
    Caller(scheduler, cache, "TQQQ", load).at(scheduler, 300)
    scheduler.start()
    assert load.subscriptions == [subscribe(200, 230), subscribe(300, 350)]


def test_off_nothing_is_kept_or_shared():
    scheduler = TestScheduler()
    cache = cache_on(scheduler, enabled=False)
    load = answering(scheduler)
    Caller(scheduler, cache, "TQQQ", load).at(scheduler, 200)
    Caller(scheduler, cache, "TQQQ", load).at(scheduler, 210)
    Caller(scheduler, cache, "TQQQ", load).at(scheduler, 400)
    scheduler.start()
    assert load.subscriptions == [subscribe(200, 250), subscribe(210, 260), subscribe(400, 450)]
