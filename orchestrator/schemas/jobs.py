"""The bodies and answers of ``/api/jobs`` (docs/contract.md, section 7).

``jobs/plan.py`` validates a job's body (as ``POST /api/sweep`` or ``POST /api/compare`` validates
theirs) and ``jobs/service.py`` assembles the answers as plain dicts; these models describe them
for the API's document (``web/openapi/``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, RootModel

from orchestrator.schemas.research import WHOLE, CompareRequest, Metric, SweepRequest
from orchestrator.schemas.research_responses import MarketSource, RankedSweepRow
from orchestrator.schemas.responses import _Answer


class SweepJobRequest(SweepRequest):
    """What ``POST /api/sweep`` takes, with ``kind: sweep`` (not ``walk_forward``, nor
    ``include_time_series: true``)."""

    kind: Literal["sweep"]


class CompareJobRequest(CompareRequest):
    """What ``POST /api/compare`` takes, with ``kind: compare`` and how its table is ranked."""

    kind: Literal["compare"]
    rank_by: Metric = "sharpe_ratio"
    top_k: Annotated[int, Field(ge=1, le=100), WHOLE] = 5


class JobRequest(RootModel[Annotated[SweepJobRequest | CompareJobRequest, Field(discriminator="kind")]]):
    """The body of ``POST /api/jobs``: a sweep's or a comparison's, with its ``kind``."""


class JobLinks(_Answer):
    self: str
    results: str
    events: str


class JobFingerprint(_Answer):
    """The canonical request's hash; the market data's, once a setting has run."""

    request: str
    market_data: str | None


class Job(_Answer):
    """A job: what it is, how far it is, and (from ``GET /api/jobs/{id}``) what it called and
    where its data came from."""

    id: str
    kind: Literal["sweep", "compare"]
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    #: Whether the job survives the restart of every process (``REDIS_URL`` is set).
    durable: bool
    total: int
    done: int
    failed: int
    succeeded: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    expires_at: str | None
    eta_s: float | None
    rank_by: Metric
    order: Literal["ascending", "descending"]
    top_k: int
    links: JobLinks
    calls: dict[str, int] | None = None
    calls_total: int | None = None
    fingerprint: JobFingerprint | None = None
    data_sources: list[MarketSource] | None = None


class JobResponse(_Answer):
    success: Literal[True]
    data: Job


class JobList(_Answer):
    jobs: list[Job]


class JobListResponse(_Answer):
    success: Literal[True]
    data: JobList


class JobResults(_Answer):
    """A page of the ranked table, so far or final."""

    id: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    total: int
    done: int
    failed: int
    rank_by: Metric
    order: Literal["ascending", "descending"]
    offset: int
    limit: int
    rows: list[RankedSweepRow]


class JobResultsResponse(_Answer):
    success: Literal[True]
    data: JobResults


class JobProgress(_Answer):
    """A job stream's ``progress`` (no event id): how far, and the best rows so far."""

    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    total: int
    done: int
    failed: int
    succeeded: int
    eta_s: float | None
    started_at: str | None
    over: bool
    top: list[RankedSweepRow]


class JobSummary(Job):
    """A job stream's last event: the job, and its ``top_k`` best rows."""

    top: list[RankedSweepRow]
