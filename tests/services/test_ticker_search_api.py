"""GET /tickers/search on the market data service (and the test-data service, the same app)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from services.market_data.app import create_app, create_test_data_app
from services.market_data.providers import SampleProvider
from services.market_data.providers.base import ProviderUnavailable, TickerMatch
from tests.services.asgi import Answer, call, get


@pytest.fixture
def app():
    return create_app(SampleProvider())


async def search(app, **params: object) -> Answer:
    return await get(app, "/tickers/search?" + urlencode(params))


async def test_a_search_answers_the_query_and_each_match_in_the_envelope(app):
    answer = await search(app, q="TQ")
    assert answer.status == 200
    assert answer.data == {
        "query": "TQ",
        "results": [
            {"symbol": "TQQQ", "name": "ProShares UltraPro QQQ", "kind": "ETF", "exchange": "NASDAQ"}
        ],
    }


async def test_the_query_is_answered_stripped(app):
    assert (await search(app, q="  apple ")).data["query"] == "apple"


async def test_the_limit_defaults_to_ten(app):
    assert len((await search(app, q="a")).data["results"]) == 10


async def test_the_limit_bounds_the_results(app):
    assert len((await search(app, q="a", limit=3)).data["results"]) == 3


async def test_an_unknown_exchange_is_null(app):
    assert (await search(app, q="BTC-USD")).data["results"][0]["exchange"] is None


async def test_a_query_matching_nothing_is_an_empty_success(app):
    answer = await search(app, q="qwxz")
    assert (answer.status, answer.data["results"]) == (200, [])


@pytest.mark.parametrize(
    "params",
    [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 51}],
    ids=["missing", "empty", "blank", "too-long"],
)
async def test_a_missing_blank_or_long_query_is_invalid_request_naming_q(app, params):
    answer = await search(app, **params)
    assert answer.status == 400
    assert answer.error["code"] == "INVALID_REQUEST"
    assert [item["field"] for item in answer.error["details"]["errors"]] == ["q"]


@pytest.mark.parametrize("limit", ["0", "51", "-1", "ten", "2.5", ""])
async def test_a_limit_outside_1_to_50_or_not_a_whole_number_is_invalid_request(app, limit):
    answer = await search(app, q="a", limit=limit)
    assert answer.status == 400
    assert answer.error["code"] == "INVALID_REQUEST"
    assert [item["field"] for item in answer.error["details"]["errors"]] == ["limit"]


async def test_a_query_of_fifty_characters_is_accepted(app):
    assert (await search(app, q="x" * 50)).status == 200


async def test_search_takes_only_get(app):
    answer = await call(app, "POST", "/tickers/search?q=a")
    assert (answer.status, answer.error["code"]) == (405, "METHOD_NOT_ALLOWED")


async def test_the_test_data_service_answers_searches_too():
    answer = await search(create_test_data_app(), q="spy")
    assert answer.data["results"][0]["symbol"] == "SPY"


async def test_a_provider_that_fails_is_an_internal_error_without_its_text():
    class Broken(SampleProvider):
        def search(self, query: str, limit: int) -> list[TickerMatch]:
            raise RuntimeError("secret detail")

    answer = await search(create_app(Broken()), q="a")
    assert (answer.status, answer.error["code"]) == (500, "INTERNAL_ERROR")
    assert "secret" not in answer.body.decode()


async def test_a_provider_whose_source_is_down_is_service_unavailable():
    class Down(SampleProvider):
        def search(self, query: str, limit: int) -> list[TickerMatch]:
            raise ProviderUnavailable("no answer", reason="outage")

    answer = await search(create_app(Down()), q="a")
    assert (answer.status, answer.error["code"], answer.error["details"]["reason"]) == (
        503,
        "SERVICE_UNAVAILABLE",
        "outage",
    )


async def test_the_results_never_exceed_the_limit_whatever_the_provider_answers():
    class Generous(SampleProvider):
        def search(self, query: str, limit: int) -> list[TickerMatch]:
            return [TickerMatch(f"T{i}", "Many", "Stock") for i in range(limit + 5)]

    assert len((await search(create_app(Generous()), q="t", limit=2)).data["results"]) == 2
