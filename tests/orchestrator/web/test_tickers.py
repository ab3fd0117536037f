"""GET /api/tickers/search: the query checked here, one call to market data's /tickers/search, its answer."""

from __future__ import annotations

import re
import sys
from typing import Any

import orjson
import pytest
import structlog
from structlog.testing import capture_logs
from yarl import URL

import fakes
from orchestrator.cli.platform import free_port
from orchestrator.clients.transport import Answer, Request
from orchestrator.schemas.tickers import SPACES
from orchestrator.web.app import create_app
from orchestrator.web.keys import ADMISSION
from tests.orchestrator.conftest import MARKET, make_settings
from tests.orchestrator.web.test_openapi_answers import Described
from tests.services_table import ServiceTable, json_answer, raw_answer

SEARCH = "/api/tickers/search"
#: Market data's search (the query string read from each request).
DOWNSTREAM = f"{MARKET}/tickers/search"


def answer_searches(
    services: ServiceTable, *, status: int = 200, payload: Any = None, body: str | None = None
) -> None:
    """Market data answers every search with ``payload`` (or ``body``), or as the fake service does."""
    if body is not None:
        services.answer(DOWNSTREAM, raw_answer(body, status), method="GET")
    elif payload is not None:
        services.answer(DOWNSTREAM, json_answer(payload, status), method="GET")
    else:

        def search(request: Request) -> Answer:
            query = URL(request.url).query
            return Answer(200, orjson.dumps(fakes.ticker_search(query["q"], int(query["limit"]))))

        services.answer(DOWNSTREAM, search, method="GET")


def searches_sent(services: ServiceTable) -> list[tuple[URL, Request]]:
    return [(URL(request.url), request) for request in services.sent(DOWNSTREAM, method="GET")]


async def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    document = await response.json()
    assert document["success"] is False
    return document["error"]


async def test_a_search_answers_the_query_and_market_datas_matches(client, services):
    answer_searches(services)
    response = await client.get(SEARCH, params={"q": "TQ"})
    assert response.status == 200
    assert await response.json() == {
        "success": True,
        "data": {
            "query": "TQ",
            "results": [
                {"symbol": "TQQQ", "name": "ProShares UltraPro QQQ", "kind": "ETF", "exchange": "NASDAQ"}
            ],
        },
    }


async def test_a_search_may_be_kept_for_a_minute(client, services):
    answer_searches(services)
    response = await client.get(SEARCH, params={"q": "TQ"})
    assert response.headers["Cache-Control"] == "public, max-age=60"


async def test_the_query_is_sent_stripped_with_the_limit_request_id_and_timeout(client, services):
    answer_searches(services)
    await client.get(SEARCH, params={"q": "  s&p 5 ", "limit": "3"}, headers={"X-Request-ID": "rid-9"})
    [(url, sent)] = searches_sent(services)
    assert (url.path, dict(url.query)) == ("/tickers/search", {"q": "s&p 5", "limit": "3"})
    assert sent.headers["X-Request-ID"] == "rid-9"
    assert 0 < int(sent.headers["X-Request-Timeout-Ms"]) <= 5000


async def test_the_limit_defaults_to_ten(client, services):
    answer_searches(services)
    await client.get(SEARCH, params={"q": "a"})
    [(url, _)] = searches_sent(services)
    assert url.query["limit"] == "10"


async def test_never_more_results_than_the_limit_even_if_market_data_sends_more(client, services):
    answer_searches(services, payload=fakes.envelope({"results": list(fakes.TICKERS)}))
    data = (await (await client.get(SEARCH, params={"q": "a", "limit": "2"})).json())["data"]
    assert [item["symbol"] for item in data["results"]] == ["TQQQ", "SQQQ"]


@pytest.mark.parametrize(
    "params",
    [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 51}, {"q": "\x1d\xa0"}, {"q": f" {'x' * 50} "}],
    ids=["missing", "empty", "blank", "too-long", "unicode-spaces", "too-long-as-given"],
)
async def test_a_missing_blank_or_too_long_query_is_invalid_request_without_a_call(client, services, params):
    error = await error_of(await client.get(SEARCH, params=params), 400)
    assert error["code"] == "INVALID_REQUEST"
    assert [item["field"] for item in error["details"]["errors"]] == ["q"]
    assert searches_sent(services) == []


@pytest.mark.parametrize("limit", ["0", "51", "-1", "ten", "1.5", "", "\u0663", "0" * 4000 + "1"])
async def test_a_limit_that_is_not_1_to_50_is_invalid_request(client, services, limit):
    error = await error_of(await client.get(SEARCH, params={"q": "a", "limit": limit}), 400)
    assert error["code"] == "INVALID_REQUEST"
    assert [item["field"] for item in error["details"]["errors"]] == ["limit"]


