"""``orchestrator sweep``: sweep a grid of settings (or walk it forward) on a running orchestrator.

The request is a backtest's, from the same flags as ``orchestrator backtest``, plus the grid
(``--grid PATH=V1,V2,...``, repeatable), how to rank (``--rank-by``, ``--top-k``) and optionally
``--walk-forward``: the ``POST /api/sweep`` body of docs/api.md. It is streamed, so a progress bar
counts the combinations as they end; the ranked table (or the table of folds) is printed from the
final ``summary`` event. ``--json`` prints that answer as it came, ``--csv`` fetches the CSV export
instead. Exit codes as ``orchestrator backtest``'s: 0, 1 an error answer, 2 no usable answer, 130.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping
from typing import Any

from rich import box, progress
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.cli import options
from orchestrator.cli.client import (
    Exchange,
    bar_columns,
    counted,
    error_of,
    metric,
    metric_label,
    metric_value,
    number,
    print_data_note,
    print_table,
    runner,
    say,
    send,
)
from orchestrator.client import OnEvent, OrchestratorClient

DEFAULT_RANK_BY = "sharpe_ratio"
#: Shown for every row after the rank metric.
COLUMNS = ("total_return_pct", "sharpe_ratio", "max_drawdown_pct", "total_trades")
#: How many failed rows get their message printed under the table.
FAILURES_LISTED = 10


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "sweep",
        help="sweep a grid of settings (or walk it forward) and print the ranked table",
        description="Run every combination of a grid of settings on a running orchestrator, show the "
        "progress, print the combinations ranked (or, with --walk-forward, the folds).",
        epilog=options.EXIT_STATUS,
    )
    options.add_market_options(parser)
    options.add_strategy_options(parser)
    options.add_portfolio_options(parser)
    group = parser.add_argument_group("sweep")
    add = group.add_argument
    add(
        "--grid",
        action="append",
        required=True,
        type=grid_axis,
        metavar="PATH=V1,V2,...",
        help="a dotted path into the backtest request and the values to try (JSON scalars, else strings), "
        "e.g. strategy_params.config.price_change_threshold=-0.03,-0.05 or market_params.ticker=TQQQ,SPY; "
        "repeatable; PATH=[JSON list] for values holding commas",
    )
    add("--rank-by", default=DEFAULT_RANK_BY, metavar="METRIC", help="summary metric (default sharpe_ratio)")
    add("--top-k", type=int, default=5, metavar="K", help="best rows per progress event (1-100, default 5)")
    add(
        "--walk-forward",
        type=key_values,
        metavar="KEY=VALUE,...",
        help="walk forward instead: folds=3,in_sample_days=252,out_of_sample_days=63 "
        "or split_date=2021-06-01",
    )
    answer = options.add_client_options(parser, timeout_s=900.0)
    answer.add_argument("--csv", action="store_true", help="print the CSV export instead (no progress)")
    parser.set_defaults(run=runner(sweep))


def _scalar(text: str) -> Any:
    """``text`` as a JSON scalar (``-0.05``, ``100``, ``true``, ``null``) where it is one, else as is."""
    try:
        value = json.loads(text, parse_constant=_refuse)  # NaN and Infinity are not JSON
    except ValueError:
        return text
    return text if isinstance(value, dict | list) else value


def _refuse(constant: str) -> Any:
    raise ValueError(constant)


def grid_axis(text: str) -> tuple[str, list[Any]]:
    """An argparse type: ``PATH=V1,V2,...`` (or ``PATH=[JSON list]``) as the path and its values."""
    path, equals, values = text.partition("=")
    if not equals or not path.strip():
        raise argparse.ArgumentTypeError(f"expected PATH=V1,V2,..., got {text!r}")
    if values.lstrip().startswith("["):
        try:
            listed = json.loads(values, parse_constant=_refuse)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"{path.strip()}: not a JSON list: {error}") from None
        if not isinstance(listed, list) or not listed:
            raise argparse.ArgumentTypeError(f"{path.strip()}: expected a non-empty JSON list")
        return path.strip(), listed
    items = [item.strip() for item in values.split(",")]
    if "" in items:
        raise argparse.ArgumentTypeError(f"{path.strip()}: an empty value in {values!r}")
    return path.strip(), [_scalar(item) for item in items]


def key_values(text: str) -> dict[str, Any]:
    """An argparse type: ``KEY=VALUE,...`` as an object, each value a JSON scalar where it is one."""
    found: dict[str, Any] = {}
    for item in text.split(","):
        key, equals, value = (part.strip() for part in item.partition("="))
        if not equals or not key or not value:
            raise argparse.ArgumentTypeError(f"expected KEY=VALUE,..., got {item.strip()!r}")
        if key in found:
            raise argparse.ArgumentTypeError(f"{key} given twice")
        found[key] = _scalar(value)
    return found


def request_body(args: argparse.Namespace) -> dict[str, Any]:
    """The ``POST /api/sweep`` body of docs/api.md; raises ValueError on flags that do not fit."""
    grid: dict[str, list[Any]] = {}
    for path, values in args.grid:
        if path in grid:
            raise ValueError(f"--grid {path} given twice: give all its values at once")
        grid[path] = values
    body = {**options.request_body(args), "grid": grid, "rank_by": args.rank_by, "top_k": args.top_k}
    if args.walk_forward is not None:
        body["walk_forward"] = args.walk_forward
    return body


async def sweep(args: argparse.Namespace, out: Console, err: Console) -> int:
    """The command, awaitable so that tests can drive it with their own consoles."""
    return await send(EXCHANGE, args, out, err)


def value_text(value: Any) -> str:
    """A grid value as the user wrote it: strings bare, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def params_text(params: dict[str, Any] | None) -> str:
    """``price_change_threshold=-0.05, ticker=TQQQ``"""
    params = params or {}
    names = short_names(list(params))
    return ", ".join(f"{names[path]}={value_text(value)}" for path, value in params.items())


