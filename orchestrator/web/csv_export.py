"""Answers as CSV (``Accept: text/csv`` or ``?format=csv``): the JSON answer's numbers, as tables.

Each table is made from the JSON answer itself, read back from its bytes, so a CSV can never say
anything the JSON does not: numbers are written as JSON writes them, ``null`` as an empty field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

import orjson
from aiohttp import web

from orchestrator.errors import InvalidRequest
from orchestrator.web.json_http import dump

CSV_CONTENT_TYPE = "text/csv"
SERIES = (
    "portfolio_value",
    "holdings_value",
    "cash_balance",
    "cumulative_invested",
    "shares_held",
    "cumulative_dividends",
)
TRADE_COLUMNS = ("date", "action", "ticker", "shares", "price", "amount", "transaction_cost", "trigger")
FORMATS = ("json", "csv")
#: The tables of each route that answers CSV (``?table=``), its default first.
BACKTEST_TABLES = ("time_series", "trades")
#: A sweep's ranked rows, or a walk-forward's folds: which one a sweep has depends on its body.
SWEEP_TABLES = ("rows", "folds")


def wants_csv(request: web.Request) -> bool:
    """``?format=csv`` (which wins over ``Accept``), or ``Accept: text/csv``."""
    given = request.query.get("format")
    if given is not None:
        if given not in FORMATS:
            raise _bad_query("format", f"must be one of {', '.join(FORMATS)}")
        return given == "csv"
    return CSV_CONTENT_TYPE in request.headers.get("Accept", "")


def csv_table(request: web.Request, tables: tuple[str, ...]) -> str | None:
    """The table to answer with when CSV is asked for, else None (and None on a route with no
    ``tables``). ``?format=`` and ``?table=`` are checked whenever they are given, CSV or not: the
    API's document declares each an enum, and a value outside it is refused, never ignored."""
    if not tables:
        return None
    wanted, table = wants_csv(request), table_of(request, tables)
    return table if wanted else None


def table_of(request: web.Request, tables: tuple[str, ...]) -> str:
    """The ``?table=`` asked for, the first of ``tables`` by default."""
    given = request.query.get("table", tables[0])
    if given not in tables:
        raise _bad_query("table", f"must be one of {', '.join(tables)}")
    return given


def _bad_query(name: str, message: str) -> InvalidRequest:
    return InvalidRequest(
        f"Query parameter {name} {message}", {"errors": [{"field": f"query {name}", "message": message}]}
    )


def csv_response(document: dict[str, Any], table: str, filename: str) -> web.Response:
    data = orjson.loads(dump(document))["data"]
    rows = TABLES[table](data)
    response = web.Response(body=_encode(rows), content_type=CSV_CONTENT_TYPE, charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}-{table}.csv"'
    return response


def _encode(rows: Iterable[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue().encode()


def _cell(value: Any) -> str:
    """As JSON writes it: ``null`` as nothing, booleans as true/false, numbers unchanged."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def time_series_rows(data: dict[str, Any]) -> Iterable[list[Any]]:
    active, baseline = data["active_strategy"]["time_series"], data["baseline_strategy"]["time_series"]
    yield ["date", *(f"active_{name}" for name in SERIES), *(f"baseline_{name}" for name in SERIES)]
    base_by_date = {day: i for i, day in enumerate(baseline["dates"])}
    for i, day in enumerate(active["dates"]):
        j = base_by_date.get(day)
        yield [
            day,
            *(_at(active, name, i) for name in SERIES),
            *(_at(baseline, name, j) for name in SERIES),
        ]


def _at(series: dict[str, Any], name: str, index: int | None) -> Any:
    values = series.get(name)
    return None if values is None or index is None else values[index]


def trade_rows(data: dict[str, Any]) -> Iterable[list[Any]]:
    yield list(TRADE_COLUMNS)
    for trade in data["active_strategy"]["trades"]:
        yield [trade.get(column) for column in TRADE_COLUMNS]


def sweep_rows(data: dict[str, Any]) -> Iterable[list[Any]]:
    rows = data["rows"]
    paths = list(rows[0]["params"]) if rows else []
    metrics = _keys(rows, "summary")
    comparison = _keys(rows, "comparison")
    yield ["rank", "index", *paths, *metrics, *comparison, "error_code", "error_message"]
    for row in rows:
        summary, compared, error = (
            row.get("summary") or {},
            row.get("comparison") or {},
            row.get("error") or {},
        )
        yield [
            row["rank"],
            row["index"],
            *(row["params"][path] for path in paths),
            *(summary.get(name) for name in metrics),
            *(compared.get(name) for name in comparison),
            error.get("code"),
            error.get("message"),
        ]


def fold_rows(data: dict[str, Any]) -> Iterable[list[Any]]:
    folds = data["walk_forward"]["folds"]
    paths = next((list(fold["params"]) for fold in folds if "params" in fold), [])
    metrics = next((list(fold["in_sample_summary"]) for fold in folds if "in_sample_summary" in fold), [])
    windows = ("in_sample", "out_of_sample")
    yield [
        "fold",
        *(f"{window}_{part}" for window in windows for part in ("start_date", "end_date", "days")),
        *paths,
        *(f"{window}_{name}" for window in windows for name in metrics),
        "error_code",
    ]
    for fold in folds:
        params = fold.get("params") or {}
        yield [
            fold["fold"],
            *(fold[window][part] for window in windows for part in ("start_date", "end_date", "days")),
            *(params.get(path) for path in paths),
            *((fold.get(f"{window}_summary") or {}).get(name) for window in windows for name in metrics),
            (fold.get("error") or {}).get("code"),
        ]


def _keys(rows: list[dict[str, Any]], part: str) -> list[str]:
    return next((list(row[part]) for row in rows if part in row), [])


TABLES = {"time_series": time_series_rows, "trades": trade_rows, "rows": sweep_rows, "folds": fold_rows}
