"""GET /api/tickers/search: the query checked here, one call to market data's /tickers/search, its answer."""

from __future__ import annotations

import re
from typing import Any

import pytest
import structlog
from aioresponses import aioresponses
from structlog.testing import capture_logs
from yarl import URL

from orchestrator.cli.platform import free_port
from orchestrator.web.keys import ADMISSION
from tests import fakes
from tests.orchestrator.conftest import MARKET
from tests.orchestrator.web.test_openapi_answers import Described

SEARCH = "/api/tickers/search"
#: Market data's search, whatever the query string.
DOWNSTREAM = re.compile(rf"^{re.escape(MARKET)}/tickers/search\?.*$")


def answer_searches(mock: aioresponses, **answer: Any) -> None:
    """Market data answers every search as ``answer`` says, or as the fake service does."""
    if not answer:

        def callback(url: URL, **_: Any) -> Any:
            from aioresponses import CallbackResult

            return CallbackResult(payload=fakes.ticker_search(url.query["q"], int(url.query["limit"])))

        answer = {"callback": callback}
    mock.get(DOWNSTREAM, repeat=True, **answer)


def searches_sent(mock: aioresponses) -> list[tuple[URL, dict[str, Any]]]:
    return [
        (url, call.kwargs)
        for (method, url), calls in mock.requests.items()
        for call in calls
        if method == "GET"
    ]


async def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    document = await response.json()
    assert document["success"] is False
    return document["error"]


async def test_a_search_answers_the_query_and_market_datas_matches(client, mocked):
    answer_searches(mocked)
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


async def test_a_search_may_be_kept_for_a_minute(client, mocked):
    answer_searches(mocked)
    response = await client.get(SEARCH, params={"q": "TQ"})
    assert response.headers["Cache-Control"] == "public, max-age=60"


async def test_the_query_is_sent_stripped_with_the_limit_request_id_and_timeout(client, mocked):
    answer_searches(mocked)
    await client.get(SEARCH, params={"q": "  s&p 5 ", "limit": "3"}, headers={"X-Request-ID": "rid-9"})
    [(url, sent)] = searches_sent(mocked)
    assert (url.path, dict(url.query)) == ("/tickers/search", {"q": "s&p 5", "limit": "3"})
    assert sent["headers"]["X-Request-ID"] == "rid-9"
    assert 0 < int(sent["headers"]["X-Request-Timeout-Ms"]) <= 5000


async def test_the_limit_defaults_to_ten(client, mocked):
    answer_searches(mocked)
    await client.get(SEARCH, params={"q": "a"})
    [(url, _)] = searches_sent(mocked)
    assert url.query["limit"] == "10"


async def test_never_more_results_than_the_limit_even_if_market_data_sends_more(client, mocked):
    answer_searches(mocked, payload=fakes.envelope({"results": list(fakes.TICKERS)}))
    data = (await (await client.get(SEARCH, params={"q": "a", "limit": "2"})).json())["data"]
    assert [item["symbol"] for item in data["results"]] == ["TQQQ", "SQQQ"]


@pytest.mark.parametrize(
    "params", [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 51}], ids=["missing", "empty", "blank", "too-long"]
)
async def test_a_missing_blank_or_too_long_query_is_invalid_request_without_a_call(client, mocked, params):
    error = await error_of(await client.get(SEARCH, params=params), 400)
    assert error["code"] == "INVALID_REQUEST"
    assert [item["field"] for item in error["details"]["errors"]] == ["q"]
    assert searches_sent(mocked) == []


@pytest.mark.parametrize("limit", ["0", "51", "-1", "ten", "1.5", "", "\u0663", "0" * 4000 + "1"])
async def test_a_limit_that_is_not_1_to_50_is_invalid_request(client, mocked, limit):
    error = await error_of(await client.get(SEARCH, params={"q": "a", "limit": limit}), 400)
    assert error["code"] == "INVALID_REQUEST"
    assert [item["field"] for item in error["details"]["errors"]] == ["limit"]


async def test_every_problem_of_the_query_is_listed(client, mocked):
    error = await error_of(await client.get(SEARCH, params={"limit": "0"}), 400)
    assert [item["field"] for item in error["details"]["errors"]] == ["q", "limit"]


async def test_an_invalid_query_is_not_quoted_back(client, mocked):
    response = await client.get(SEARCH, params={"q": "ZQXMARK" * 10})
    assert "ZQXMARK" not in await response.text()


async def test_market_data_down_is_service_unavailable_naming_it(client_for):
    client = await client_for(market_data_url=f"http://127.0.0.1:{free_port()}")  # nothing listens
    error = await error_of(await client.get(SEARCH, params={"q": "TQ"}), 503)
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert error["details"]["service"] == "market_data"


async def test_market_data_answering_garbage_is_a_bad_gateway(client, mocked):
    answer_searches(mocked, payload=fakes.envelope({"results": [{"symbol": 1}]}))
    error = await error_of(await client.get(SEARCH, params={"q": "TQ"}), 502)
    assert error["code"] == "EXTERNAL_API_ERROR"
    assert error["details"]["service"] == "market_data"


async def test_market_data_answering_html_is_a_bad_gateway(client, mocked):
    answer_searches(mocked, status=200, body="<html>proxy</html>", content_type="text/html")
    error = await error_of(await client.get(SEARCH, params={"q": "TQ"}), 502)
    assert (error["code"], error["details"]["service"]) == ("EXTERNAL_API_ERROR", "market_data")


async def test_market_data_saying_it_is_unavailable_is_service_unavailable(client, mocked):
    payload = fakes.error_envelope("SERVICE_UNAVAILABLE", reason="rate_limited")
    answer_searches(mocked, status=503, payload=payload)
    error = await error_of(await client.get(SEARCH, params={"q": "TQ"}), 503)
    assert (error["code"], error["details"]["service"]) == ("SERVICE_UNAVAILABLE", "market_data")


async def test_a_search_is_answered_while_backtests_are_refused(client, mocked):
    answer_searches(mocked)
    client.app[ADMISSION].draining = True
    assert (await client.post("/api/backtest", json=fakes.backtest_request())).status == 503
    assert (await client.get(SEARCH, params={"q": "TQ"})).status == 200


async def test_the_same_search_in_another_case_is_answered_from_the_cache(client, mocked):
    answer_searches(mocked)
    first = await (await client.get(SEARCH, params={"q": "tq"})).json()
    second = await (await client.get(SEARCH, params={"q": "TQ"})).json()
    assert len(searches_sent(mocked)) == 1
    assert (first["data"]["query"], second["data"]["query"]) == ("tq", "TQ")
    assert first["data"]["results"] == second["data"]["results"]


async def test_a_failed_search_is_not_kept(client_for, mocked):
    client = await client_for(retry={"max_attempts": 1})
    answer_searches(mocked, status=500, body="oops")
    assert (await client.get(SEARCH, params={"q": "TQ"})).status == 502
    mocked._matches.clear()
    answer_searches(mocked)
    assert (await client.get(SEARCH, params={"q": "TQ"})).status == 200


async def test_one_canonical_line_per_search(client, mocked):
    answer_searches(mocked)
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


async def test_the_answers_are_the_ones_the_api_document_describes(client, mocked):
    answer_searches(mocked)
    described = Described(await (await client.get("/api/openapi.json")).json())
    found = await client.get(SEARCH, params={"q": "qqq", "limit": "2"})
    described.check_json(SEARCH, "get", 200, await found.json())
    refused = await client.get(SEARCH, params={"limit": "x"})
    described.check_json(SEARCH, "get", 400, await refused.json())
