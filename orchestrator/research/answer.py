"""The answers of a sweep and of a walk-forward: ranked rows, or folds, and what they cost."""

from __future__ import annotations

from typing import Any

from orchestrator.backtest.fingerprint import of_request
from orchestrator.research.plan import SweepPlan
from orchestrator.research.ranking import Row, order, ranked
from orchestrator.research.sweep import Sweep

Document = dict[str, Any]


def sweep_answer(
    plan: SweepPlan,
    sweep: Sweep,
    rows: list[Row],
    execution_time_ms: int,
    walk_forward: dict[str, Any] | None = None,
) -> Document:
    """The sweep's document: ``rows`` ranked, or the walk-forward's folds (``rows`` then holds every
    fold's in-sample rows, counted in the metadata)."""
    metric = plan.options.rank_by
    spent = sweep.metadata()
    failed = sum("error" in row for row in rows)
    metadata = {
        "request_id": sweep.request_id,
        "rank_by": metric,
        "order": order(metric),
        "combinations": len(plan.combinations),
        "succeeded": len(rows) - failed,
        "failed": failed,
        "execution_time_ms": execution_time_ms,
        "calls": spent["calls"],
        "calls_total": spent["calls_total"],
        "fingerprint": {"request": of_request(plan.canonical), "market_data": spent["market_data"]},
        "data_sources": spent["data_sources"],
    }
    if walk_forward is None:
        return {"success": True, "data": {"metadata": metadata, "rows": ranked(rows, metric)}}
    metadata["folds"] = len(walk_forward["folds"])
    return {"success": True, "data": {"metadata": metadata, "walk_forward": walk_forward}}
