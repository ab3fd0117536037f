"""``orchestrator backtest``: send one backtest to a running orchestrator and print how it went.

The request is streamed (``Accept: text/event-stream``) so progress shows while it runs: a rich
progress bar on a terminal, plain lines otherwise. Exit codes: 0 a result, 1 the orchestrator
answered with an error, 2 no usable answer (not reachable, timed out, cut off), 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.cli import options
from orchestrator.cli.client import (
    Display,
    Exchange,
    StageBar,
    market_title,
    number,
    print_data_note,
    runner,
    say,
    send,
    stage_lines,
)
from orchestrator.cli.options import request_body
from orchestrator.client import OrchestratorClient


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "backtest",
        help="run a backtest on a running orchestrator and print a summary",
        description="Send a backtest to a running orchestrator, show its progress, print a summary.",
        epilog=options.EXIT_STATUS,
    )
    options.add_market_options(parser)
    options.add_strategy_options(parser)
    options.add_portfolio_options(parser)
    options.add_client_options(parser)
    parser.set_defaults(run=runner(backtest))


def stage_display(console: Console, bar: bool, _body: dict[str, Any]) -> Display:
    return StageBar(console) if bar else stage_lines(console)


async def backtest(args: argparse.Namespace, out: Console, err: Console) -> int:
    """The command, awaitable so that tests can drive it with their own consoles."""
    return await send(EXCHANGE, args, out, err)


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


def print_summary(out: Console, answer: dict[str, Any]) -> None:
    data = answer.get("data") or {}
    meta, comparison = data.get("metadata") or {}, data.get("comparison") or {}
    active = (data.get("active_strategy") or {}).get("summary") or {}
    baseline = (data.get("baseline_strategy") or {}).get("summary") or {}
    field = meta.get
    table = Table(title=Text(market_title(meta)), title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("")
    table.add_column(Text(f"{field('strategy_type', 'active')} (active)"), justify="right")
    table.add_column("buy_and_hold (baseline)", justify="right")
    for label, key, template in SUMMARY_ROWS:
        table.add_row(label, number(active.get(key), template), number(baseline.get(key), template))
    out.print()
    out.print(table)
    say(out, "\nCompared with the baseline:")
    for label, key, unit in COMPARISON_ROWS:
        say(out, f"  {label:<18} {number(comparison.get(key), '{:+,.2f}')}{unit}")
    trades = number(active.get("total_trades"), "{:,}")
    executed = number(field("execution_time_ms"), "{:,.0f}")
    say(out, f"trades: {trades}; request {field('request_id', 'n/a')}; executed in {executed} ms")
    print_data_note(out, meta)


EXCHANGE = Exchange(OrchestratorClient.backtest, request_body, stage_display, print_summary)
