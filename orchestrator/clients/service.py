"""One service behind us, called through a transport, under the service's policy.

A call is a cold observable (nothing is sent until it is subscribed; disposal aborts the request)::

    attempt = check the deadline and the breaker
              -> transport.send(request)           # inside the bulkhead; times each answer
                 .pipe(hedge,                      # a second copy once it runs past the recent p95
                       timeout_after,              # the service's timeout, or what the deadline leaves
                       map(read_answer),           # the envelope unwrapped, data validated,
                                                   # and checked against what was asked
                       map_error,                  # what aiohttp raised -> our error, naming the service
                       breaker verdict)            # a failure only if the service is unwell
    call    = attempt.pipe(retry_with_backoff)     # retryable failures, within attempts, deadline, budget

Each attempt sends ``X-Request-Timeout-Ms``: how long the service has before we stop waiting; and
each exchange (an attempt, or its hedged copy) a ``traceparent`` of its own: a new span in the
request's trace (``orchestrator/tracing.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

import msgspec
import orjson
import structlog
from reactivex import Observable
from reactivex.abc import SchedulerBase

from orchestrator.clients.context import CallContext
from orchestrator.clients.envelope import error_of
from orchestrator.clients.transport import Answer, Request, Transport
from orchestrator.errors import (
    ApiError,
    BulkheadFull,
    CircuitOpen,
    ContractBreach,
    DeadlinePassed,
    Refused,
    ServiceTimeout,
    from_client_exception,
)
from orchestrator.headers import REQUEST_TIMEOUT_MS
from orchestrator.resilience.policy import ServicePolicy
from orchestrator.schemas.downstream import AnswerKind, Expect, NotSuccess, OutsideContract, problem
from streams import (
    defer,
    hedge,
    map_error,
    map_value,
    observe_lifecycle,
    retry_with_backoff,
    throw,
    timeout_after,
)

T = TypeVar("T")

log = structlog.get_logger("orchestrator.clients")


@dataclass(frozen=True, slots=True)
class _Call:
    """What a call sends, the same on every attempt: the path (named in errors), the whole URL, the body."""

    method: str
    path: str
    url: str
    body: bytes | None


@dataclass(frozen=True, slots=True)
class ServiceClient:
    """How to reach one service: its name in errors and logs, where it is, and its policy."""

    name: str
    base_url: str
    transport: Transport
    scheduler: SchedulerBase
    policy: ServicePolicy

    @property
    def timeout_s(self) -> float:
        return self.policy.timeout_s

    def post(
        self,
        path: str,
        body: dict[str, Any],
        kind: AnswerKind[T],
        context: CallContext,
        expect: Expect[T] | None = None,
    ) -> Observable[T]:
        """POST ``body`` to ``path``; emit the answer's ``data`` read as ``kind``, or one mapped error.

        ``expect`` says what was asked: an answer that does not match it is refused (502), never
        emitted, so never kept by a cache either.
        """
        call = _Call("POST", path, self.base_url + path, orjson.dumps(body))
        return self._call(call, kind, context, expect)

    def get(
        self,
        path: str,
        query: Mapping[str, str],
        kind: AnswerKind[T],
        context: CallContext,
        expect: Expect[T] | None = None,
    ) -> Observable[T]:
        """GET ``path`` with ``query`` as its query string, under the same policy as a POST."""
        call = _Call("GET", path, f"{self.base_url}{path}?{urlencode(query)}", None)
        return self._call(call, kind, context, expect)

    def _call(
        self, call: _Call, kind: AnswerKind[T], context: CallContext, expect: Expect[T] | None
    ) -> Observable[T]:
        made = 0

        def attempt(_: Any) -> Observable[T]:
            nonlocal made
            made += 1
            if made == 1:  # the call itself: it adds its share to the service's retry budget
                self.policy.budget.record_call()
            return self._attempt(call, kind, context, expect)

        return defer(attempt).pipe(
            retry_with_backoff(
                lambda error, attempts: self._retry_delay(error, attempts, context), self.scheduler
            )
        )

    def _attempt(
        self, call: _Call, kind: AnswerKind[T], context: CallContext, expect: Expect[T] | None
    ) -> Observable[T]:
        name, policy = self.name, self.policy
        context.stats.add("attempts", name)
        left = context.deadline.remaining_s()
        if left <= 0:
            return throw(DeadlinePassed(context.deadline.budget_s, name))
        if not policy.breaker.allow():
            context.stats.add("circuit_open", name)
            return throw(CircuitOpen(name, policy.breaker.retry_after_s()))
        # The timer gets the exact time left: rounded, it could fire before the backtest's own
        # deadline and hide which calls that deadline caught.
        exact_s = min(policy.timeout_s, left)
        timeout_s = round(exact_s, 3)
        headers = {
            **({"Content-Type": "application/json"} if call.body is not None else {}),
            "X-Request-ID": context.request_id,
            REQUEST_TIMEOUT_MS: str(max(1, int(timeout_s * 1000))),
        }

        def read(answer: Answer) -> T:
            return read_answer(name, call.path, answer, kind, expect)

        return self._exchange(Request(call.method, call.url, call.body, headers), context).pipe(
            hedge(policy.hedge_after_s, lambda: self._may_hedge(context), self.scheduler),
            timeout_after(exact_s, self.scheduler, lambda: ServiceTimeout(name, timeout_s)),
            map_value(read),
            map_error(lambda error: from_client_exception(name, timeout_s, error)),
            observe_lifecycle(
                on_next=lambda _: policy.breaker.record_success(),
                on_error=self._verdict,
                on_cancel=policy.breaker.record_cancelled,
            ),
        )

    def _exchange(self, request: Request, context: CallContext) -> Observable[Answer]:
        """One exchange inside the bulkhead, traced, timed when it answers (a hedge is a second exchange)."""
        policy = self.policy

        def start(_: Any) -> Observable[Answer]:
            if not policy.bulkhead.try_acquire():
                context.stats.add("bulkhead_full", self.name)
                return throw(BulkheadFull(self.name, policy.bulkhead.max_in_flight))
            began, release = policy.clock(), policy.bulkhead.release
            # A span of its own per exchange, made as it starts: a hedged copy is a second span.
            traced = Request(
                request.method,
                request.url,
                request.body,
                {**request.headers, **context.trace.child_headers()},
            )
            return self.transport.send(traced).pipe(
                observe_lifecycle(
                    on_next=lambda _: self._answered(policy.clock() - began),
                    on_completed=release,
                    on_error=lambda _: release(),
                    on_cancel=release,
                )
            )

        return defer(start)

    def _answered(self, seconds: float) -> None:
        if self.policy.latency is not None:
            self.policy.latency.record(seconds)

    def _verdict(self, error: Exception) -> None:
        """A failure for the breaker only when it says the service is unwell."""
        breaker = self.policy.breaker
        if isinstance(error, Refused):
            breaker.record_cancelled()  # refused here, before the service was asked
        elif isinstance(error, ApiError) and error.retryable:
            breaker.record_failure()
        else:
            breaker.record_success()  # it answered: "no such ticker" is a healthy service

    def _may_hedge(self, context: CallContext) -> bool:
        policy = self.policy
        if policy.bulkhead.in_flight >= policy.bulkhead.max_in_flight or policy.breaker.state != "closed":
            return False
        if not policy.budget.try_spend():
            context.stats.add("budget_exhausted", self.name)
            return False
        context.stats.add("hedges", self.name)
        return True

    def _retry_delay(self, error: Exception, attempts: int, context: CallContext) -> float | None:
        """Seconds before the next attempt, or None: not worth it, no attempts, time or budget left."""
        policy = self.policy
        if not (isinstance(error, ApiError) and error.retryable) or attempts >= policy.retry.max_attempts:
            return None
        delay = policy.retry.backoff_s(attempts, policy.rng)
        asked_s = error.retry_after_s  # the service said when to come back
        if asked_s is not None:
            if asked_s > policy.retry.max_backoff_s:
                return None  # longer than we ever wait: the caller gets the error and its Retry-After
            delay = max(delay, asked_s)
        if context.deadline.remaining_s() <= delay:
            return None
        if not policy.budget.try_spend():
            context.stats.add("budget_exhausted", self.name)
            return None
        context.stats.add("retries", self.name)
        log.debug(
            "retrying", service=self.name, attempt=attempts + 1, after_s=round(delay, 3), error=error.code
        )
        return delay


def read_answer(
    service: str, path: str, answer: Answer, kind: AnswerKind[T], expect: Expect[T] | None = None
) -> T:
    """The ``data`` of ``service``'s answer to ``path``, read as ``kind``; or the error it amounts to.

    The usual answer, a success envelope, is decoded and checked in one typed pass, then against
    ``expect`` (what was asked); anything else is sorted out by ``error_of`` (an error envelope,
    FastAPI's ``detail``, a proxy's page). An answer to another question is not worth another try:
    a service that says it answered another ticker says so again.
    """
    log.debug("downstream answer", service=service, path=path, status=answer.status, bytes=len(answer.body))
    try:
        value = kind.read(answer.body, answer.status)
    except msgspec.ValidationError as error:
        found = problem(error)
    except OutsideContract as error:
        found = str(error)
    except (msgspec.DecodeError, NotSuccess):
        found = None
    else:
        mismatch = None if expect is None else expect(value)
        if mismatch is None:
            return value
        raise ContractBreach(
            service,
            answer.status,
            f"The {service} service answered {path} with what was not asked",
            problems=[mismatch],
        )
    if (stands_for := error_of(service, answer.status, answer.body)) is not None:
        raise stands_for
    raise ContractBreach(
        service,
        answer.status,
        f"The {service} service answered {path} outside its contract",
        problems=[found] if found else [],
    )
