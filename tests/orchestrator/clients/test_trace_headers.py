"""Every exchange with a service is a span of the call's trace: each attempt, each hedged copy."""

from __future__ import annotations

import asyncio

import reactivex
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.testing import TestScheduler

from orchestrator.clients.context import CallContext
from orchestrator.clients.health import check_health
from orchestrator.clients.transport import Answer, Request
from orchestrator.resilience.clock import clock_of
from orchestrator.resilience.deadline import Deadline
from orchestrator.schemas.downstream import DIVIDENDS
from orchestrator.tracing import TraceContext
from tests.orchestrator.clients.test_resilience import (
    BROKEN,
    OK,
    STALL,
    Scripted,
    answer,
    hedged,
    make_client,
    run,
)

TRACE = TraceContext("4bf92f3577b34da6a3ce929d0e0e4736", "b7ad6b7169203331", "01", "00f067aa0ba902b7", "a=b")


def spans(sent: list[Request], trace_id: str) -> list[str]:
    """The span id of each request, checking each is in the trace, with its flags."""
    found = []
    for request in sent:
        version, trace, span, flags = request.headers["traceparent"].split("-")
        assert (version, trace, flags) == ("00", trace_id, "01")
        found.append(span)
    return found


def test_each_attempt_is_a_span_of_its_own_in_the_calls_trace():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(10, BROKEN), answer(10, BROKEN), answer(10, OK))
    _, context = run(scheduler, make_client(scheduler, transport))
    attempts = spans(transport.sent, context.trace.trace_id)
    assert len(attempts) == 3 and len(set(attempts)) == 3 and context.trace.span_id not in attempts


def test_a_hedged_copy_is_a_span_of_its_own():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, STALL, answer(10, OK))
    _, context = run(scheduler, hedged(scheduler, transport))
    first, copy = spans(transport.sent, context.trace.trace_id)
    assert first != copy


def test_the_callers_tracestate_goes_with_every_exchange():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(10, BROKEN), answer(10, OK))
    context = CallContext("rid", Deadline(1000, clock_of(scheduler)), trace=TRACE)
    scheduler.schedule_absolute(200, lambda *_: context.deadline.start())
    call = make_client(scheduler, transport).post("/dividends", {"ticker": "TQQQ"}, DIVIDENDS, context)
    scheduler.start(lambda: call)
    assert len(spans(transport.sent, TRACE.trace_id)) == 2
    assert [request.headers["tracestate"] for request in transport.sent] == ["a=b", "a=b"]


class Recording:
    def __init__(self) -> None:
        self.sent: list[Request] = []

    def send(self, request: Request) -> reactivex.Observable[Answer]:
        self.sent.append(request)
        return reactivex.just(Answer(200, b'{"status": "healthy"}'))


async def test_a_health_check_is_a_span_of_the_trace_it_is_given():
    transport, scheduler = Recording(), AsyncIOScheduler(asyncio.get_running_loop())
    assert await check_health(transport, "http://m.test/health", 1, scheduler, TRACE) == "healthy"
    assert await check_health(transport, "http://m.test/health", 1, scheduler) == "healthy"
    traced, untraced = transport.sent
    assert spans([traced], TRACE.trace_id)[0] not in (TRACE.span_id, TRACE.parent_id)
    assert "traceparent" not in untraced.headers
