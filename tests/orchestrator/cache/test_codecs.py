"""What the shared store keeps reads back as what was kept: the same data, the same digests."""

from __future__ import annotations

import orjson

import fakes
from orchestrator.cache import codecs
from orchestrator.schemas.downstream import DIVIDENDS, PRICES


def test_prices_are_kept_as_the_services_answer_and_read_back_the_same():
    prices = PRICES.read(orjson.dumps(fakes.prices()), 200)
    again = codecs.PRICES.decode(codecs.PRICES.encode(prices))
    assert codecs.PRICES.encode(prices) == prices.body
    assert (again.count, orjson.dumps(again.points), again.metadata, again.digest, again.nbytes) == (
        prices.count,
        orjson.dumps(prices.points),
        prices.metadata,
        prices.digest,
        prices.nbytes,
    )


def test_dividends_are_kept_as_an_envelope_of_their_items_and_read_back_the_same():
    answer = fakes.dividends()
    answer["data"]["dividends"].append({"ex_date": "2020-04-06", "amount_per_share": 1, "extra": "kept"})
    dividends = DIVIDENDS.read(orjson.dumps(answer), 200)
    again = codecs.DIVIDENDS.decode(codecs.DIVIDENDS.encode(dividends))
    assert (again.items, orjson.dumps(again.dividend_data), again.digest) == (
        dividends.items,
        orjson.dumps(dividends.dividend_data),
        dividends.digest,
    )
