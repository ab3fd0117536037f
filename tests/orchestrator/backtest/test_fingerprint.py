"""An answer's fingerprint: equal for equal inputs, whatever their spelling; different otherwise."""

from __future__ import annotations

import subprocess
import sys

import orjson

import fakes
from orchestrator.backtest.fingerprint import of_market, of_markets, of_request
from orchestrator.schemas.downstream import DIVIDENDS, PRICES
from orchestrator.schemas.requests import parse_backtest


def _request(document):
    return of_request(parse_backtest(document))


def _market(prices=None, dividends=None):
    read = lambda kind, data: kind.read(orjson.dumps(data), 200)  # noqa: E731
    return of_market(read(PRICES, prices or fakes.prices()), read(DIVIDENDS, dividends or fakes.dividends()))


def test_key_order_and_defaults_written_out_do_not_change_it():
    plain = fakes.backtest_request()
    reordered = dict(reversed(list(plain.items())))
    reordered["market_params"] = dict(reversed(list(plain["market_params"].items())))
    without_defaults = fakes.backtest_request()
    del (
        without_defaults["market_params"]["frequency"],
        without_defaults["portfolio_params"]["transaction_cost_pct"],
    )
    assert _request(plain) == _request(reordered) == _request(without_defaults)


def test_any_parameter_changes_it():
    changed = fakes.backtest_request()
    changed["strategy_params"]["config"]["price_change_threshold"] = -0.06
    other_date = fakes.backtest_request()
    other_date["market_params"]["end_date"] = "2020-01-09"
    assert len({_request(fakes.backtest_request()), _request(changed), _request(other_date)}) == 3


def test_a_single_price_changes_the_market_datas():
    moved = fakes.prices()
    moved["data"]["prices"][2]["adjusted_close"] += 0.01
    assert _market() == _market() != _market(prices=moved)


def test_several_markets_hash_the_same_in_any_order():
    assert of_markets(["b", "a", "a"]) == of_markets(["a", "b"]) != of_markets(["a"])


def test_it_is_equal_in_another_process():
    code = (
        "from orchestrator.schemas.requests import parse_backtest\n"
        "from orchestrator.backtest.fingerprint import of_request\n"
        "import fakes\n"
        "print(of_request(parse_backtest(fakes.backtest_request())))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == _request(fakes.backtest_request())


async def test_every_backtest_answer_carries_it(start):
    client, _ = await start()
    metadata = (await (await client.post("/api/backtest", json=fakes.backtest_request())).json())["data"][
        "metadata"
    ]
    assert metadata["fingerprint"]["request"] == _request(fakes.backtest_request())
    assert metadata["fingerprint"]["market_data"] == _market()
