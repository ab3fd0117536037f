"""``orchestrator backtest``: send one backtest to a running orchestrator and print how it went.

The request is streamed (``Accept: text/event-stream``) so progress shows while it runs: a rich
progress bar on a terminal, plain lines otherwise. Exit codes: 0 a result, 1 the orchestrator
answered with an error, 2 no usable answer (not reachable, timed out, cut off), 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from contextlib import nullcontext
from typing import Any

from rich import box, progress
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from orchestrator.cli.sse_client import Failed, fetch

DEFAULT_URL = "http://127.0.0.1:8011"
PERIODS = ("daily", "weekly", "monthly")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "backtest",
        help="run a backtest on a running orchestrator and print a summary",
        description="Send a backtest to a running orchestrator, show its progress, print a summary.",
        epilog="Exit status: 0 done, 1 the orchestrator answered with an error, 2 no usable answer.",
    )
    add = parser.add_argument
    add("--ticker", required=True, help="e.g. TQQQ")
    add("--start", required=True, metavar="YYYY-MM-DD", help="first day")
    add("--end", required=True, metavar="YYYY-MM-DD", help="last day")
    add("--strategy", default="buy_the_dip", metavar="NAME", help="strategy_type (default buy_the_dip)")
    add("--threshold", type=float, metavar="FRACTION", help="buy_the_dip: the drop that buys, e.g. -0.05")
    add("--lookback", choices=PERIODS, help="buy_the_dip: the period that drop is measured over")
    add("--market-type", default="ETF", metavar="TYPE", help="Stock, ETF, Index, ... (default ETF)")
    add("--frequency", choices=PERIODS, default="daily", help="price bars (default daily)")
    add("--capital", type=float, default=10000.0, metavar="AMOUNT", help="initial capital (default 10000)")
    add("--per-trade", type=float, default=100.0, metavar="AMOUNT", help="amount per buy (default 100)")
    add("--baseline-capital", type=float, metavar="AMOUNT", help="buy-and-hold capital (default --capital)")
    add("--no-reinvest", action="store_true", help="keep dividends as cash (active and baseline)")
    add("--cost-pct", type=float, default=0.0, metavar="PCT", help="transaction_cost_pct (default 0)")
    add("--interest-pct", type=float, default=0.0, metavar="PCT", help="cash_interest_rate_pct (default 0)")
    add("--config", type=_json_object, default={}, metavar="JSON", help="strategy config to merge in")
    add("--test-data", action="store_true", help="use the fixed test-data series (use_test_data)")
    url = os.environ.get("ORCHESTRATOR_URL", DEFAULT_URL)
    add("--url", default=url, help=f"the orchestrator (default $ORCHESTRATOR_URL or {DEFAULT_URL})")
    add("--json", action="store_true", help="print the raw JSON answer only (progress goes to stderr)")
    add("--no-progress", action="store_true", help="plain progress lines instead of a progress bar")
    add("--timeout", type=float, default=300.0, metavar="SECONDS", help="give up after (default 300)")
    parser.set_defaults(run=run)


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def request_body(args: argparse.Namespace) -> dict[str, Any]:
    """The ``POST /api/backtest`` body of docs/contract.md; raises ValueError on flags that do not fit."""
    dip = {"price_change_threshold": args.threshold, "lookback_period": args.lookback}
    dip = {key: value for key, value in dip.items() if value is not None}
    if dip and args.strategy != "buy_the_dip":
        raise ValueError(f"--threshold and --lookback are for buy_the_dip; use --config for {args.strategy}")
    reinvest = not args.no_reinvest
    return {
        "market_params": {
            "ticker": args.ticker,
            "market_type": args.market_type,
            "start_date": args.start,
            "end_date": args.end,
            "frequency": args.frequency,
        },
        # Explicit flags win over the same keys given in --config.
        "strategy_params": {"strategy_type": args.strategy, "config": {**args.config, **dip}},
        "portfolio_params": {
            "initial_capital": args.capital,
            "investment_per_trade": args.per_trade,
            "reinvest_dividends": reinvest,
            "transaction_cost_pct": args.cost_pct,
            "cash_interest_rate_pct": args.interest_pct,
        },
        "baseline_params": {
            "initial_capital": args.capital if args.baseline_capital is None else args.baseline_capital,
            "reinvest_dividends": reinvest,
        },
        "use_test_data": args.test_data,
    }


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(backtest(args, Console(), Console(stderr=True)))
    except KeyboardInterrupt:
        return 130  # asyncio.run has cancelled the request, which closes the stream


async def backtest(args: argparse.Namespace, out: Console, err: Console) -> int:
    """The command, awaitable so that tests can drive it with their own consoles."""
    try:
        body = request_body(args)
    except ValueError as error:
        say(err, f"error: {error}")
        return 2
    shown_on = err if args.json else out  # with --json, stdout carries the answer and nothing else
    if shown_on.is_terminal and not args.no_progress:
        bar = StageBar(shown_on)
        showing, on_progress = bar, bar.on_event
    else:  # one plain line per event, for pipes, logs and --no-progress
        showing, on_progress = nullcontext(), lambda event: say(shown_on, progress_line(event))
    try:
        with showing:
            raw, answer = await fetch(args.url, body, args.timeout, on_progress)
    except Failed as failure:
        say(err, str(failure))
        return failure.exit_code
    if args.json:
        out.file.write(raw + "\n")
        out.file.flush()
    else:
        print_summary(out, answer)
    return 0


def say(console: Console, text: str) -> None:
    """Print text as it is: server strings may hold ``[brackets]`` that rich would read as markup."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def progress_line(event: dict[str, Any]) -> str:
    """``[3/7] signals.active done in 120 ms (signals: 14)``"""
    count, stage = f"[{event.get('done', '?')}/{event.get('total', '?')}]", event.get("stage", "?")
    line = f"{count} {stage} {event.get('state', '?')}"
    if isinstance(duration := event.get("duration_ms"), int | float):
        line += f" {'after' if event.get('state') == 'failed' else 'in'} {duration:.0f} ms"
    if facts := event.get("facts"):
        line += " (" + ", ".join(f"{key}: {value}" for key, value in facts.items()) + ")"
    return line + (f" ({event['error']})" if event.get("error") else "")


