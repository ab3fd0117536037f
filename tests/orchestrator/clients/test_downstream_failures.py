"""Every untidy answer of docs/contract.md maps to the right code and status."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.client_reqrep import ConnectionKey

import fakes
from orchestrator.clients.transport import Answer, Request
from tests.orchestrator.conftest import MARKET, METRICS, PORTFOLIO, STRATEGY, answer_instead, sent_bodies

NESTED_INVALID_TICKER = {
    "detail": fakes.error_envelope("INVALID_TICKER", "Unknown ticker NOPE", ticker="NOPE")
}


def _refused() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("strategy.test", 80, False, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


async def _error(client, **changes: Any) -> tuple[int, dict[str, Any]]:
    response = await client.post("/api/backtest", json=fakes.backtest_request(**changes))
    body = await response.json()
    assert body["success"] is False
    assert set(body["error"]) == {"code", "message", "details"}
    return response.status, body["error"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"status": 404, "payload": NESTED_INVALID_TICKER}, (400, "INVALID_TICKER")),
        (
            {"status": 200, "payload": fakes.error_envelope("INVALID_TICKER", "Unknown")},
            (400, "INVALID_TICKER"),
        ),
        (
            {"status": 400, "payload": fakes.error_envelope("INVALID_DATE_RANGE", "bad")},
            (400, "INVALID_DATE_RANGE"),
        ),
        (
            {"status": 200, "payload": fakes.error_envelope("INVALID_REQUEST", "bad")},
            (400, "INVALID_REQUEST"),
        ),
    ],
    ids=["404-nested-in-detail", "inside-a-200", "top-level-400", "invalid-request-passes"],
)
async def test_table_codes_pass_through_with_our_status(client, happy, answer, expected):
    answer_instead(happy, f"{MARKET}/prices", **answer)
    status, error = await _error(client)
    assert (status, error["code"]) == expected


async def test_a_passed_through_error_says_our_words_and_keeps_plain_details(client, happy):
    answer_instead(happy, f"{MARKET}/prices", status=404, payload=NESTED_INVALID_TICKER)
    _, error = await _error(client)
    assert error["message"] == "No such ticker"
    assert error["details"] == {"ticker": "NOPE", "service": "market_data"}


async def test_strategy_not_found(client, happy):
    answer_instead(
        happy,
        f"{STRATEGY}/signals",
        status=404,
        payload={"detail": fakes.error_envelope("STRATEGY_NOT_FOUND", "Unknown strategy: magic")},
    )
    status, error = await _error(client, strategy_params__strategy_type="magic")
    assert (status, error["code"]) == (400, "STRATEGY_NOT_FOUND")


async def test_no_prices_is_insufficient_data_before_any_strategy_call(client, happy):
    answer_instead(happy, f"{MARKET}/prices", payload=fakes.envelope({"ticker": "TQQQ", "prices": []}))
    status, error = await _error(client)
    assert (status, error["code"]) == (400, "INSUFFICIENT_DATA")
    assert sent_bodies(happy, f"{STRATEGY}/signals") == []


@pytest.mark.parametrize(
    ("answer", "status_seen"),
    [
        (
            {"status": 500, "body": "<html><body>Internal Server Error</body></html>"},
            500,
        ),
        ({"status": 503, "body": ""}, 503),
        ({"status": 200, "body": "this is not json"}, 200),
        ({"status": 200, "payload": {"prices": "nope"}}, 200),
        ({"status": 200, "payload": fakes.envelope({"ticker": "TQQQ"})}, 200),
        ({"status": 500, "payload": fakes.error_envelope("INTERNAL_ERROR", "boom")}, 500),
        ({"status": 502, "payload": fakes.error_envelope("UPSTREAM_FAILED", "provider down")}, 502),
    ],
    ids=[
        "5xx-html",
        "5xx-empty",
        "garbage-200",
        "no-envelope",
        "data-outside-contract",
        "their-internal-error",
        "unknown-code",
    ],
)
async def test_answers_outside_the_contract_are_502_naming_the_service(client, happy, answer, status_seen):
    answer_instead(happy, f"{MARKET}/prices", **answer)
    status, error = await _error(client)
    assert (status, error["code"]) == (502, "EXTERNAL_API_ERROR")
    assert error["details"]["service"] == "market_data"
    assert error["details"]["status"] == status_seen
    assert "Traceback" not in error["message"]


async def test_unknown_service_code_is_named_in_details(client, happy):
    answer_instead(
        happy,
        f"{PORTFOLIO}/simulate",
        status=502,
        payload=fakes.error_envelope("UPSTREAM_FAILED", "provider down"),
    )
    _, error = await _error(client)
    assert error["details"]["service"] == "portfolio"
    assert error["details"]["service_code"] == "UPSTREAM_FAILED"


async def test_detail_string_is_502_with_the_detail(client, happy):
    answer_instead(happy, f"{METRICS}/calculate", status=404, payload={"detail": "Not Found"})
    status, error = await _error(client)
    assert (status, error["code"], error["details"]["service"]) == (502, "EXTERNAL_API_ERROR", "metrics")
    assert error["details"]["detail"] == "text"  # what kind of answer it was, not the service's words


async def test_detail_validation_list_is_502_with_the_problems(client, happy):
    problems = [{"loc": ["body", "config"], "msg": "field required", "type": "value_error.missing"}]
    answer_instead(happy, f"{STRATEGY}/signals", status=422, payload={"detail": problems})
    status, error = await _error(client)
    assert (status, error["code"], error["details"]["service"]) == (502, "EXTERNAL_API_ERROR", "strategy")
    assert error["details"]["problems"] == 1  # how many, not the service's words


async def test_refused_connection_is_503_naming_the_service(client, happy):
    answer_instead(happy, f"{STRATEGY}/signals", exception=_refused())
    status, error = await _error(client)
    assert (status, error["code"], error["details"]["service"]) == (503, "SERVICE_UNAVAILABLE", "strategy")


async def test_reset_connection_is_503(client, happy):
    answer_instead(happy, f"{PORTFOLIO}/simulate", exception=aiohttp.ServerDisconnectedError())
    status, error = await _error(client)
    assert (status, error["code"], error["details"]["service"]) == (503, "SERVICE_UNAVAILABLE", "portfolio")


async def test_service_unavailable_code_passes_naming_the_service(client, happy):
    answer_instead(
        happy,
        f"{METRICS}/calculate",
        status=503,
        payload=fakes.error_envelope("SERVICE_UNAVAILABLE", "warming up"),
    )
    status, error = await _error(client)
    assert (status, error["code"], error["details"]["service"]) == (503, "SERVICE_UNAVAILABLE", "metrics")


async def test_stall_is_504_naming_the_service_and_timeout(client_for, happy):
    client = await client_for(services={"metrics": {"timeout": {"attempt_s": 0.2}}})

    async def stall(_request: Request) -> Answer:
        await asyncio.sleep(5)
        return Answer(200, orjson.dumps(fakes.metrics()))

    answer_instead(happy, f"{METRICS}/calculate", reply=stall)
    status, error = await _error(client)
    assert (status, error["code"]) == (504, "SERVICE_TIMEOUT")
    assert error["details"] == {"service": "metrics", "timeout_s": 0.2}


async def test_overall_deadline_is_504_naming_the_pending_call(client_for, happy):
    client = await client_for(backtest_deadline_s=0.3, services={"portfolio": {"timeout": {"attempt_s": 5}}})

    async def slow(_request: Request) -> Answer:
        await asyncio.sleep(5)
        return Answer(200, orjson.dumps(fakes.simulation()))

    answer_instead(happy, f"{PORTFOLIO}/simulate", reply=slow)
    status, error = await _error(client)
    assert (status, error["code"]) == (504, "SERVICE_TIMEOUT")
    assert error["details"]["service"] == "portfolio"
    assert error["details"]["deadline"] is True
    assert set(error["details"]["pending"]) == {"simulate.active", "simulate.baseline"}


async def test_empty_dividends_is_success(client, happy):
    answer_instead(happy, f"{MARKET}/dividends", payload=fakes.dividends(paying=False))
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    assert response.status == 200


async def test_optional_fields_missing_is_success(client, happy):
    minimal = fakes.signals()  # answered to both strategy calls: it says no strategy
    del minimal["data"]["total_signals"], minimal["data"]["strategy_type"]
    answer_instead(happy, f"{STRATEGY}/signals", payload=minimal)
    answer_instead(happy, f"{METRICS}/calculate", payload=fakes.metrics(with_comparison=False))
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    assert response.status == 200


async def test_missing_comparison_is_derived_from_summaries(client, happy):
    answer_instead(happy, f"{METRICS}/calculate", payload=fakes.metrics(with_comparison=False))
    body = await (await client.post("/api/backtest", json=fakes.backtest_request())).json()
    active, baseline = fakes.ACTIVE_SCORES, fakes.BASELINE_SCORES
    assert body["data"]["comparison"] == {
        "excess_return_pct": round(active["total_return_pct"] - baseline["total_return_pct"], 6),
        "excess_annualized_return_pct": round(
            active["annualized_return_pct"] - baseline["annualized_return_pct"], 6
        ),
        "excess_sharpe": round(active["sharpe_ratio"] - baseline["sharpe_ratio"], 6),
        "reduced_drawdown_pct": 5.5,  # baseline fell 6%, active 0.5%
        "reduced_volatility_pct": 58.8,
    }


async def test_a_bug_here_is_500_without_its_text(client, happy, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("secret internals")

    monkeypatch.setattr("orchestrator.backtest.graph.assemble_answer", broken)
    status, error = await _error(client)
    assert (status, error["code"]) == (500, "INTERNAL_ERROR")
    assert "secret" not in str(error)


async def test_missing_adjusted_close_falls_back_to_close(client, happy):
    answer = fakes.prices()
    for bar in answer["data"]["prices"]:
        del bar["adjusted_close"]
    answer_instead(happy, f"{MARKET}/prices", payload=answer)
    assert (await client.post("/api/backtest", json=fakes.backtest_request())).status == 200
    sent = sent_bodies(happy, f"{STRATEGY}/signals")[0]["price_data"]
    assert [point["adjusted_close"] for point in sent] == fakes.CLOSES


async def test_a_bar_without_any_price_is_502(client, happy):
    answer = fakes.prices()
    del answer["data"]["prices"][2]["adjusted_close"], answer["data"]["prices"][2]["close"]
    answer_instead(happy, f"{MARKET}/prices", payload=answer)
    status, error = await _error(client)
    assert (status, error["code"], error["details"]["service"]) == (502, "EXTERNAL_API_ERROR", "market_data")


async def test_service_timeout_code_passes_naming_the_service(client, happy):
    answer_instead(
        happy,
        f"{PORTFOLIO}/simulate",
        status=504,
        payload=fakes.error_envelope("SERVICE_TIMEOUT", "provider slow", timeout_s="soon"),
    )
    status, error = await _error(client)
    assert (status, error["code"], error["details"]["service"]) == (504, "SERVICE_TIMEOUT", "portfolio")


async def test_unknown_code_is_named_but_the_service_message_is_not_relayed(client, happy):
    answer_instead(
        happy,
        f"{METRICS}/calculate",
        status=500,
        payload=fakes.error_envelope("BOOM", "ZeroDivisionError: float division by zero"),
    )
    _, error = await _error(client)
    assert error["message"] == "The metrics service failed with BOOM"
    assert "ZeroDivision" not in str(error)
