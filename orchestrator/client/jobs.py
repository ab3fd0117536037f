"""What the client's job methods hand back beyond the API's own models: a job stream's events,
typed, and the ranked table as a pandas DataFrame.

The models are the server's (``orchestrator.schemas.jobs``): a client and the API's document read
the same answers the same way, and a field the server renames fails here rather than in a notebook.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from orchestrator.client.answers import Failed
from orchestrator.schemas.jobs import Job, JobProgress, JobResults, JobSummary
from orchestrator.schemas.research_responses import RankedSweepRow, SweepRow

__all__ = ["Job", "JobEvent", "JobProgress", "JobResults", "JobSummary", "RankedSweepRow", "SweepRow"]

PANDAS_HINT = "results_frame needs pandas: pip install pandas (or 'backtest-orchestrator[services]')"


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One event of ``GET /api/jobs/{id}/events``: a kept setting's row (``result``, with its id),
    how far the job is (``progress``, no id), or the job once over (``summary``, the last)."""

    kind: Literal["result", "progress", "summary"]
    id: str | None
    data: SweepRow | JobProgress | JobSummary


def job_event(kind: str, event_id: str | None, data: dict[str, Any]) -> JobEvent | None:
    """The event typed, or None for a kind this client does not know (a later server's)."""
    if kind == "result":
        return JobEvent("result", event_id, SweepRow.model_validate(data))
    if kind == "progress":
        return JobEvent("progress", event_id, JobProgress.model_validate(data))
    if kind == "summary":
        return JobEvent("summary", event_id, JobSummary.model_validate(data))
    return None


def flat_row(row: RankedSweepRow) -> dict[str, Any]:
    """One row as one line of a table: rank, index, each grid path, each metric, each comparison,
    and the error's code and message (the CSV export's columns)."""
    summary = row.summary.model_dump(exclude_unset=True) if row.summary is not None else {}
    comparison = row.comparison.model_dump(exclude_unset=True) if row.comparison is not None else {}
    error = row.error
    return {
        "rank": row.rank,
        "index": row.index,
        **row.params,
        **summary,
        **comparison,
        "error_code": None if error is None else error.code,
        "error_message": None if error is None else error.message,
    }


# A pandas.DataFrame, typed Any: pandas is the services' extra's, not the gateway's, and ships no
# annotations mypy reads (pandas-stubs is a dependency of neither).
def frame(rows: Iterable[RankedSweepRow]) -> Any:
    """The rows as a DataFrame, a column each (as :func:`flat_row`), or :class:`Failed` naming the
    install when pandas is not there."""
    try:
        import pandas  # type: ignore[import-untyped]  # when asked for only: see above
    except ImportError:
        raise Failed(PANDAS_HINT, 2) from None
    return pandas.DataFrame.from_records([flat_row(row) for row in rows])
