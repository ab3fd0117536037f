"""What the client commands (``backtest``, ``sweep``, ``compare``) share: one exchange from the flags
to the exit status, the progress shown while it streams, and the pieces of their printouts.

Exit codes: 0 an answer, 1 the orchestrator answered with an error, 2 no usable answer (bad flags,
not reachable, timed out, cut off), 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from rich import progress
from rich.console import Console
from rich.measure import Measurement
from rich.table import Column, Table

from orchestrator.client import Failed, Handlers, OnEvent, OrchestratorClient, Reply


class Display(Protocol):
    """Shows a stream's progress while it is open: a context manager with a handler per event name."""

    handlers: Mapping[str, OnEvent]

    def __enter__(self) -> Any: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> Any: ...


class Lines:
    """Progress as plain lines, for pipes, logs and ``--no-progress``: nothing to open or close."""

    def __init__(self, handlers: Mapping[str, OnEvent]) -> None:
        self.handlers = handlers

    def __enter__(self) -> Lines:
        return self

    def __exit__(self, *_: object) -> None:
        return None


@dataclass(frozen=True)
class Exchange:
    """One command's request: the client's method that streams it (and the one that fetches its CSV
    export, for ``--csv``), how its body, progress and printout are made."""

    stream: Callable[[OrchestratorClient, dict[str, Any], Handlers], Awaitable[Reply]]
    body: Callable[[argparse.Namespace], dict[str, Any]]  # raises ValueError on flags that do not fit
    display: Callable[[Console, bool, dict[str, Any]], Display]  # (where, whether as a live bar, body)
    summarise: Callable[[Console, dict[str, Any]], None]
    csv: Callable[[OrchestratorClient, dict[str, Any]], Awaitable[str]] | None = None


def runner(
    command: Callable[[argparse.Namespace, Console, Console], Coroutine[Any, Any, int]],
) -> Callable[..., int]:
    """The ``run`` of a subcommand: the command on a fresh event loop, with the real consoles."""

    def run(args: argparse.Namespace) -> int:
        try:
            return asyncio.run(command(args, Console(), Console(stderr=True)))
        except KeyboardInterrupt:
            return 130  # asyncio.run has cancelled the request, which closes the stream

    return run


async def send(exchange: Exchange, args: argparse.Namespace, out: Console, err: Console) -> int:
    """Build the body, stream it (or fetch its CSV with ``args.csv``), print the answer: the exit status."""
    try:
        body = exchange.body(args)
    except ValueError as error:
        say(err, f"error: {error}")
        return 2
    shown_on = err if args.json else out  # with --json, stdout carries the answer and nothing else
    try:
        async with OrchestratorClient(args.url, args.timeout) as client:
            if exchange.csv is not None and getattr(args, "csv", False):
                csv = await exchange.csv(client, body)
                out.file.write(csv if csv.endswith(("\n", "\r")) else csv + "\n")
                out.file.flush()
                return 0
            display = exchange.display(shown_on, shown_on.is_terminal and not args.no_progress, body)
            with display:
                reply = await exchange.stream(client, body, display.handlers)
    except Failed as failure:
        say(err, str(failure))
        return failure.exit_code
    if args.json:
        out.file.write(reply.text + "\n")
        out.file.flush()
    else:
        exchange.summarise(out, reply.envelope)
    return 0


def say(console: Console, text: str) -> None:
    """Print text as it is: server strings may hold ``[brackets]`` that rich would read as markup."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def number(value: Any, template: str) -> str:
    """A number as ``template`` formats it; ``n/a`` for anything else (a null metric)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "n/a"
    return template.format(value)


def counted(count: Any, noun: str, plural: str = "") -> str:
    """``1 fold``, ``3 folds``."""
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"


def progress_line(event: dict[str, Any]) -> str:
    """``[3/7] signals.active done in 120 ms (signals: 14)``"""
    count, stage = f"[{event.get('done', '?')}/{event.get('total', '?')}]", event.get("stage", "?")
    line = f"{count} {stage} {event.get('state', '?')}"
    if isinstance(duration := event.get("duration_ms"), int | float):
        line += f" {'after' if event.get('state') == 'failed' else 'in'} {duration:.0f} ms"
    if facts := event.get("facts"):
        line += " (" + ", ".join(f"{key}: {value}" for key, value in facts.items()) + ")"
    return line + (f" ({event['error']})" if event.get("error") else "")


def stage_lines(console: Console) -> Lines:
    """A backtest's (or comparison's) ``progress`` events, one plain line each."""
    return Lines({"progress": lambda event: say(console, progress_line(event))})


