"""The answers of ``POST /api/sweep`` (a ranked table, or a walk-forward) and ``POST /api/compare``.

As with the backtest's answer (``responses.py``), the answers are assembled as plain dicts
(``research/answer.py``, ``research/walk_forward.py``, ``research/compare.py``); these models are
their description, for the API's document (``web/openapi/``), and
``tests/orchestrator/web/test_openapi_answers.py`` checks that real answers validate against it.
A field typed ``X | None = None`` is absent when it does not apply.
"""

from __future__ import annotations

from typing import Any, Literal

from orchestrator.schemas.research import Metric
from orchestrator.schemas.responses import (
    BaselineResult,
    Comparison,
    DataSource,
    ErrorBody,
    Fingerprint,
    MarketMetadata,
    Summary,
    TimeSeries,
    Trade,
    _Answer,
)


class SweepRow(_Answer):
    """One combination of the grid: ``summary`` and ``comparison`` (the backtest answer's
    ``active_strategy.summary`` and ``comparison``), or ``error`` when its backtest failed."""

    index: int
    params: dict[str, Any]
    summary: Summary | None = None
    comparison: Comparison | None = None
    # the active strategy's time series, with ``include_time_series``
    time_series: TimeSeries | None = None
    error: ErrorBody | None = None
    # a walk-forward's fold, in a stream's ``result`` events and in a fold's ``top``
    fold: int | None = None


class RankedSweepRow(SweepRow):
    """A row in its place: ``rank`` 1 is the best by ``rank_by``; a failed row has ``rank: null``."""

    rank: int | None


class MarketSource(DataSource):
    """A market of a sweep, and where its prices came from."""

    ticker: str
    start_date: str
    end_date: str
    frequency: str


class SweepMetadata(_Answer):
    request_id: str
    rank_by: Metric
    order: Literal["ascending", "descending"]
    combinations: int
    succeeded: int
    failed: int
    execution_time_ms: int
    #: Calls made, by name (a call the cache answered is neither made nor counted).
    calls: dict[str, int]
    calls_total: int
    fingerprint: Fingerprint
    #: Where each market's prices came from, one entry per market the sweep used (docs/api.md#provenance).
    data_sources: list[MarketSource]
    # a walk-forward's number of folds
    folds: int | None = None


class SweepData(_Answer):
    metadata: SweepMetadata
    rows: list[RankedSweepRow]


class Window(_Answer):
    start_date: str
    end_date: str
    #: Trading days (bars).
    days: int


class Degradation(_Answer):
    """How the ``rank_by`` metric changed from the in-sample best to its out-of-sample run."""

    metric: Metric
    in_sample: float | None
    out_of_sample: float | None
    change: float | None


class FoldResult(_Answer):
    """One walk-forward fold: the in-sample sweep's best rows, and the best one run out of sample;
    or ``error`` when the sweep had no successful row or the out-of-sample run failed."""

    fold: int
    in_sample: Window
    out_of_sample: Window
    top: list[RankedSweepRow]
    params: dict[str, Any] | None = None
    in_sample_summary: Summary | None = None
    out_of_sample_summary: Summary | None = None
    out_of_sample_comparison: Comparison | None = None
    degradation: Degradation | None = None
    error: ErrorBody | None = None


class JoinedSeries(_Answer):
    dates: list[str]
    portfolio_value: list[float]


class OutOfSample(_Answer):
    """The folds' out-of-sample records end to end; the return compounded."""

    start_date: str
    end_date: str
    folds: int
    total_return_pct: float
    time_series: JoinedSeries


class WalkForwardResult(_Answer):
    folds: list[FoldResult]
    #: null when no fold has an out-of-sample record.
    out_of_sample: OutOfSample | None


class WalkForwardData(_Answer):
    metadata: SweepMetadata
    walk_forward: WalkForwardResult


class SweepResponse(_Answer):
    success: Literal[True] = True
    data: SweepData | WalkForwardData


class SweepProgress(_Answer):
    """The data of a sweep stream's ``progress`` event."""

    done: int
    total: int
    failed: int
    elapsed_ms: int
    top: list[RankedSweepRow]


class CompareMetadata(MarketMetadata):
    """As a backtest's metadata, without ``strategy_type``, with the strategies' names in order."""

    strategies: list[str]


class StrategyResult(_Answer):
    name: str
    strategy_type: str
    config: dict[str, Any]
    summary: Summary
    time_series: TimeSeries
    trades: list[Trade]
    comparison: Comparison


class CompareData(_Answer):
    metadata: CompareMetadata
    #: In the request's order.
    strategies: list[StrategyResult]
    baseline_strategy: BaselineResult


class CompareResponse(_Answer):
    success: Literal[True] = True
    data: CompareData