class StageBar(progress.Progress):
    """A live bar that steps once per finished call, describing the calls still running.

    How many calls there are is what the events say (their ``total``): the client knows nothing of
    the graph behind the API."""

    def __init__(self, console: Console) -> None:
        # A fixed width for the stages running, so that the bar does not jump as they change.
        fixed = Column(width=42, no_wrap=True)
        stages = progress.TextColumn("{task.description}", markup=False, table_column=fixed)
        columns = (progress.SpinnerColumn(), stages)
        columns += (progress.BarColumn(), progress.MofNCompleteColumn(), progress.TimeElapsedColumn())
        super().__init__(*columns, console=console)
        self._task = self.add_task("sending", total=None)
        self._running: list[str] = []

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


SUMMARY_ROWS = (
    ("Total return %", "total_return_pct", "{:+,.2f}"),
    ("Annualised return %", "annualized_return_pct", "{:+,.2f}"),
    ("Final value", "final_portfolio_value", "{:,.2f}"),
    ("Invested", "total_capital_invested", "{:,.2f}"),
    ("Max drawdown %", "max_drawdown_pct", "{:,.2f}"),
    ("Volatility %", "volatility_annualized_pct", "{:,.2f}"),
    ("Sharpe", "sharpe_ratio", "{:,.2f}"),
    ("Trades", "total_trades", "{:,}"),
)


COMPARISON_ROWS = (
    ("excess return", "excess_return_pct", " pp"),
    ("excess Sharpe", "excess_sharpe", ""),
    ("reduced drawdown", "reduced_drawdown_pct", " pp"),
)


def _number(value: Any, template: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "n/a"
    return template.format(value)


def print_summary(out: Console, answer: dict[str, Any]) -> None:
    data = answer.get("data") or {}
    meta, comparison = data.get("metadata") or {}, data.get("comparison") or {}
    active = (data.get("active_strategy") or {}).get("summary") or {}
    baseline = (data.get("baseline_strategy") or {}).get("summary") or {}
    field = meta.get
    title = f"{field('ticker')} {field('start_date')} to {field('end_date')} ({field('frequency')})"
    table = Table(title=Text(title), title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("")
    table.add_column(Text(f"{field('strategy_type', 'active')} (active)"), justify="right")
    table.add_column("buy_and_hold (baseline)", justify="right")
    for label, key, template in SUMMARY_ROWS:
        table.add_row(label, _number(active.get(key), template), _number(baseline.get(key), template))
    out.print()
    out.print(table)
    say(out, "\nCompared with the baseline:")
    for label, key, unit in COMPARISON_ROWS:
        say(out, f"  {label:<18} {_number(comparison.get(key), '{:+,.2f}')}{unit}")
    trades = _number(active.get("total_trades"), "{:,}")
    executed = _number(field("execution_time_ms"), "{:,.0f}")
    say(out, f"trades: {trades}; request {field('request_id', 'n/a')}; executed in {executed} ms")
    synthetic = (field("data_source") or {}).get("synthetic") or field("synthetic")
    if field("use_test_data") or synthetic:
        kind = "the test-data fixture" if field("use_test_data") else "synthetic sample data"
        say(out, f"Note: the prices are {kind}, not real market data.")