def bar_columns(width: int) -> tuple[progress.ProgressColumn, ...]:
    """A spinner, the task's description in ``width`` columns, the bar, done/total, the time elapsed."""
    # A fixed width for the description, so that the bar does not jump as it changes.
    fixed = Column(width=width, no_wrap=True)
    description = progress.TextColumn("{task.description}", markup=False, table_column=fixed)
    return (
        progress.SpinnerColumn(),
        description,
        progress.BarColumn(),
        progress.MofNCompleteColumn(),
        progress.TimeElapsedColumn(),
    )


class StageBar(progress.Progress):
    """A live bar that steps once per finished call, describing the calls still running.

    How many calls there are is what the events say (their ``total``): the client knows nothing of
    the graph behind the API."""

    def __init__(self, console: Console) -> None:
        super().__init__(*bar_columns(42), console=console)
        self._task = self.add_task("sending", total=None)
        self._running: list[str] = []
        self.handlers: Mapping[str, OnEvent] = {"progress": self.on_event}

    def on_event(self, event: dict[str, Any]) -> None:
        stage, state = str(event.get("stage", "?")), event.get("state")
        if state == "started":
            self._running.append(stage)
        elif stage in self._running:
            self._running.remove(stage)
        if state == "failed":  # printed above the bar, so it stays visible
            say(self.console, progress_line(event))
        done, total = event.get("done", 0), event.get("total")
        description = ", ".join(self._running) or ("done" if done == total else "waiting")
        self.update(self._task, completed=done, total=total, description=description)


def print_table(out: Console, table: Table) -> None:
    """A blank line and the table: fitted to a terminal, whole (its natural width) anywhere else."""
    out.print()
    if out.is_terminal:
        out.print(table)
    else:  # a file or a pipe does not wrap: a wide table is better whole than cut to 80 columns
        unbounded = out.options.update(max_width=100_000)
        width = max(out.width, Measurement.get(out, unbounded, table).maximum)
        Console(file=out.file, width=width, no_color=out.no_color).print(table)


def market_title(meta: dict[str, Any]) -> str:
    """``TQQQ 2020-01-01 to 2022-01-01 (daily)`` from an answer's metadata."""
    field = meta.get
    return f"{field('ticker')} {field('start_date')} to {field('end_date')} ({field('frequency')})"


def print_data_note(out: Console, meta: dict[str, Any]) -> None:
    """Say so when the prices were not real market data, and whose they were (the page says the same).
    A sweep's answer has a source per market (``data_sources``): the first that is not real is told."""
    for source in meta.get("data_sources") or [meta.get("data_source") or {}]:
        test_data = meta.get("use_test_data") or source.get("service") == "test_data"
        if test_data or source.get("synthetic"):
            kind = "the test-data fixture" if test_data else "synthetic sample data"
            said = [f"provider {source['provider']}"] if source.get("provider") else []
            said += [f"{source['calendar']} sessions"] if source.get("calendar") else []
            detail = f" ({', '.join(said)})" if said else ""
            say(out, f"Note: the prices are {kind}{detail}, not real market data.")
            return


#: The summary metrics the tables show: label and format, by key (docs/api.md, "Summary metrics").
METRICS = {
    "total_return_pct": ("Total return %", "{:+,.2f}"),
    "annualized_return_pct": ("Annualised %", "{:+,.2f}"),
    "final_portfolio_value": ("Final value", "{:,.2f}"),
    "total_capital_invested": ("Invested", "{:,.2f}"),
    "max_drawdown_pct": ("Max drawdown %", "{:,.2f}"),
    "volatility_annualized_pct": ("Volatility %", "{:,.2f}"),
    "sharpe_ratio": ("Sharpe", "{:,.2f}"),
    "total_trades": ("Trades", "{:,}"),
    "sortino_ratio": ("Sortino", "{:,.2f}"),
    "calmar_ratio": ("Calmar", "{:,.2f}"),
    "max_drawdown_duration_days": ("Drawdown days", "{:,}"),
    "total_dividends_received": ("Dividends", "{:,.2f}"),
    "total_transaction_costs": ("Costs", "{:,.2f}"),
}


def metric_label(key: str) -> str:
    return METRICS[key][0] if key in METRICS else key


def metric_value(value: Any, key: str) -> str:
    """A value of the metric ``key``, formatted for a table; ``n/a`` when null."""
    return number(value, METRICS[key][1] if key in METRICS else "{:,.4g}")


def metric(summary: dict[str, Any] | None, key: str) -> str:
    """One metric of a summary, formatted for a table; ``n/a`` when missing or null."""
    return metric_value((summary or {}).get(key), key)


def error_of(item: dict[str, Any]) -> tuple[str, str]:
    """The code and message of an item's ``error`` (the envelope's error object, or a bare string)."""
    error = item.get("error")
    if isinstance(error, dict):
        return str(error.get("code", "UNKNOWN")), str(error.get("message", ""))
    return ("ERROR", str(error)) if error else ("FAILED", "(no message)")
