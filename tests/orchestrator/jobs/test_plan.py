"""A job's body, planned: settings made one at a time from their index, checks before any is run."""

from __future__ import annotations

import tracemalloc

import pytest

import fakes
from orchestrator.errors import ApiError, InvalidRequest
from orchestrator.jobs.plan import params_at, plan_job
from orchestrator.limits import RequestLimits
from orchestrator.research.grid import settings

THRESHOLD = "strategy_params.config.price_change_threshold"
LIMITS = RequestLimits()


def sweep(grid, **options):
    return {"kind": "sweep", **fakes.backtest_request(), "grid": grid, **options}


def test_settings_by_index_follow_the_grids_order():
    grid = {"a": [1, 2, 3], "b": ["x", "y"], "c": [True, False]}
    assert [params_at(grid, index) for index in range(12)] == list(settings(grid))


def test_a_million_settings_are_planned_without_being_made():
    grid = {
        THRESHOLD: [-(n + 1) / 1001 for n in range(1000)],
        "portfolio_params.investment_per_trade": list(range(1, 1001)),
    }
    tracemalloc.start()
    plan = plan_job(sweep(grid), LIMITS, 1_000_000)
    last = plan.setting(999_999)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert plan.total == 1_000_000
    assert last.params == {THRESHOLD: -1000 / 1001, "portfolio_params.investment_per_trade": 1000}
    assert last.request.portfolio_params.investment_per_trade == 1000
    assert peak < 5_000_000  # a million requests would take gigabytes


def test_more_settings_than_the_limit_are_refused_before_any_is_made():
    with pytest.raises(InvalidRequest) as refused:
        plan_job(
            sweep({THRESHOLD: [-0.01, -0.02], "portfolio_params.investment_per_trade": [1, 2]}), LIMITS, 3
        )
    assert refused.value.details["settings"] == 4 and refused.value.details["max_settings"] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"grid": {THRESHOLD: [-0.05]}}, "kind"),
        ({"kind": "backtest"}, "kind"),
        ({"kind": "sweep", "grid": {"nowhere.at_all": [1]}}, "grid.nowhere.at_all"),
        (
            {"kind": "sweep", "grid": {THRESHOLD: [-0.05]}, "walk_forward": {"split_date": "2021-01-01"}},
            "walk_forward",
        ),
        ({"kind": "sweep", "grid": {THRESHOLD: [-0.05]}, "include_time_series": True}, "include_time_series"),
        ({"kind": "compare", "strategies": [], "rank_by": "sharpe_ratio"}, "strategies"),
        ({"kind": "compare", "rank_by": "luck"}, "rank_by"),
    ],
)
def test_a_job_that_cannot_run_is_refused_naming_the_field(body, field):
    with pytest.raises(InvalidRequest) as refused:
        plan_job({**fakes.backtest_request(), **body}, LIMITS, 1000)
    assert field in [problem["field"] for problem in refused.value.details["errors"]]


def test_a_body_that_is_not_an_object_is_refused():
    with pytest.raises(InvalidRequest):
        plan_job([1, 2], LIMITS, 1000)


def test_the_first_setting_is_checked_at_once_a_later_invalid_one_when_it_runs():
    with pytest.raises(InvalidRequest):
        plan_job(sweep({"portfolio_params.investment_per_trade": [-1, 100]}), LIMITS, 1000)
    plan = plan_job(sweep({"portfolio_params.investment_per_trade": [100, -1]}), LIMITS, 1000)
    with pytest.raises(ApiError) as invalid:
        plan.setting(1)
    assert "Combination 1 of the grid" in invalid.value.message  # named as a sweep names it
    assert invalid.value.details["combination"] == 1
    assert invalid.value.details["errors"][0]["field"] == "grid[1].portfolio_params.investment_per_trade"
    assert plan.params(1) == {"portfolio_params.investment_per_trade": -1}


def test_a_comparison_is_a_job_of_one_setting_per_strategy():
    body = {key: value for key, value in fakes.backtest_request().items() if key != "strategy_params"}
    strategies = [
        {"name": "dip 5%", "strategy_type": "buy_the_dip", "config": {"price_change_threshold": -0.05}},
        {"name": "hold", "strategy_type": "buy_and_hold"},
    ]
    plan = plan_job(
        {"kind": "compare", **body, "strategies": strategies, "rank_by": "total_return_pct"}, LIMITS, 1000
    )
    assert (plan.kind, plan.total, plan.rank_by, plan.order) == (
        "compare",
        2,
        "total_return_pct",
        "descending",
    )
    assert plan.setting(1).params == {"name": "hold", "strategy_type": "buy_and_hold", "config": {}}
    assert plan.setting(1).request.strategy_params.strategy_type == "buy_and_hold"
