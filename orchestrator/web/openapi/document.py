"""The document assembled from the table of operations and the models' JSON Schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from orchestrator import __version__
from orchestrator.headers import REQUEST_TIMEOUT_MS
from orchestrator.limits import RequestLimits
from orchestrator.research.compare import RESERVED
from orchestrator.research.config import CompareConfig
from orchestrator.research.grid import path_pattern
from orchestrator.schemas.requests import BuyTheDipConfig
from orchestrator.schemas.responses import (
    ErrorResponse,
)
from orchestrator.schemas.tickers import DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_CHARS, NOT_ONLY_SPACES
from orchestrator.web.csv_export import BACKTEST_TABLES, FORMATS, SWEEP_TABLES
from orchestrator.web.openapi.operations import (
    OPERATIONS,
)
from orchestrator.web.openapi.parts import (
    HEADERS,
    OPENAPI_VERSION,
    SCHEMA_REF,
    Content,
    Json,
    Operation,
    Stream,
    codes_by_status,
    error_response,
    header_ref,
)
from orchestrator.web.routes.jobs import LIST_DEFAULT, LIST_MAX, OFFSET_MAX, PAGE_DEFAULT, PAGE_MAX


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
            "name": REQUEST_TIMEOUT_MS,
            "in": "header",
            "description": "Less time than `BACKTEST_DEADLINE_S`, in whole milliseconds above 0 (more is "
            "capped to it; anything else is INVALID_REQUEST).",
            "schema": {"type": "integer", "minimum": 1},
        },
        "Format": {
            "name": "format",
            "in": "query",
            "description": "`csv` for a CSV table (it wins over `Accept`).",
            "schema": {"type": "string", "enum": list(FORMATS)},
        },
        "BacktestTable": {
            "name": "table",
            "in": "query",
            "description": "The CSV table (used only for CSV; any other value is INVALID_REQUEST, whatever "
            "the form).",
            "schema": {"type": "string", "enum": list(BACKTEST_TABLES), "default": BACKTEST_TABLES[0]},
        },
        "SweepTable": {
            "name": "table",
            "in": "query",
            "description": "The CSV table (used only for CSV; any other value is INVALID_REQUEST, whatever "
            "the form): `rows`, or `folds` for a walk-forward (for CSV, the other is INVALID_REQUEST).",
            "schema": {"type": "string", "enum": list(SWEEP_TABLES)},
        },
        "TickerQuery": {
            "name": "q",
            "in": "query",
            "required": True,
            "description": "A symbol or a part of a name, any case: 1-50 characters, not only spaces "
            "(else INVALID_REQUEST); searched with the spaces around it removed.",
            "schema": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_QUERY_CHARS,
                "pattern": NOT_ONLY_SPACES,
            },
        },
        "TickerLimit": {
            "name": "limit",
            "in": "query",
            "description": "The most results (else INVALID_REQUEST).",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        },
        "IdempotencyKey": {
            "name": "Idempotency-Key",
            "in": "header",
            "description": "1-255 printable ASCII characters; the same body sent again with it: one job.",
            "schema": {"type": "string", "pattern": "^[ -~]{1,255}(?![\\s\\S])"},
        },
        "JobId": {
            "name": "id",
            "in": "path",
            "required": True,
            "description": "The job's id (22 characters of URL-safe base64); any other is NOT_FOUND.",
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{22}$"},
        },
        "JobListLimit": {
            "name": "limit",
            "in": "query",
            "description": "The most jobs, newest first (else INVALID_REQUEST).",
            "schema": {"type": "integer", "minimum": 1, "maximum": LIST_MAX, "default": LIST_DEFAULT},
        },
        "ResultsOffset": {
            "name": "offset",
            "in": "query",
            "description": "The first row of the page, 0 for the best (else INVALID_REQUEST).",
            "schema": {"type": "integer", "minimum": 0, "maximum": OFFSET_MAX, "default": 0},
        },
        "ResultsLimit": {
            "name": "limit",
            "in": "query",
            "description": "The most rows of the page (else INVALID_REQUEST).",
            "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": PAGE_DEFAULT},
        },
        "LastEventId": {
            "name": "Last-Event-ID",
            "in": "header",
            "description": "Resume after this event: every `result` after it, none twice "
            "(else INVALID_REQUEST).",
            "schema": {"type": "string"},
        },
        "AssetName": {
            "name": "name",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "enum": list(asset_names)},
        },
    }


def models_of(operations: tuple[Operation, ...]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    """Every model the operations name: bodies as validated, answers and events as written."""
    found: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
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
        "required": ["id", "event", "data"] if stream.every_event_has_an_id else ["event", "data"],
        "properties": {
            "id": stream.id_schema,
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
                _HEADER_NAMES[name]: header_ref(name, name == "RequestId") for name in answer.headers
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
    "CacheControl": "Cache-Control",
    "Location": "Location",
    "IdempotentReplayed": "Idempotent-Replayed",
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
        "info": {"title": "Backtest orchestrator", "version": __version__, "description": DESCRIPTION},
        "tags": [
            {"name": "backtest", "description": "One backtest (docs/contract.md)."},
            {"name": "research", "description": "Sweeps, walk-forwards, comparisons (docs/api.md)."},
            {"name": "jobs", "description": "Sweeps and comparisons as durable jobs (docs/contract.md, 7)."},
            {"name": "market", "description": "Ticker search (docs/api.md)."},
            {"name": "health", "description": "Readiness, the services behind, liveness, metrics."},
            {"name": "docs", "description": "This description, and a page to try it."},
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {f"Error{status}": error_response(status, codes[status]) for status in used},
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
    """``schemas`` with every rule of this server that JSON Schema can carry written in, beyond what
    the models' types say: the bounds of its settings, the grid's paths, a ``buy_the_dip`` config's
    fields, the baseline's reserved name. (The rules that need code stay the server's and the
    description's: docs/operations.md, "API description", lists them.)"""
    for fields, bound in ((AMOUNTS, limits.max_amount), (PERCENTS, limits.max_percent)):
        for model, name in fields:
            schemas[model]["properties"][name]["maximum"] = bound
    schemas["CompareRequest"]["properties"]["strategies"]["maxItems"] = max_strategies
    for model in ("SweepRequest", "SweepJobRequest"):  # a job's sweep takes a sweep's grid
        if model in schemas:
            schemas[model]["properties"]["grid"]["propertyNames"] = {"pattern": path_pattern()}
    for model in ("StrategyParams", "StrategySpec"):
        schemas[model].update(_CHECKED_CONFIGS)
    if "SweepJobRequest" in schemas:  # jobs/plan.py: a job runs a plain sweep, and keeps no series
        job = schemas["SweepJobRequest"]["properties"]
        job["walk_forward"] = {
            "type": "null",
            "default": None,
            "description": "Not in a job: POST /api/sweep runs one.",
        }
        job["include_time_series"] = {
            "const": False,
            "default": False,
            "description": "A job's rows keep no series.",
        }
    names = schemas["StrategySpec"]["properties"]["name"]
    names["not"] = {"enum": sorted(RESERVED)}
    return schemas


#: ``requests._config_errors``: a ``buy_the_dip`` strategy's config is checked (its other keys pass on).
_CHECKED_CONFIGS = {
    "if": {"properties": {"strategy_type": {"const": "buy_the_dip"}}, "required": ["strategy_type"]},
    "then": {"properties": {"config": BuyTheDipConfig.model_json_schema()}},
}
