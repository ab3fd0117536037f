"""The API's description, OpenAPI 3.1, generated rather than written: :func:`document`.

- **Schemas** come from the pydantic models of the requests and answers
  (``pydantic.json_schema.models_json_schema``, JSON Schema 2020-12: OpenAPI 3.1's own dialect).
- **Error answers** come from the error tree: each status an operation can answer with the codes
  of ``errors.py`` that carry it, the ``code`` of the envelope narrowed to them.
- **Operations** are :data:`OPERATIONS` below: per route, its body, its answers by status and media
  type (JSON, CSV, Server-Sent Events), its parameters and the statuses of its errors.
- **Streams.** OpenAPI 3.1 has no word for a stream's events (3.2 adds ``itemSchema``); before 3.2
  the convention (schemathesis reads it) is that a ``text/event-stream`` schema describes *each
  event*: an object with ``event``, ``data`` and ``id``, whose ``data`` is JSON
  (``contentMediaType``) of the ``contentSchema`` its event's name selects.

``routes/api_docs.py`` serves it at ``/api/openapi.json`` and Swagger UI at ``/api/docs``.
``tests/orchestrator/web/test_openapi.py`` checks it covers every route and passes
openapi-spec-validator; ``test_openapi_answers.py`` and ``test_schemathesis.py`` that the app
answers within it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from orchestrator import errors
from orchestrator.limits import RequestLimits
from orchestrator.research.config import CompareConfig
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
)

OPENAPI_VERSION = "3.1.0"
SCHEMA_REF = "#/components/schemas/{model}"
#: The same pattern as ``middlewares._VALID_REQUEST_ID``.
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,128}$"

# --- what an operation is made of ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Json:
    model: type[BaseModel]
    media_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class Stream:
    """``text/event-stream``: each event by name, with the model of its (JSON) data."""

    events: dict[str, type[BaseModel]]
    description: str


@dataclass(frozen=True, slots=True)
class Raw:
    """Any other media type, with its schema as given."""

    media_type: str
    schema: dict[str, Any]


def text(media_type: str, description: str) -> Raw:
    return Raw(media_type, {"type": "string", "description": description})


Content = Json | Stream | Raw


@dataclass(frozen=True, slots=True)
class Answer:
    description: str
    contents: tuple[Content, ...]
    headers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    operation_id: str
    tag: str
    summary: str
    description: str
    answers: dict[int, Answer]
    #: The statuses of the error envelopes it may answer (``components/responses/Error<status>``).
    errors: tuple[int, ...]
    request: type[BaseModel] | None = None
    parameters: tuple[str, ...] = field(default=())
    #: Bodies to show (and to try, on the page), by name.
    examples: dict[str, dict[str, Any]] = field(default_factory=dict)


# --- the error answers, from the error tree -------------------------------------------------------

#: Anyone may get these, on any route: the HTTP layer's refusals (a malformed request, headers too
#: long or too many, headers too slow to arrive) and a bug of ours.
EDGE_ERRORS = (400, 408, 431, 500)
#: Reading a body: not JSON, too large, too slow, compressed or of another media type.
BODY_ERRORS = (400, 408, 411, 413, 415)
#: Running backtests: the services' errors (their codes that pass through keep our statuses, among
#: them 404, 405, 413 and 415), their failures and timeouts, and refusals for overload or shutdown.
RUN_ERRORS = (400, 404, 405, 413, 415, 502, 503, 504)
#: Answered by the HTTP layer before any request exists: no ``X-Request-ID`` then.
WITHOUT_REQUEST_ID = frozenset({400, 408, 431})

STATUS_MEANINGS = {
    400: "The request is not valid (`details.errors` lists each field's problem), or a service said "
    "so of its data: an unknown ticker or strategy, a bad date range, no prices.",
    403: "A cross-origin preflight from an origin not allowed.",
    404: "Not found: no such path, or a service passed NOT_FOUND through.",
    405: "The method is not allowed (`details.allowed`), or a service passed METHOD_NOT_ALLOWED through.",
    408: "The headers or the body took too long to arrive; the connection is closed.",
    411: "The HTTP layer needs a length it was not given.",
    413: "The body is over `MAX_BODY_BYTES`.",
    415: "The body is not JSON, or is compressed.",
    431: "The request line or headers are too long, or too many.",
    500: "A bug of the orchestrator: logged with its stack, answered without it.",
    502: "A service answered outside its contract (`details.service` names it).",
    503: "A service is unavailable, or the orchestrator refused the work itself (overloaded, shutting "
    "down, a service's circuit open); a refusal carries `Retry-After`.",
    504: "A service did not answer in time, or the whole run passed its deadline.",
}


def codes_by_status() -> dict[int, list[str]]:
    """Each status of the error tree with its codes, sorted."""
    found: dict[int, set[str]] = {}
    pending: list[type[errors.ApiError]] = [errors.ApiError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        found.setdefault(cls.status, set()).add(cls.code)
    return {status: sorted(codes) for status, codes in sorted(found.items())}


def _error_response(status: int, codes: list[str]) -> dict[str, Any]:
    narrowed = {"properties": {"error": {"properties": {"code": {"enum": codes}}}}}
    headers: dict[str, Any] = {"X-Request-ID": _header_ref("RequestId", status not in WITHOUT_REQUEST_ID)}
    if status == 503:
        headers["Retry-After"] = _header_ref("RetryAfter")
    return {
        "description": f"{STATUS_MEANINGS[status]} Codes: {', '.join(codes)}.",
        "headers": headers,
        "content": {
            "application/json": {
                "schema": {"allOf": [{"$ref": SCHEMA_REF.format(model="ErrorResponse")}, narrowed]}
            }
        },
    }


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
        "get",
        "/api/health",
        "getApiHealth",
        "health",
        "Readiness: the services behind the orchestrator",
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
        "/health",
        "getHealth",
        "health",
        "Liveness",
        "The process answers; nothing is called.",
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


def _header_ref(name: str, required: bool = False) -> dict[str, Any]:
    # A reference cannot say ``required``: a required header is written out in full.
    if required:
        return {**HEADERS[name], "required": True}
    return {"$ref": f"#/components/headers/{name}"}


HEADERS: dict[str, dict[str, Any]] = {
    "RequestId": {
        "description": "The request id: the caller's `X-Request-ID` when valid, else one made here.",
        "schema": {"type": "string", "pattern": REQUEST_ID_PATTERN},
    },
    "RetryAfter": {
        "description": "Whole seconds after which to try again, when the orchestrator refused the work.",
        "schema": {"type": "integer", "minimum": 1},
    },
    "ContentDisposition": {
        "description": 'CSV only: `attachment; filename="...csv"`.',
        "schema": {"type": "string"},
    },
}


def _parameters(asset_names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {
        "RequestIdHeader": {
            "name": "X-Request-ID",
            "in": "header",
            "description": "The caller's request id, echoed and passed to every downstream call when "
            "it is 1-128 of `A-Z a-z 0-9 . _ : -`; any other is replaced by one made here, not refused.",
            "schema": {"type": "string"},
        },
        "TimeoutHeader": {
            "name": "X-Request-Timeout-Ms",
            "in": "header",
            "description": "Less time than `BACKTEST_DEADLINE_S`, in whole milliseconds above 0 (more is "
            "capped to it; anything else is INVALID_REQUEST).",
            "schema": {"type": "integer", "minimum": 1},
        },
        "Format": {
            "name": "format",
            "in": "query",
            "description": "`csv` for a CSV table (it wins over `Accept`).",
            "schema": {"type": "string", "enum": ["json", "csv"]},
        },
        "BacktestTable": {
            "name": "table",
            "in": "query",
            "description": "The CSV table (read only for CSV).",
            "schema": {"type": "string", "enum": ["time_series", "trades"], "default": "time_series"},
        },
        "SweepTable": {
            "name": "table",
            "in": "query",
            "description": "The CSV table (read only for CSV): `rows`, or `folds` for a walk-forward.",
            "schema": {"type": "string", "enum": ["rows", "folds"]},
        },
        "AssetName": {
            "name": "name",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "enum": list(asset_names)},
        },
    }


def models_of(operations: tuple[Operation, ...]) -> list[tuple[type[BaseModel], str]]:
    """Every model the operations name: bodies as validated, answers and events as written."""
    found: dict[tuple[type[BaseModel], str], None] = {}
    for operation in operations:
        if operation.request is not None:
            found[(operation.request, "validation")] = None
        for answer in operation.answers.values():
            for content in answer.contents:
                if isinstance(content, Json):
                    found[(content.model, "serialization")] = None
                elif isinstance(content, Stream):
                    found.update(dict.fromkeys((model, "serialization") for model in content.events.values()))
    found[(ErrorResponse, "serialization")] = None
    return list(found)


def _content(content: Content, refs: dict[Any, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    if isinstance(content, Json):
        return content.media_type, {"schema": refs[(content.model, "serialization")]}
    if isinstance(content, Stream):
        return "text/event-stream", {"schema": _event_schema(content, refs)}
    return content.media_type, {"schema": content.schema}


def _event_schema(stream: Stream, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    """One event of the stream: its name selects the schema of its JSON data."""
    return {
        "description": stream.description,
        "type": "object",
        "required": ["id", "event", "data"],
        "properties": {
            "id": {"type": "string", "pattern": "^[1-9][0-9]*$"},
            "event": {"type": "string", "enum": list(stream.events)},
            "data": {"type": "string"},
        },
        "oneOf": [
            {
                "properties": {
                    "event": {"const": name},
                    "data": {
                        "contentMediaType": "application/json",
                        "contentSchema": refs[(model, "serialization")],
                    },
                }
            }
            for name, model in stream.events.items()
        ],
    }


def _operation(operation: Operation, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, answer in sorted(operation.answers.items()):
        responses[str(status)] = {
            "description": answer.description,
            "headers": {
                _HEADER_NAMES[name]: _header_ref(name, name == "RequestId") for name in answer.headers
            },
            "content": dict(_content(content, refs) for content in answer.contents),
        }
    for status in operation.errors:
        responses.setdefault(str(status), {"$ref": f"#/components/responses/Error{status}"})
    spec: dict[str, Any] = {
        "operationId": operation.operation_id,
        "tags": [operation.tag],
        "summary": operation.summary,
        "description": operation.description,
        "parameters": [{"$ref": f"#/components/parameters/{name}"} for name in operation.parameters],
        "responses": dict(sorted(responses.items())),
    }
    if operation.request is not None:
        body: dict[str, Any] = {"schema": refs[(operation.request, "validation")]}
        if operation.examples:
            body["examples"] = {name: {"value": value} for name, value in operation.examples.items()}
        spec["requestBody"] = {"required": True, "content": {"application/json": body}}
    return spec


_HEADER_NAMES = {
    "RequestId": "X-Request-ID",
    "RetryAfter": "Retry-After",
    "ContentDisposition": "Content-Disposition",
}

DESCRIPTION = """\
The API gateway of the backtesting platform: backtests, sweeps, walk-forwards and comparisons over
the market-data, strategy, portfolio and metrics services.

