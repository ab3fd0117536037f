"""The table of operations: per route, its body, its answers by status and media type, its
parameters and its errors; and the examples the page shows and the tests try."""

from __future__ import annotations

from typing import Any

from orchestrator.schemas.jobs import (
    JobListResponse,
    JobProgress,
    JobRequest,
    JobResponse,
    JobResultsResponse,
    JobSummary,
)
from orchestrator.schemas.requests import BacktestRequest
from orchestrator.schemas.research import CompareRequest, SweepRequest
from orchestrator.schemas.research_responses import (
    CompareResponse,
    FoldResult,
    SweepProgress,
    SweepResponse,
    SweepRow,
)
from orchestrator.schemas.responses import (
    BacktestResponse,
    ErrorResponse,
    HealthResponse,
    LivenessResponse,
    ProgressEvent,
    ReadinessResponse,
)
from orchestrator.schemas.tickers import TickerSearchResponse
from orchestrator.web.openapi.parts import (
    BODY_ERRORS,
    EDGE_ERRORS,
    RUN_ERRORS,
    Answer,
    Json,
    Operation,
    Raw,
    Stream,
    text,
)

# --- the operations -------------------------------------------------------------------------------

BACKTEST_STREAM = Stream(
    {"progress": ProgressEvent, "result": BacktestResponse, "error": ErrorResponse},
    "With `Accept: text/event-stream`: a `progress` event as each downstream call starts and ends "
    "(or was answered by the cache), then exactly one `result` (the very JSON answer) or one `error` "
    "(the envelope). Every event has an `id`, counting from 1; `: ping` comments while idle.",
)
COMPARE_STREAM = Stream(
    {"progress": ProgressEvent, "result": CompareResponse, "error": ErrorResponse},
    "With `Accept: text/event-stream`: `progress` events as in a backtest (each strategy's calls "
    "named after it: `signals.<name>`, `simulate.<name>`, `metrics.<name>`), then one `result` or "
    "one `error`.",
)
SWEEP_STREAM = Stream(
    {
        "result": SweepRow,
        "progress": SweepProgress,
        "fold": FoldResult,
        "summary": SweepResponse,
        "error": ErrorResponse,
    },
    "With `Accept: text/event-stream`: a `result` (its row, unranked) as each combination ends, a "
    "`progress` at most every `SWEEP__PROGRESS_INTERVAL_S` and once after the last, a `fold` after "
    "each walk-forward fold, then one `summary` (the very JSON answer) or one `error`.",
)
BACKTEST_CSV = text(
    "text/csv",
    "With `?format=csv` or `Accept: text/csv`: `?table=time_series` (a row per date, the default) "
    "or `trades`.",
)
SWEEP_CSV = text(
    "text/csv", "With `?format=csv` or `Accept: text/csv`: `?table=rows`, or `folds` for a walk-forward."
)
JOB_STREAM = Stream(
    {"result": SweepRow, "progress": JobProgress, "summary": JobSummary, "error": ErrorResponse},
    "A `result` per setting as it is kept (its row, unranked), once each, with an id that increases "
    "within the job; a `progress` (no id) first and at most every `JOBS__PROGRESS_INTERVAL_S`; then "
    "one `summary` (with an id) when the job is over, or an `error` (no id) when the jobs' store "
    "fails. Reconnect with `Last-Event-ID` to miss nothing.",
    id_schema={"type": "string", "pattern": "^[0-9]+(-[0-9]+)?$"},
    every_event_has_an_id=False,
)
JOB_CSV = text("text/csv", "With `?format=csv` or `Accept: text/csv`: the whole ranked table, streamed.")
#: Reading a job: its id may name none (or a job that expired); its store (Redis) may be away.
JOB_ERRORS = tuple(sorted({*EDGE_ERRORS, 404, 503}))
STATIC_ASSET = Answer(
    "A file of Swagger UI, as its package ships it.",
    (text("text/css", "A stylesheet."), text("text/javascript", "A script."), text("image/png", "An icon.")),
)