def short_names(paths: list[str]) -> dict[str, str]:
    """Each dotted path by its shortest ending that no other path shares, for column headers."""
    names = {}
    for path in paths:
        parts = path.split(".")
        for size in range(1, len(parts) + 1):
            name = ".".join(parts[-size:])
            if not any(other != path and (other == name or other.endswith("." + name)) for other in paths):
                break
        names[path] = name
    return names


class SweepDisplay:
    """The sweep's events as they come: a live bar (or plain lines) counting the combinations ended.

    ``result`` events step the count; ``progress`` events set it, with the total and the best row so
    far; failed combinations and, walking forward, each fold are printed as they come."""

    def __init__(self, console: Console, bar: bool, body: dict[str, Any]) -> None:
        self.console = console
        self.rank_by = body.get("rank_by") or DEFAULT_RANK_BY
        self.done = self.failed = 0
        # The grid's size, once per fold, until the progress events say.
        folds = (body.get("walk_forward") or {}).get("folds", 1)
        sizes = [len(values) for values in (body.get("grid") or {}).values()]
        self.total: int | None = math.prod(sizes) * folds if isinstance(folds, int) else None
        self.fold: Any = None
        self.best: dict[str, Any] | None = None
        self.bar = progress.Progress(*bar_columns(56), console=console) if bar else None
        self._task = self.bar.add_task("sending", total=self.total) if self.bar else None
        self.handlers: Mapping[str, OnEvent] = {
            "result": self.on_result,
            "progress": self.on_progress,
            "fold": self.on_fold,
        }

    def __enter__(self) -> SweepDisplay:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def on_result(self, row: dict[str, Any]) -> None:
        self.done += 1
        self.fold = row.get("fold", self.fold)
        if "error" in row:
            self.failed += 1
            code, message = error_of(row)
            params = params_text(row.get("params"))
            say(self.console, f"combination {row.get('index', '?')} failed: {code}: {message} ({params})")
        self._refresh()

    def on_progress(self, event: dict[str, Any]) -> None:
        self.done, self.total = event.get("done", self.done), event.get("total", self.total)
        self.failed = event.get("failed", self.failed)
        # The best row that did not fail (failed rows rank last, but a top may hold nothing else).
        self.best = next((row for row in event.get("top") or [] if "error" not in row), self.best)
        if self.bar is None:
            total = "?" if self.total is None else self.total
            say(self.console, f"[{self.done}/{total}] {self.describe()}")
        self._refresh()

    def on_fold(self, fold: dict[str, Any]) -> None:
        say(self.console, fold_line(fold))
        self.best = None  # the next fold's sweep starts over

    def describe(self) -> str:
        """``fold 2; 1 failed; best sharpe_ratio 1.12 (price_change_threshold=-0.05)``"""
        parts = [f"fold {self.fold}"] if self.fold is not None else []
        parts += [f"{self.failed} failed"] if self.failed else []
        if self.best is not None:
            value = metric(self.best.get("summary"), self.rank_by)
            parts.append(f"best {self.rank_by} {value} ({params_text(self.best.get('params'))})")
        return "; ".join(parts) or "running"

    def _refresh(self) -> None:
        if self.bar is not None and self._task is not None:
            self.bar.update(self._task, completed=self.done, total=self.total, description=self.describe())