- **Answers.** A success is `{"success": true, "data": ...}`; every failure, on every route, is
  `{"success": false, "error": {"code", "message", "details"}}` with its status (each status lists
  its codes). Every answer carries `X-Request-ID`.
- **Forms.** `POST` routes answer JSON; with `Accept: text/event-stream`, Server-Sent Events;
  backtests and sweeps also CSV (`?format=csv` or `Accept: text/csv`). Validation comes first: a bad
  request is a JSON 4xx before any stream starts; after that, failures arrive as an `error` event.
- **Streams.** As OpenAPI 3.1 has no word for events, a `text/event-stream` schema describes one
  event (`id`, `event`, `data`): its name selects the `contentSchema` of its JSON `data`.
- **CORS.** The routes under `/api/` and `/health` answer browsers from `CORS_ORIGINS`; a preflight
  (`OPTIONS`) from another origin is 403 `FORBIDDEN`.
- **Limits.** Bodies up to `MAX_BODY_BYTES`, JSON within `REQUEST_LIMITS__*`, strict types, unknown
  fields ignored: docs/contract.md and docs/api.md have every rule.
"""


def document(
    limits: RequestLimits | None = None,
    max_strategies: int = CompareConfig().max_strategies,
    asset_names: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API, with the bounds a server with ``limits`` and
    ``max_strategies`` enforces; ``asset_names`` are the documentation page's files."""
    limits = limits or RequestLimits()
    refs, definitions = models_json_schema(models_of(OPERATIONS), ref_template=SCHEMA_REF)
    schemas = bounded(definitions.get("$defs", {}), limits, max_strategies)
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method] = _operation(operation, refs)
    used = sorted({status for operation in OPERATIONS for status in operation.errors})
    codes = codes_by_status()
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Backtest orchestrator", "version": _version(), "description": DESCRIPTION},
        "tags": [
            {"name": "backtest", "description": "One backtest (docs/contract.md)."},
            {"name": "research", "description": "Sweeps, walk-forwards, comparisons (docs/api.md)."},
            {"name": "health", "description": "Readiness and liveness."},
            {"name": "docs", "description": "This description, and a page to try it."},
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {f"Error{status}": _error_response(status, codes[status]) for status in used},
            "parameters": _parameters(asset_names),
            "headers": HEADERS,
        },
    }


#: The numbers a server's settings bound (``requests._bound_errors``, ``research.parse_strategies``),
#: by model and field: the models' schemas say only what the types do.
AMOUNTS = (
    ("PortfolioParams", "initial_capital"),
    ("PortfolioParams", "investment_per_trade"),
    ("BaselineParams", "initial_capital"),
)
PERCENTS = (("PortfolioParams", "transaction_cost_pct"), ("PortfolioParams", "cash_interest_rate_pct"))


def bounded(schemas: dict[str, Any], limits: RequestLimits, max_strategies: int) -> dict[str, Any]:
    """``schemas`` with the bounds of this server's settings written in."""
    for fields, bound in ((AMOUNTS, limits.max_amount), (PERCENTS, limits.max_percent)):
        for model, name in fields:
            schemas[model]["properties"][name]["maximum"] = bound
    schemas["CompareRequest"]["properties"]["strategies"]["maxItems"] = max_strategies
    return schemas


def _version() -> str:
    try:
        return metadata.version("backtest-orchestrator")
    except metadata.PackageNotFoundError:
        return "0+unknown"
