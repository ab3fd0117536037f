"""Sweeps, walk-forward, comparisons and export on the real local platform (processes, real HTTP)."""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

THRESHOLD = "strategy_params.config.price_change_threshold"
BASE = {
    "market_params": {
        "ticker": "TQQQ",
        "market_type": "ETF",
        "start_date": "2020-01-01",
        "end_date": "2022-01-01",
    },
    "strategy_params": {"strategy_type": "buy_the_dip", "config": {"price_change_threshold": -0.05}},
    "portfolio_params": {"initial_capital": 10000, "investment_per_trade": 100},
    "baseline_params": {"initial_capital": 10000},
}
WALK = {
    **BASE,
    "grid": {THRESHOLD: [-0.02, -0.04, -0.06], "portfolio_params.investment_per_trade": [100, 250]},
    "rank_by": "total_return_pct",
    "walk_forward": {"folds": 3, "in_sample_days": 200, "out_of_sample_days": 80},
}


def post(platform, path: str, body: dict[str, Any], accept: str = "application/json") -> tuple[int, str]:
    request = urllib.request.Request(
        platform.url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": accept},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def data_of(platform, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, text = post(platform, path, body)
    assert status == 200, text
    return json.loads(text)["data"]


@pytest.fixture(scope="module")
def walk_forward(platform) -> dict[str, Any]:
    return data_of(platform, "/api/sweep", WALK)


def test_a_sweep_ranks_every_setting_of_two_tickers(platform):
    grid = {THRESHOLD: [-0.03, -0.05, -0.07], "market_params.ticker": ["TQQQ", "SPY"]}
    data = data_of(platform, "/api/sweep", {**BASE, "grid": grid, "rank_by": "total_return_pct"})
    returns = [row["summary"]["total_return_pct"] for row in data["rows"]]
    assert len(returns) == 6 and returns == sorted(returns, reverse=True)


def test_a_sweep_row_equals_the_plain_backtest_of_its_setting(platform):
    data = data_of(platform, "/api/sweep", {**BASE, "grid": {THRESHOLD: [-0.03, -0.07]}})
    for row in data["rows"]:
        config = {"price_change_threshold": row["params"][THRESHOLD]}
        strategy = {"strategy_type": "buy_the_dip", "config": config}
        plain = data_of(platform, "/api/backtest", {**BASE, "strategy_params": strategy})
        assert row["summary"] == plain["active_strategy"]["summary"]
        assert row["comparison"] == plain["comparison"]


def test_walk_forward_folds_follow_one_another(walk_forward):
    folds = walk_forward["walk_forward"]["folds"]
    assert [fold["fold"] for fold in folds] == [1, 2, 3]
    assert [fold["out_of_sample"]["days"] for fold in folds] == [80, 80, 80]
    for before, after in itertools.pairwise(folds):
        assert before["out_of_sample"]["end_date"] < after["out_of_sample"]["start_date"]


def test_each_out_of_sample_result_equals_a_plain_backtest_over_its_window(platform, walk_forward):
    for fold in walk_forward["walk_forward"]["folds"]:
        window = fold["out_of_sample"]
        body = json.loads(json.dumps(BASE))
        body["market_params"].update(start_date=window["start_date"], end_date=window["end_date"])
        body["strategy_params"]["config"]["price_change_threshold"] = fold["params"][THRESHOLD]
        body["portfolio_params"]["investment_per_trade"] = fold["params"][
            "portfolio_params.investment_per_trade"
        ]
        plain = data_of(platform, "/api/backtest", body)
        assert plain["metadata"]["data_points"] == window["days"]
        assert fold["out_of_sample_summary"] == plain["active_strategy"]["summary"]
        assert fold["out_of_sample_comparison"] == plain["comparison"]


def test_each_folds_setting_is_the_best_of_its_in_sample_sweep(platform, walk_forward):
    fold = walk_forward["walk_forward"]["folds"][0]
    window = fold["in_sample"]
    body = {
        **WALK,
        "market_params": {**BASE["market_params"], **{k: window[k] for k in ("start_date", "end_date")}},
    }
    del body["walk_forward"]
    rows = data_of(platform, "/api/sweep", body)["rows"]
    assert rows[0]["params"] == fold["params"]
    assert rows[0]["summary"] == fold["in_sample_summary"]


def test_the_joined_record_spans_every_out_of_sample_window(walk_forward):
    record, folds = walk_forward["walk_forward"]["out_of_sample"], walk_forward["walk_forward"]["folds"]
    assert len(record["time_series"]["dates"]) == sum(fold["out_of_sample"]["days"] for fold in folds)
    assert (record["start_date"], record["end_date"]) == (
        folds[0]["out_of_sample"]["start_date"],
        folds[-1]["out_of_sample"]["end_date"],
    )


def test_a_walk_forward_fetches_the_whole_range_once(walk_forward):
    calls = walk_forward["metadata"]["calls"]
    assert calls.get("market_data.prices", 0) <= 1 and calls.get("market_data.dividends", 0) <= 1


def test_a_sweep_says_where_each_markets_prices_came_from(platform):
    grid = {THRESHOLD: [-0.03, -0.05], "market_params.ticker": ["TQQQ", "SPY"]}
    sources = data_of(platform, "/api/sweep", {**BASE, "grid": grid})["metadata"]["data_sources"]
    assert [source["ticker"] for source in sources] == ["SPY", "TQQQ"]  # one per market, not per setting
    for source in sources:
        market = {**BASE["market_params"], "ticker": source["ticker"]}
        backtest = data_of(platform, "/api/backtest", {**BASE, "market_params": market})["metadata"]
        market_fields = ("ticker", "start_date", "end_date", "frequency")
        assert source == {**{field: backtest[field] for field in market_fields}, **backtest["data_source"]}
        assert (source["provider"], source["synthetic"], source["calendar"]) == ("sample", True, "XNYS")


def test_fingerprints_are_equal_for_an_equal_request_and_differ_for_another(platform):
    first = data_of(platform, "/api/backtest", BASE)["metadata"]["fingerprint"]
    again = data_of(platform, "/api/backtest", BASE)["metadata"]["fingerprint"]
    spy = data_of(
        platform, "/api/backtest", {**BASE, "market_params": {**BASE["market_params"], "ticker": "SPY"}}
    )
    assert first == again
    assert spy["metadata"]["fingerprint"]["market_data"] != first["market_data"]
    assert spy["metadata"]["fingerprint"]["request"] != first["request"]


def test_compare_runs_every_strategy_on_one_market(platform):
    body = {key: value for key, value in BASE.items() if key != "strategy_params"}
    body["strategies"] = [
        {"name": "dip 5%", "strategy_type": "buy_the_dip", "config": {"price_change_threshold": -0.05}},
        {"name": "dca", "strategy_type": "dollar_cost_average", "config": {}},
        {"name": "momentum", "strategy_type": "momentum", "config": {}},
    ]
    data = data_of(platform, "/api/compare", body)
    assert [strategy["name"] for strategy in data["strategies"]] == ["dip 5%", "dca", "momentum"]
    plain = data_of(platform, "/api/backtest", BASE)
    assert data["strategies"][0]["summary"] == plain["active_strategy"]["summary"]
