"""What every service shares: /health, the envelope on bad bodies, unknown paths and wrong methods."""

from __future__ import annotations

import pytest

from services.market_data.app import create_app as market_data_app
from services.market_data.app import create_test_data_app
from services.metrics.app import create_app as metrics_app
from services.portfolio.app import create_app as portfolio_app
from services.strategy.app import create_app as strategy_app
from tests.services.asgi import call, post

APPS = {
    "market-data": (market_data_app, "/prices"),
    "strategy": (strategy_app, "/signals"),
    "portfolio": (portfolio_app, "/simulate"),
    "metrics": (metrics_app, "/calculate"),
    "test-data-fetcher": (create_test_data_app, "/prices"),
}


@pytest.mark.parametrize("name", list(APPS))
async def test_health_names_the_service(name):
    factory, _ = APPS[name]
    answer = await call(factory(), "GET", "/health")
    assert answer.status == 200
    assert answer.json() == {"status": "healthy", "service": name}
    assert answer.headers["content-type"] == "application/json"


@pytest.mark.parametrize("name", list(APPS))
@pytest.mark.parametrize("body", [b"", b"  ", b"{not json", b"[1, 2]", b'"text"'])
async def test_unreadable_bodies_are_invalid_request(name, body):
    factory, path = APPS[name]
    answer = await post(factory(), path, body=body)
    assert answer.status == 400
    error = answer.error
    assert error["code"] == "INVALID_REQUEST"
    assert [problem["field"] for problem in error["details"]["errors"]] == ["body"]


@pytest.mark.parametrize("name", list(APPS))
async def test_missing_fields_are_listed_with_their_paths(name):
    factory, path = APPS[name]
    answer = await post(factory(), path, json={})
    assert answer.status == 400
    error = answer.error
    assert error["code"] == "INVALID_REQUEST"
    problems = error["details"]["errors"]
    assert problems and all(set(p) == {"field", "message"} for p in problems)
    assert all(p["message"] == "Field required" for p in problems)
    assert "Traceback" not in answer.body.decode()


async def test_unknown_path_and_wrong_method_answer_the_envelope():
    app = strategy_app()
    missing = await call(app, "POST", "/nope", json={})
    assert missing.status == 404
    assert missing.error["code"] == "NOT_FOUND"
    wrong = await call(app, "GET", "/signals")
    assert wrong.status == 405
    assert wrong.error["code"] == "METHOD_NOT_ALLOWED"
    assert wrong.headers["allow"] == "POST"


async def test_a_body_over_the_limit_is_refused_unread(monkeypatch):
    monkeypatch.setattr("services.common.MAX_BODY_BYTES", 10)
    answer = await post(strategy_app(), "/signals", json={"strategy_type": "buy_and_hold"})
    assert answer.status == 413
    assert answer.error["code"] == "PAYLOAD_TOO_LARGE"


async def test_an_unexpected_failure_is_an_envelope_without_its_text(monkeypatch, caplog):
    def broken(*_: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("services.metrics.app.score", broken)
    body = {"portfolios": {"a": {"time_series": {"dates": ["2020-01-01"], "portfolio_value": [1.0]}}}}
    answer = await post(metrics_app(), "/calculate", json=body)
    assert answer.status == 500
    assert answer.error["code"] == "INTERNAL_ERROR"
    assert "secret" not in answer.body.decode()
    assert "secret internals" in caplog.text
