"""A sweep's grid: paths into the backtest request, expanded in order, each combination validated."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import fakes
from orchestrator.errors import InvalidDateRange, InvalidRequest
from orchestrator.limits import RequestLimits
from orchestrator.research.grid import combinations, path_pattern, path_problem, settings, written

THRESHOLD = "strategy_params.config.price_change_threshold"
TICKER = "market_params.ticker"


def test_the_last_key_varies_fastest():
    grid = {THRESHOLD: [-0.03, -0.05], TICKER: ["TQQQ", "SPY"]}
    assert list(settings(grid)) == [
        {THRESHOLD: -0.03, TICKER: "TQQQ"},
        {THRESHOLD: -0.03, TICKER: "SPY"},
        {THRESHOLD: -0.05, TICKER: "TQQQ"},
        {THRESHOLD: -0.05, TICKER: "SPY"},
    ]


def test_values_are_written_at_their_paths_without_touching_the_base():
    base = fakes.backtest_request()
    document = written(base, {THRESHOLD: -0.07, "strategy_params.config.lookback_period": "weekly"})
    assert document["strategy_params"]["config"] == {
        "price_change_threshold": -0.07,
        "lookback_period": "weekly",
    }
    assert base["strategy_params"]["config"]["price_change_threshold"] == -0.05


def test_each_combination_is_a_validated_backtest_request():
    planned = combinations(fakes.backtest_request(), {TICKER: ["TQQQ", "SPY"]}, RequestLimits(), 10)
    assert [(c.index, c.request.market_params.ticker) for c in planned] == [(0, "TQQQ"), (1, "SPY")]


@pytest.mark.parametrize(
    "path",
    [
        THRESHOLD,
        TICKER,
        "portfolio_params.investment_per_trade",
        "baseline_params.initial_capital",
        "use_test_data",
    ],
)
def test_paths_into_the_request_are_accepted(path):
    assert path_problem(path) is None


@pytest.mark.parametrize(
    "path",
    [
        "include",
        "nothing.here",
        "market_params",
        "market_params.nope",
        "portfolio_params.initial_capital.deeper",
        "strategy_params.config",
        "use_test_data.x",
    ],
)
def test_paths_outside_the_request_are_refused(path):
    assert path_problem(path) is not None


#: Keys at the rule's edges: empty, a final newline (which Python's ``$`` would let through), a
#: config with no key or an empty one, a field's name with something before or after it.
EDGES = [
    "",
    ".",
    "use_test_data\n",
    "market_params.ticker\n",
    "\nmarket_params.ticker",
    "strategy_params.config",
    "strategy_params.config.",
    "strategy_params.config.a\nb",
    "strategy_params.configx.a",
    "market_params.tickerx",
    "xmarket_params.ticker",
    "Market_params.ticker",
    "market_params..ticker",
    "strategy_params.strategy_type.x",
]
KNOWN = ["use_test_data", TICKER, THRESHOLD, "strategy_params.config.", "portfolio_params.initial_capital"]


def _pattern_takes(path: str) -> bool:
    return re.search(path_pattern(), path) is not None


@pytest.mark.parametrize("path", EDGES)
def test_the_documents_pattern_takes_a_key_at_the_edges_exactly_when_the_rule_does(path):
    assert _pattern_takes(path) == (path_problem(path) is None)


@given(st.one_of(st.text(), st.tuples(st.sampled_from(KNOWN), st.text(max_size=4)).map("".join)))
def test_the_documents_pattern_takes_any_key_exactly_when_the_rule_does(path):
    assert _pattern_takes(path) == (path_problem(path) is None)


def test_a_walk_forward_may_not_vary_the_market():
    assert "walk-forward" in path_problem(TICKER, allow_market=False)


def test_a_bad_path_is_an_invalid_request_naming_it():
    with pytest.raises(InvalidRequest) as caught:
        combinations(fakes.backtest_request(), {"nope.x": [1]}, RequestLimits(), 10)
    assert caught.value.details["errors"][0]["field"] == "grid.nope.x"


def test_more_combinations_than_the_cap_are_refused_before_any_is_built():
    grid = {THRESHOLD: [-0.01 * i for i in range(1, 11)], "portfolio_params.investment_per_trade": [1, 2, 3]}
    with pytest.raises(InvalidRequest) as caught:
        combinations(fakes.backtest_request(), grid, RequestLimits(), 29)
    assert (caught.value.details["combinations"], caught.value.details["max_combinations"]) == (30, 29)


def test_an_invalid_combination_is_named_with_its_place_in_the_grid():
    with pytest.raises(InvalidRequest) as caught:
        combinations(
            fakes.backtest_request(),
            {"portfolio_params.investment_per_trade": [100, -1]},
            RequestLimits(),
            10,
        )
    assert caught.value.details["combination"] == 1
    assert caught.value.details["errors"][0]["field"] == "grid[1].portfolio_params.investment_per_trade"


def test_a_combination_with_a_bad_date_range_keeps_its_code():
    with pytest.raises(InvalidDateRange):
        combinations(
            fakes.backtest_request(), {"market_params.end_date": ["2019-01-01"]}, RequestLimits(), 10
        )
