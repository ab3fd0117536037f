"""Rows ranked by a summary metric: best first, a missing metric after every value, failures last.

Best is highest, except for the measures of risk and cost below, where it is lowest. Rows of equal
metric keep the grid's order (by ``index``), so a ranking is the same however results arrived.
"""

from __future__ import annotations

from typing import Any, Literal

Row = dict[str, Any]

#: The metrics where less is better.
LOWER_IS_BETTER = frozenset(
    {"volatility_annualized_pct", "max_drawdown_duration_days", "total_transaction_costs"}
)


def order(metric: str) -> Literal["ascending", "descending"]:
    return "ascending" if metric in LOWER_IS_BETTER else "descending"


def metric_of(row: Row, metric: str) -> float | None:
    summary = row.get("summary")
    return None if summary is None else summary.get(metric)


def _key(metric: str) -> Any:
    sign = 1 if metric in LOWER_IS_BETTER else -1

    def key(row: Row) -> tuple[int, float, int]:
        value = metric_of(row, metric)
        if "error" in row:
            return (2, 0.0, row["index"])
        if value is None:
            return (1, 0.0, row["index"])
        return (0, sign * value, row["index"])

    return key


def ranked(rows: list[Row], metric: str) -> list[Row]:
    """``rows`` best first, each with its ``rank`` (1 for the best; None for a failed row)."""
    best_first = sorted(rows, key=_key(metric))
    return [{"rank": None if "error" in row else place, **row} for place, row in enumerate(best_first, 1)]


def best(rows: list[Row], metric: str, count: int) -> list[Row]:
    """The ``count`` best rows, ranked."""
    return ranked(rows, metric)[:count]