def fold_line(fold: dict[str, Any]) -> str:
    """``fold 1: in-sample 2020-01-01 to 2020-12-17, chose threshold=-0.05; sharpe_ratio 1.40 in, ...``"""
    head = f"fold {fold.get('fold', '?')}"
    if "error" in fold:
        code, message = error_of(fold)
        return f"{head} failed: {code}: {message}"
    window = fold.get("in_sample") or {}
    line = f"{head}: in-sample {window.get('start_date')} to {window.get('end_date')}"
    line += f", chose {params_text(fold.get('params')) or 'the request as is'}"
    if degradation := fold.get("degradation"):
        name, given = str(degradation.get("metric", "?")), degradation.get
        line += f"; {name} {metric_value(given('in_sample'), name)} in sample"
        line += f", {metric_value(given('out_of_sample'), name)} out of sample"
        line += f" ({number(given('change'), '{:+,.2f}')})"
    return line


def print_summary(out: Console, answer: dict[str, Any]) -> None:
    data = answer.get("data") or {}
    meta = data.get("metadata") or {}
    if "walk_forward" in data:
        print_folds(out, meta, data["walk_forward"] or {})
    else:
        print_ranked(out, meta, data.get("rows") or [])
    calls = number(meta.get("calls_total"), "{:,}")
    executed = number(meta.get("execution_time_ms"), "{:,.0f}")
    say(out, f"calls: {calls}; request {meta.get('request_id', 'n/a')}; executed in {executed} ms")
    print_data_note(out, meta)


def _ranking(meta: dict[str, Any]) -> tuple[str, str]:
    rank_by = meta.get("rank_by") or DEFAULT_RANK_BY
    order = "lowest first" if meta.get("order") == "ascending" else "highest first"
    return rank_by, f"ranked by {rank_by}, {order}"


def _param_paths(items: list[dict[str, Any]]) -> list[str]:
    """Every grid path the items' ``params`` name, in first-seen order."""
    return list(dict.fromkeys(path for item in items for path in (item.get("params") or {})))


