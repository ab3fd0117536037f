"""Walk-forward windows over the bars, and the out-of-sample record joined end to end."""

from __future__ import annotations

import pytest

from orchestrator.errors import InsufficientData
from orchestrator.research.walk_forward import joined, windows
from orchestrator.schemas.research import Folds, Split

DATES = [f"2020-01-{day:02d}" for day in range(1, 31)]


def test_folds_shift_by_one_out_of_sample_window():
    folds = windows(DATES, Folds(folds=3, in_sample_days=10, out_of_sample_days=5))
    assert [(i.first, i.stop, o.first, o.stop) for i, o in folds] == [
        (0, 10, 10, 15),
        (5, 15, 15, 20),
        (10, 20, 20, 25),
    ]


def test_a_window_starts_and_ends_on_its_first_and_last_bar():
    ((in_sample, out_of_sample),) = windows(DATES, Folds(folds=1, in_sample_days=10, out_of_sample_days=5))
    assert in_sample.describe() == {"start_date": "2020-01-01", "end_date": "2020-01-10", "days": 10}
    assert out_of_sample.describe() == {"start_date": "2020-01-11", "end_date": "2020-01-15", "days": 5}


def test_too_few_bars_for_the_folds_is_insufficient_data():
    with pytest.raises(InsufficientData) as caught:
        windows(DATES, Folds(folds=3, in_sample_days=20, out_of_sample_days=5))
    assert caught.value.details == {"data_points": 30, "needed": 35}


def test_a_split_date_cuts_before_and_from_it():
    ((in_sample, out_of_sample),) = windows(DATES, Split(split_date="2020-01-21"))
    assert (in_sample.end_date, out_of_sample.start_date, out_of_sample.end_date) == (
        "2020-01-20",
        "2020-01-21",
        "2020-01-30",
    )


def test_a_split_date_at_the_edge_leaves_too_little_on_one_side():
    with pytest.raises(InsufficientData):
        windows(DATES, Split(split_date="2020-01-30"))


def _tested(fold, start, end, values, capital=100.0):
    return {
        "fold": fold,
        "out_of_sample": {"start_date": start, "end_date": end},
        "_series": {"dates": [start, end], "portfolio_value": values},
        "_capital": capital,
    }


def test_each_fold_continues_where_the_one_before_ended_and_the_return_compounds():
    record = joined([_tested(1, "a", "b", [100.0, 110.0]), _tested(2, "c", "d", [100.0, 120.0])])
    assert record["time_series"] == {
        "dates": ["a", "b", "c", "d"],
        "portfolio_value": [100.0, 110.0, 110.0, 132.0],
    }
    assert record["total_return_pct"] == pytest.approx(32.0)
    assert (record["start_date"], record["end_date"], record["folds"]) == ("a", "d", 2)


def test_a_fold_that_failed_is_left_out_of_the_record():
    record = joined([{"fold": 1, "error": {}}, _tested(2, "c", "d", [100.0, 90.0])])
    assert (record["folds"], record["total_return_pct"]) == (1, pytest.approx(-10.0))


def test_no_fold_tested_means_no_record():
    assert joined([{"fold": 1, "error": {}}]) is None
