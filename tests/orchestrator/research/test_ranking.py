"""Rows ranked by a metric: best first, missing values after, failures last, ties in grid order."""

from __future__ import annotations

from orchestrator.research.ranking import best, order, ranked


def _row(index, **summary):
    return {"index": index, "params": {}, "summary": summary}


def _failed(index):
    return {"index": index, "params": {}, "error": {"code": "INVALID_TICKER", "message": "", "details": {}}}


def test_highest_first_for_returns_and_ratios():
    rows = [_row(0, sharpe_ratio=0.5), _row(1, sharpe_ratio=1.5), _row(2, sharpe_ratio=1.0)]
    assert [row["index"] for row in ranked(rows, "sharpe_ratio")] == [1, 2, 0]
    assert order("sharpe_ratio") == "descending"


def test_lowest_first_for_volatility():
    rows = [_row(0, volatility_annualized_pct=30.0), _row(1, volatility_annualized_pct=10.0)]
    assert [row["index"] for row in ranked(rows, "volatility_annualized_pct")] == [1, 0]
    assert order("volatility_annualized_pct") == "ascending"


def test_drawdown_ranks_the_smallest_fall_first():
    rows = [_row(0, max_drawdown_pct=-40.0), _row(1, max_drawdown_pct=-10.0)]
    assert [row["index"] for row in ranked(rows, "max_drawdown_pct")] == [1, 0]


def test_a_missing_metric_comes_after_every_value_and_failures_last():
    rows = [_failed(0), _row(1, sharpe_ratio=None), _row(2, sharpe_ratio=-3.0)]
    table = ranked(rows, "sharpe_ratio")
    assert [(row["index"], row["rank"]) for row in table] == [(2, 1), (1, 2), (0, None)]


def test_ties_keep_the_grid_order():
    rows = [_row(3, sharpe_ratio=1.0), _row(1, sharpe_ratio=1.0), _row(2, sharpe_ratio=1.0)]
    assert [row["index"] for row in ranked(rows, "sharpe_ratio")] == [1, 2, 3]


def test_best_is_the_top_of_the_ranking():
    rows = [_row(i, total_return_pct=float(i)) for i in range(10)]
    assert [row["index"] for row in best(rows, "total_return_pct", 3)] == [9, 8, 7]