def print_ranked(out: Console, meta: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    rank_by, ranking = _ranking(meta)
    count = number(meta.get("combinations", len(rows)), "{:,}")
    title = f"Sweep {ranking}: {count} combinations, {number(meta.get('failed', 0), '{:,}')} failed"
    print_table(out, ranked_table(title, rank_by, rows))
    failed = [row for row in rows if "error" in row]
    for row in failed[:FAILURES_LISTED]:
        code, message = error_of(row)
        params = params_text(row.get("params"))
        say(out, f"  combination {row.get('index', '?')} ({params}): {code}: {message}")
    if len(failed) > FAILURES_LISTED:
        say(out, f"  and {len(failed) - FAILURES_LISTED} more failed (--json or --csv for all)")


def ranked_table(title: str, rank_by: str, rows: list[dict[str, Any]]) -> Table:
    """The rows in their ranks: a column per grid path, the rank metric then ``COLUMNS``, and the
    error's code for failed rows (``orchestrator job`` shows a job's rows with it too)."""
    table = Table(title=Text(title), title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    paths = _param_paths(rows)
    names = short_names(paths)
    metrics = [rank_by, *(key for key in COLUMNS if key != rank_by)]
    failed = [row for row in rows if "error" in row]
    table.add_column("Rank", justify="right")
    for path in paths:
        table.add_column(Text(names[path]))
    for key in metrics:
        table.add_column(Text(metric_label(key)), justify="right", style="bold" if key == rank_by else None)
    if failed:
        table.add_column("Error")
    for row in rows:
        params, summary = row.get("params") or {}, row.get("summary")
        cells = ["-" if row.get("rank") is None else str(row["rank"])]
        cells += [value_text(params[path]) if path in params else "" for path in paths]
        if "error" in row:
            cells += [""] * len(metrics) + [error_of(row)[0]]
        else:
            cells += [metric(summary, key) for key in metrics] + ([""] if failed else [])
        table.add_row(*(Text(cell) for cell in cells))
    return table


def _window(window: dict[str, Any] | None) -> str:
    """``2020-01-01 to 2020-12-17 (252 d)``; the days only when given."""
    if not window:
        return ""
    days = window.get("days")
    return f"{window.get('start_date')} to {window.get('end_date')}" + (f" ({days} d)" if days else "")


def print_folds(out: Console, meta: dict[str, Any], walk: dict[str, Any]) -> None:
    rank_by, ranking = _ranking(meta)
    folds = walk.get("folds") or []
    title = f"Walk-forward {ranking}: {counted(len(folds), 'fold')}"
    table = Table(title=Text(title), title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    paths = _param_paths(folds)
    names = short_names(paths)
    failed = any("error" in fold for fold in folds)
    table.add_column("Fold", justify="right")
    table.add_column("In sample")
    table.add_column("Out of sample")
    for path in paths:
        table.add_column(Text(names[path]))
    for label in ("in sample", "out of sample"):
        table.add_column(Text(f"{metric_label(rank_by)} {label}"), justify="right")
    table.add_column("Change", justify="right")
    if failed:
        table.add_column("Error")
    for fold in folds:
        params = fold.get("params") or {}
        degradation = fold.get("degradation") or {}
        cells = [
            str(fold.get("fold", "?")),
            _window(fold.get("in_sample")),
            _window(fold.get("out_of_sample")),
        ]
        cells += [value_text(params[path]) if path in params else "" for path in paths]
        if "error" in fold:
            cells += ["", "", "", error_of(fold)[0]]
        else:
            windows = ("in_sample", "out_of_sample")
            cells += [metric_value(degradation.get(window), rank_by) for window in windows]
            cells += [number(degradation.get("change"), "{:+,.2f}")] + ([""] if failed else [])
        table.add_row(*(Text(cell) for cell in cells))
    print_table(out, table)
    for fold in folds:
        if "error" in fold:
            code, message = error_of(fold)
            say(out, f"  fold {fold.get('fold', '?')}: {code}: {message}")
    joined = walk.get("out_of_sample") or {}
    count, total_return = joined.get("folds"), number(joined.get("total_return_pct"), "{:+,.2f}")
    joined_from = counted(count, "fold") if isinstance(count, int) else "no folds"
    window = _window(joined) or "none"
    say(out, f"\nOut of sample, joined from {joined_from}: {window}, total return {total_return} %")


EXCHANGE = Exchange(
    OrchestratorClient.sweep, request_body, SweepDisplay, print_summary, csv=OrchestratorClient.sweep_csv
)
