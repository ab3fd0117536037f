"""Market data saying its provider's source is down or rate limited (the yahoo provider's 503
SERVICE_UNAVAILABLE): retried within the budget, a failure for the breaker, answered as 503 naming
the service, and its ``retry_after`` honoured. The answers are the market-data service's own bytes."""

from __future__ import annotations

from typing import Any

from reactivex.testing import TestScheduler

import fakes
from orchestrator.clients.transport import Answer
from services.market_data.app import provider_unavailable
from services.market_data.providers.base import ProviderUnavailable
from tests.orchestrator.clients.test_resilience import (
    OK,
    Scripted,
    answer,
    breaking,
    make_client,
    outcome,
    post_at,
    run,
)
from tests.orchestrator.conftest import MARKET, answer_instead, sent_bodies


class Yahoo:
    metadata: dict[str, Any] = {"provider": "yahoo"}


def unavailable(reason: str, retry_after: float | None = None) -> Answer:
    """What the market-data service answers when its provider raised ProviderUnavailable."""
    error = ProviderUnavailable("Yahoo Finance failed", reason=reason, retry_after=retry_after)
    response = provider_unavailable(Yahoo(), error).response()  # type: ignore[arg-type]
    return Answer(response.status_code, bytes(response.body))


def test_a_provider_outage_is_retried_then_503_naming_the_service():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(10, unavailable("unavailable")))
    messages, context = run(scheduler, make_client(scheduler, transport))
    assert len(transport.subscriptions()) == 3
    error = messages[-1].value.exception
    assert (error.status, error.code) == (503, "SERVICE_UNAVAILABLE")
    assert error.details == {"service": "market_data", "provider": "yahoo", "reason": "unavailable"}
    assert context.stats.log_fields()["retries"] == {"market_data": 2}


def test_a_provider_outage_counts_toward_the_breaker():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(10, unavailable("bad_answer")))
    client = breaking(scheduler, transport)
    post_at(scheduler, client, 200, 300)
    scheduler.advance_to(400)
    assert client.policy.breaker.state == "open"


def test_a_short_retry_after_is_waited_before_the_retry():
    scheduler = TestScheduler()
    limited = unavailable("rate_limited", retry_after=20)  # the backoff alone would wait 5
    transport = Scripted(scheduler, answer(10, limited), answer(10, OK))
    messages, _ = run(scheduler, make_client(scheduler, transport))
    assert [s.subscribe for s in transport.subscriptions()] == [200, 230]
    assert outcome(messages) == (240, "value")


def test_a_retry_after_longer_than_any_backoff_is_answered_at_once_with_it():
    scheduler = TestScheduler()
    transport = Scripted(scheduler, answer(10, unavailable("rate_limited", retry_after=60)))  # max 50
    messages, _ = run(scheduler, make_client(scheduler, transport))
    assert len(transport.subscriptions()) == 1
    error = messages[-1].value.exception
    assert (error.code, error.retry_after_s, error.details["retry_after"]) == ("SERVICE_UNAVAILABLE", 60, 60)


async def test_the_caller_gets_503_naming_market_data_with_the_providers_retry_after(client, happy):
    limited = unavailable("rate_limited", retry_after=60)
    answer_instead(happy, f"{MARKET}/prices", status=limited.status, body=limited.body)
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    error = (await response.json())["error"]
    assert (response.status, response.headers["Retry-After"], error["code"]) == (
        503,
        "60",
        "SERVICE_UNAVAILABLE",
    )
    assert error["details"] == {
        "service": "market_data",
        "provider": "yahoo",
        "reason": "rate_limited",
        "retry_after": 60,
    }
    assert len(sent_bodies(happy, f"{MARKET}/prices")) == 1  # not retried: it asked for longer than we wait
