"""The call tracker: every call the graph names, timed once, reported as progress."""

from __future__ import annotations

from typing import Any

import reactivex
from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler

from orchestrator.backtest.calls import CallTracker
from orchestrator.errors import InvalidTicker
from orchestrator.logs import configure_logging

on_next, on_completed, on_error = ReactiveTest.on_next, ReactiveTest.on_completed, ReactiveTest.on_error


def tracked(scheduler: TestScheduler) -> tuple[CallTracker, list[dict[str, Any]]]:
    tracker, events = CallTracker(clock=lambda: scheduler.clock / 1000), []
    tracker.listen(events.append)
    return tracker, events


def test_the_total_is_the_number_of_calls_named_before_any_starts():
    scheduler = TestScheduler()
    tracker, events = tracked(scheduler)
    first = scheduler.create_cold_observable(on_next(10, "a"), on_completed(10)).pipe(
        tracker.track("one", "svc")
    )
    tracker.track("two", "svc")  # named while the graph is built, started later (or never)
    scheduler.start(lambda: first)
    assert tracker.calls == ["one", "two"]
    assert [(event["state"], event["done"], event["total"]) for event in events] == [
        ("started", 0, 2),
        ("done", 1, 2),
    ]


def test_a_finished_call_is_timed_and_reports_its_facts():
    scheduler = TestScheduler()
    tracker, events = tracked(scheduler)
    call = scheduler.create_cold_observable(on_next(30, [1, 2, 3]), on_completed(30))
    scheduler.start(lambda: call.pipe(tracker.track("prices", "market_data", lambda v: {"prices": len(v)})))
    assert events[-1] == {
        "stage": "prices",
        "state": "done",
        "elapsed_ms": 230.0,
        "done": 1,
        "total": 1,
        "duration_ms": 30.0,
        "facts": {"prices": 3},
    }
    assert tracker.durations_ms == {"prices": 30.0}


def test_a_failed_call_reports_the_code_the_api_will_answer():
    scheduler = TestScheduler()
    tracker, events = tracked(scheduler)
    ours = scheduler.create_cold_observable(on_error(5, InvalidTicker("no"))).pipe(
        tracker.track("a", "market_data")
    )
    bug = scheduler.create_cold_observable(on_error(10, KeyError("ours"))).pipe(
        tracker.track("b", "strategy")
    )
    scheduler.start(lambda: reactivex.merge(ours.pipe(ops.catch(reactivex.empty())), bug))
    assert [(event["stage"], event.get("error")) for event in events if event["state"] == "failed"] == [
        ("a", "INVALID_TICKER"),
        ("b", "INTERNAL_ERROR"),
    ]


def test_a_cancelled_call_is_timed_but_not_reported_as_progress():
    scheduler = TestScheduler()
    tracker, events = tracked(scheduler)
    call = scheduler.create_cold_observable(on_next(500, "late"))
    scheduler.start(lambda: call.pipe(tracker.track("metrics", "metrics")), disposed=260)
    assert [event["state"] for event in events] == ["started"]
    assert tracker.durations_ms == {"metrics": 60.0}
    assert tracker.in_flight() == []


def test_calls_in_flight_are_listed_oldest_first():
    scheduler = TestScheduler()
    tracker, _ = tracked(scheduler)
    older = scheduler.create_cold_observable(on_next(500, "x")).pipe(
        tracker.track("simulate.active", "portfolio")
    )
    newer = scheduler.create_cold_observable(on_next(500, "y")).pipe(tracker.track("metrics", "metrics"))
    seen: list[list[tuple[str, str]]] = []
    scheduler.schedule_absolute(250, lambda *_: seen.append(tracker.in_flight()))
    scheduler.start(lambda: reactivex.merge(older, newer), disposed=300)
    assert seen == [[("simulate.active", "portfolio"), ("metrics", "metrics")]]


def test_with_no_listener_and_no_debug_log_no_progress_is_built_but_the_call_is_still_timed():
    configure_logging("INFO", "console", cache=False)
    try:
        scheduler, asked = TestScheduler(), []
        tracker = CallTracker(clock=lambda: scheduler.clock / 1000)

        def facts(value: str) -> dict[str, Any]:
            asked.append(value)
            return {"value": value}

        call = scheduler.create_cold_observable(on_next(10, "a"), on_completed(10))
        scheduler.start(lambda: call.pipe(tracker.track("one", "svc", facts)))
    finally:
        configure_logging("DEBUG", "console", cache=False)  # as tests/conftest.py has it
    assert asked == []  # the facts are for progress events only: nobody would read them
    assert tracker.durations_ms == {"one": 10.0}
    assert tracker.done == 1