def test_the_spaces_the_documents_pattern_names_are_those_strip_removes():
    named = re.compile(f"[{SPACES}]")
    every = (chr(code) for code in range(sys.maxunicode + 1))
    assert {char for char in every if named.fullmatch(char)} == {
        chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()
    }


async def test_every_problem_of_the_query_is_listed(client, services):
    error = await error_of(await client.get(SEARCH, params={"limit": "0"}), 400)
    assert [item["field"] for item in error["details"]["errors"]] == ["q", "limit"]


async def test_an_invalid_query_is_not_quoted_back(client, services):
    response = await client.get(SEARCH, params={"q": "ZQXMARK" * 10})
    assert "ZQXMARK" not in await response.text()


async def test_market_data_down_is_service_unavailable_naming_it(orchestrator_client):
    settings = make_settings(market_data_url=f"http://127.0.0.1:{free_port()}")  # nothing listens
    client = await orchestrator_client(create_app(settings))  # over the network, not a table
    error = await error_of(await client.get(SEARCH, params={"q": "TQ"}), 503)
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert error["details"]["service"] == "market_data"


async def test_market_data_answering_garbage_is_a_bad_gateway(client, services):
    answer_searches(services, payload=fakes.envelope({"results": [{"symbol": 1}]}))
    error = await error_of(await client.get(SEARCH, params={"q": "TQ"}), 502)
    assert error["code"] == "EXTERNAL_API_ERROR"
    assert error["details"]["service"] == "market_data"


async def test_market_data_answering_html_is_a_bad_gateway(client, services):
    answer_searches(services, status=200, body="<html>proxy</html>")
    error = await error_of(await client.get(SEARCH, params={"q": "TQ"}), 502)
    assert (error["code"], error["details"]["service"]) == ("EXTERNAL_API_ERROR", "market_data")


async def test_market_data_saying_it_is_unavailable_is_service_unavailable(client, services):
    payload = fakes.error_envelope("SERVICE_UNAVAILABLE", reason="rate_limited")
    answer_searches(services, status=503, payload=payload)
    error = await error_of(await client.get(SEARCH, params={"q": "TQ"}), 503)
    assert (error["code"], error["details"]["service"]) == ("SERVICE_UNAVAILABLE", "market_data")


async def test_a_search_is_answered_while_backtests_are_refused(client, services):
    answer_searches(services)
    client.app[ADMISSION].draining = True
    assert (await client.post("/api/backtest", json=fakes.backtest_request())).status == 503
    assert (await client.get(SEARCH, params={"q": "TQ"})).status == 200


async def test_the_same_search_in_another_case_is_answered_from_the_cache(client, services):
    answer_searches(services)
    first = await (await client.get(SEARCH, params={"q": "tq"})).json()
    second = await (await client.get(SEARCH, params={"q": "TQ"})).json()
    assert len(searches_sent(services)) == 1
    assert (first["data"]["query"], second["data"]["query"]) == ("tq", "TQ")
    assert first["data"]["results"] == second["data"]["results"]


async def test_a_failed_search_is_not_kept(client_for, services):
    client = await client_for(retry={"max_attempts": 1})
    answer_searches(services, status=500, body="oops")
    assert (await client.get(SEARCH, params={"q": "TQ"})).status == 502
    answer_searches(services)  # answers in place of the failing search
    assert (await client.get(SEARCH, params={"q": "TQ"})).status == 200


async def test_one_canonical_line_per_search(client, services):
    answer_searches(services)
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await client.get(SEARCH, params={"q": "TQ", "limit": "5"}, headers={"X-Request-ID": "rid-3"})
    [line] = [entry for entry in logs if entry["event"] == "ticker_search"]
    assert (line["query"], line["limit"], line["results"], line["status"], line["outcome"]) == (
        "TQ",
        5,
        1,
        200,
        "success",
    )
    assert (line["request_id"], line["attempts"], line["path"]) == ("rid-3", 1, SEARCH)


async def test_the_answers_are_the_ones_the_api_document_describes(client, services):
    answer_searches(services)
    described = Described(await (await client.get("/api/openapi.json")).json())
    found = await client.get(SEARCH, params={"q": "qqq", "limit": "2"})
    described.check_json(SEARCH, "get", 200, await found.json())
    refused = await client.get(SEARCH, params={"limit": "x"})
    described.check_json(SEARCH, "get", 400, await refused.json())