#: What ``/api/openapi.json`` answers, in outline (the OpenAPI 3.1 schema itself is not fetched).
DOCUMENT_SCHEMA = {
    "type": "object",
    "required": ["openapi", "info", "paths"],
    "properties": {
        "openapi": {"type": "string", "pattern": "^3\\.1\\."},
        "info": {"type": "object"},
        "paths": {"type": "object"},
        "components": {"type": "object"},
    },
}

# --- examples (docs/contract.md, docs/api.md): shown on the page, and tried by the tests ----------------

BACKTEST_EXAMPLE: dict[str, Any] = {
    "market_params": {
        "ticker": "TQQQ",
        "market_type": "ETF",
        "start_date": "2020-01-01",
        "end_date": "2022-01-01",
    },
    "strategy_params": {
        "strategy_type": "buy_the_dip",
        "config": {"price_change_threshold": -0.05, "lookback_period": "daily"},
    },
    "portfolio_params": {"initial_capital": 10000, "investment_per_trade": 100},
    "baseline_params": {"initial_capital": 10000},
}
THRESHOLDS = {"strategy_params.config.price_change_threshold": [-0.03, -0.05, -0.07]}
SWEEP_EXAMPLES: dict[str, dict[str, Any]] = {
    "sweep": {
        **BACKTEST_EXAMPLE,
        "grid": {**THRESHOLDS, "portfolio_params.investment_per_trade": [100, 200]},
        "rank_by": "sharpe_ratio",
        "top_k": 3,
    },
    "walk_forward": {
        **BACKTEST_EXAMPLE,
        "market_params": {**BACKTEST_EXAMPLE["market_params"], "start_date": "2019-01-01"},
        "grid": THRESHOLDS,
        "walk_forward": {"folds": 3, "in_sample_days": 252, "out_of_sample_days": 63},
    },
}
COMPARE_EXAMPLE: dict[str, Any] = {
    **{key: value for key, value in BACKTEST_EXAMPLE.items() if key != "strategy_params"},
    "strategies": [
        {"name": "dip 5%", "strategy_type": "buy_the_dip", "config": {"price_change_threshold": -0.05}},
        {"name": "dip 10%", "strategy_type": "buy_the_dip", "config": {"price_change_threshold": -0.10}},
        {"name": "monthly", "strategy_type": "dollar_cost_average", "config": {"frequency": "monthly"}},
    ],
}

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/api/backtest",
        "postBacktest",
        "backtest",
        "Run a backtest",
        "A strategy and a buy-and-hold baseline over one market, simulated and scored: one JSON "
        "document, a stream of Server-Sent Events, or CSV (docs/contract.md).",
        {
            200: Answer(
                "The backtest's answer.",
                (Json(BacktestResponse), BACKTEST_STREAM, BACKTEST_CSV),
                ("RequestId", "ContentDisposition"),
            )
        },
        tuple(sorted({*EDGE_ERRORS, *BODY_ERRORS, *RUN_ERRORS})),
        BacktestRequest,
        ("RequestIdHeader", "TimeoutHeader", "Format", "BacktestTable"),
        {"buy_the_dip": BACKTEST_EXAMPLE},
    ),
    Operation(
        "post",
        "/api/sweep",
        "postSweep",
        "research",
        "Run a parameter sweep, or a walk-forward",
        "A backtest request plus a grid of values to try: every combination ranked by `rank_by`, or "
        "with `walk_forward` tuned in sample and tested out of sample (docs/api.md). A combination "
        "that fails is a row with its error; only a sweep that cannot start answers an error.",
        {
            200: Answer(
                "The ranked table, or the walk-forward's folds.",
                (Json(SweepResponse), SWEEP_STREAM, SWEEP_CSV),
                ("RequestId", "ContentDisposition"),
            )
        },
        tuple(sorted({*EDGE_ERRORS, *BODY_ERRORS, *RUN_ERRORS})),
        SweepRequest,
        ("RequestIdHeader", "Format", "SweepTable"),
        SWEEP_EXAMPLES,
    ),
    Operation(
        "post",
        "/api/compare",
        "postCompare",
        "research",
        "Compare strategies side by side",
        "Several named strategies over one market and one baseline run (docs/api.md). Any failing "
        "call fails the comparison, as in a backtest.",
        {200: Answer("The comparison.", (Json(CompareResponse), COMPARE_STREAM), ("RequestId",))},
        tuple(sorted({*EDGE_ERRORS, *BODY_ERRORS, *RUN_ERRORS})),
        CompareRequest,
        ("RequestIdHeader", "TimeoutHeader"),
        {"three_strategies": COMPARE_EXAMPLE},
    ),
    Operation(
        "post",
        "/api/jobs",
        "postJob",
        "jobs",
        "Submit a sweep or a comparison as a job",
        "What `POST /api/sweep` or `POST /api/compare` takes, with a `kind`; answered at once (202), "
        "then run by every orchestrator process, each result kept as it is made (docs/contract.md, "
        "section 7). The job is the caller's tenant's (with `AUTH__MODE=none`, the address's). Refused "
        "before it is made when it cannot run (400); when the tenant has `QUOTA__JOBS_ACTIVE` jobs "
        "queued or running, or no settings left today (429 `RATE_LIMITED`), or with `AUTH__MODE=none` "
        "when the address has `JOBS__MAX_PER_CLIENT` (429 `TOO_MANY_JOBS`); or for an "
        "`Idempotency-Key` (the owner's own) reused with another body (422).",
        {
            202: Answer(
                "The job, queued.", (Json(JobResponse),), ("RequestId", "Location", "IdempotentReplayed")
            )
        },
        tuple(sorted({*EDGE_ERRORS, *BODY_ERRORS, 422, 429, 503})),
        JobRequest,
        ("RequestIdHeader", "IdempotencyKey"),
    ),
    Operation(
        "get",
        "/api/jobs",
        "listJobs",
        "jobs",
        "The asker's jobs",
        "Newest first; only the caller's tenant's (with `AUTH__MODE=none`, the client address's), so "
        "that no one sees another's ids; every job for a caller with the `jobs:admin` scope.",
        {200: Answer("The jobs.", (Json(JobListResponse),), ("RequestId",))},
        tuple(sorted({*EDGE_ERRORS, 503})),
        parameters=("JobListLimit", "RequestIdHeader"),
    ),
    Operation(
        "get",
        "/api/jobs/{id}",
        "getJob",
        "jobs",
        "A job: its status, counts, times, time left and provenance",
        "Its owner's (the tenant that made it, or the address), or a `jobs:admin` caller's: to anyone "
        "else 404, as for an id that never existed.",
        {200: Answer("The job.", (Json(JobResponse),), ("RequestId",))},
        JOB_ERRORS,
        parameters=("JobId", "RequestIdHeader"),
    ),
    Operation(
        "delete",
        "/api/jobs/{id}",
        "cancelJob",
        "jobs",
        "Cancel a job",
        "No new setting of it starts anywhere; settings in flight stop within a second on every "
        "process. A job already over is left as it ended. Its owner's, or a `jobs:admin` caller's: "
        "to anyone else 404.",
        {200: Answer("The job, cancelled (or as it ended).", (Json(JobResponse),), ("RequestId",))},
        JOB_ERRORS,
        parameters=("JobId", "RequestIdHeader"),
    ),
    Operation(
        "get",
        "/api/jobs/{id}/results",
        "getJobResults",
        "jobs",
        "A job's ranked table, so far or final",
        "A page as JSON (`offset`, `limit`), or the whole table as CSV, read from the store as it is sent.",
        {
            200: Answer(
                "The page, or the table.",
                (Json(JobResultsResponse), JOB_CSV),
                ("RequestId", "ContentDisposition"),
            )
        },
        JOB_ERRORS,
        parameters=("JobId", "ResultsOffset", "ResultsLimit", "Format", "RequestIdHeader"),
    ),
    Operation(
        "get",
        "/api/jobs/{id}/events",
        "getJobEvents",
        "jobs",
        "A job's events, as Server-Sent Events",
        "Every result as it is kept, progress, and a summary at the end; resumable with `Last-Event-ID` "
        "on any process.",
        {200: Answer("The events.", (JOB_STREAM,), ("RequestId",))},
        JOB_ERRORS,
        parameters=("JobId", "LastEventId", "RequestIdHeader"),
    ),
    Operation(
        "get",
        "/api/tickers/search",
        "getTickerSearch",
        "market",
        "Search tickers by symbol or name",
        "Suggestions as one types, from the market-data service (docs/api.md): the symbol itself first, "
        "then symbols starting with `q`, then names starting with it, then names with a word starting "
        "with it, then any other match. Never admitted or refused as a backtest is; a service's failure "
        "is its error, as in a backtest. A success may be kept for a minute (`Cache-Control`).",
        {
            200: Answer(
                "The matches, best first.", (Json(TickerSearchResponse),), ("RequestId", "CacheControl")
            )
        },
        tuple(sorted({*EDGE_ERRORS, *RUN_ERRORS})),
        parameters=("TickerQuery", "TickerLimit", "RequestIdHeader"),
    ),
    Operation(
        "get",
        "/api/health",
        "getApiHealth",
        "health",
        "The services behind the orchestrator, and its circuits",
        "Each service checked in parallel (within about two seconds, even when one hangs), and every "
        "circuit breaker's state. While shutting down: 503 `draining` at once, nothing checked.",
        {
            200: Answer("Every service is healthy.", (Json(HealthResponse),), ("RequestId",)),
            503: Answer("Degraded, or draining.", (Json(HealthResponse),), ("RequestId",)),
        },
        EDGE_ERRORS,
        parameters=("RequestIdHeader",),
    ),
    Operation(
        "get",
        "/ready",
        "getReady",
        "health",
        "Readiness: whether this process takes backtests now",
        "For load balancers and Kubernetes' readiness probe: 200 `ready` unless this process is "
        "draining or every admission slot is taken (503 `draining` or `saturated`), with the slots "
        "in use and the limit. The services behind it are not asked: their failures are answered, "
        "by every replica, as the contract says.",
        {
            200: Answer("Ready: not draining, a slot free.", (Json(ReadinessResponse),), ("RequestId",)),
            503: Answer("Draining, or saturated.", (Json(ReadinessResponse),), ("RequestId",)),
        },
        EDGE_ERRORS,
        parameters=("RequestIdHeader",),
    ),
    Operation(
        "get",
        "/health",
        "getHealth",
        "health",
        "Liveness",
        "The process answers, saying which build it runs; nothing is called.",
        {200: Answer("Alive.", (Json(LivenessResponse),), ("RequestId",))},
        EDGE_ERRORS,
        parameters=("RequestIdHeader",),
    ),
    Operation(
        "get",
        "/metrics",
        "getMetrics",
        "health",
        "Metrics, for Prometheus",
        "The text exposition format, or OpenMetrics when `Accept` asks for it.",
        {
            200: Answer(
                "The metrics.",
                (
                    text("text/plain", "Prometheus' text format."),
                    text("application/openmetrics-text", "OpenMetrics."),
                ),
                ("RequestId",),
            )
        },
        EDGE_ERRORS,
        parameters=("RequestIdHeader",),
    ),
    Operation(
        "get",
        "/api/openapi.json",
        "getOpenApi",
        "docs",
        "This document",
        "The API's OpenAPI 3.1 description, generated from the models of its requests and answers.",
        {
            200: Answer(
                "The document.",
                (Raw("application/json", DOCUMENT_SCHEMA),),
                ("RequestId",),
            )
        },
        EDGE_ERRORS,
        parameters=("RequestIdHeader",),
    ),
    Operation(
        "get",
        "/api/docs",
        "getDocs",
        "docs",
        "Interactive documentation",
        "Swagger UI over this document, every asset served from here (no CDN).",
        {200: Answer("The page.", (text("text/html", "Swagger UI."),), ("RequestId",))},
        EDGE_ERRORS,
        parameters=("RequestIdHeader",),
    ),
    Operation(
        "get",
        "/api/docs/static/{name}",
        "getDocsAsset",
        "docs",
        "An asset of the documentation page",
        "The Swagger UI files the page loads, by name; any other name is NOT_FOUND.",
        {200: STATIC_ASSET},
        tuple(sorted({*EDGE_ERRORS, 404})),
        parameters=("AssetName", "RequestIdHeader"),
    ),
)
