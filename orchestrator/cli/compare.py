"""``orchestrator compare``: run several strategies side by side on a running orchestrator.

The request is a backtest's, from the same market and portfolio flags as ``orchestrator backtest``,
with ``--strategy 'NAME:TYPE[:JSON_CONFIG]'`` once per strategy: the ``POST /api/compare`` body of
docs/api.md. It is streamed: a progress bar steps once per call, with under it each strategy's calls
(``signals.<name>``, ``simulate.<name>``, ``metrics.<name>``) as the events name them; then a table
has one row per strategy and the baseline. Exit codes as ``orchestrator backtest``'s.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from orchestrator.cli import options
from orchestrator.cli.client import (
    Display,
    Exchange,
    StageBar,
    counted,
    market_title,
    metric,
    metric_label,
    number,
    print_data_note,
    print_table,
    runner,
    say,
    send,
    stage_lines,
)
from orchestrator.client import OrchestratorClient

#: The table's metric columns, after the name and the type.
COLUMNS = ("total_return_pct", "annualized_return_pct", "sharpe_ratio", "max_drawdown_pct", "total_trades")
#: How each state of a call shows in the lines under the bar.
MARKS = {"started": "…", "done": "✓", "failed": "✗"}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "compare",
        help="run several strategies on the same data and print them side by side",
        description="Run several strategies on the same market data and one baseline on a running "
        "orchestrator, show the progress, print one row per strategy and the baseline.",
        epilog=options.EXIT_STATUS,
    )
    options.add_market_options(parser)
    parser.add_argument_group("strategies").add_argument(
        "--strategy",
        dest="strategies",
        action="append",
        required=True,
        type=strategy_spec,
        metavar="NAME:TYPE[:JSON_CONFIG]",
        help="a strategy to run, named (no colon in the name): e.g. "
        """'dip 5%%:buy_the_dip:{"price_change_threshold": -0.05}' or 'monthly:dollar_cost_average'; """
        "repeatable",
    )
    options.add_portfolio_options(parser)
    options.add_client_options(parser)
    parser.set_defaults(run=runner(compare))


def strategy_spec(text: str) -> dict[str, Any]:
    """An argparse type: ``NAME:TYPE[:JSON_CONFIG]`` as one of the request's ``strategies``."""
    name, _, rest = text.partition(":")
    strategy_type, _, config = rest.partition(":")
    if not name.strip() or not strategy_type.strip():
        raise argparse.ArgumentTypeError(f"expected NAME:TYPE[:JSON_CONFIG], got {text!r}")
    try:
        parsed = options.json_object(config) if config.strip() else {}
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"{name}: the config {error}") from None
    return {"name": name, "strategy_type": strategy_type.strip(), "config": parsed}


def request_body(args: argparse.Namespace) -> dict[str, Any]:
    """The ``POST /api/compare`` body of docs/api.md."""
    market = options.market_and_portfolio(args)
    return {"market_params": market.pop("market_params"), "strategies": args.strategies, **market}


async def compare(args: argparse.Namespace, out: Console, err: Console) -> int:
    """The command, awaitable so that tests can drive it with their own consoles."""
    return await send(EXCHANGE, args, out, err)


class CompareBar(StageBar):
    """The stage bar, and under it one line per strategy with the state of each of its calls.

    A call is a strategy's when its stage is ``<call>.<name>``; the others (the market data, the
    baseline) share a line of their own."""

    def __init__(self, console: Console, names: list[str]) -> None:
        self.calls: dict[str, dict[str, str]] = {name: {} for name in names}  # by strategy, by call
        self.shared: dict[str, str] = {}  # by stage
        super().__init__(console)  # which renders: the above first

    def on_event(self, event: dict[str, Any]) -> None:
        stage, state = str(event.get("stage", "?")), str(event.get("state", "?"))
        call, _, name = stage.partition(".")
        if name in self.calls:
            self.calls[name][call] = state
        else:
            self.shared[stage] = state
        super().on_event(event)

    def strategy_lines(self) -> Table:
        """``dip 5%   signals ✓  simulate …`` for each strategy, then the shared calls."""
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column()
        for name, calls in [*self.calls.items(), ("(shared)", self.shared)]:
            shown = "  ".join(f"{call} {MARKS.get(state, state)}" for call, state in calls.items())
            grid.add_row(Text(f"  {name}"), Text(shown or "waiting"))
        return grid

    def get_renderables(self) -> Iterable[RenderableType]:
        yield from super().get_renderables()
        yield self.strategy_lines()


def compare_display(console: Console, bar: bool, body: dict[str, Any]) -> Display:
    if not bar:
        return stage_lines(console)
    return CompareBar(console, [str(strategy.get("name")) for strategy in body.get("strategies") or []])


def print_summary(out: Console, answer: dict[str, Any]) -> None:
    data = answer.get("data") or {}
    meta = data.get("metadata") or {}
    strategies = data.get("strategies") or []
    title = f"{market_title(meta)}: {counted(len(strategies), 'strategy', 'strategies')} and the baseline"
    table = Table(title=Text(title), title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("Strategy")
    table.add_column("Type")
    for key in COLUMNS:
        table.add_column(Text(metric_label(key)), justify="right")
    table.add_column("Excess return pp", justify="right")
    for strategy in strategies:
        excess = number((strategy.get("comparison") or {}).get("excess_return_pct"), "{:+,.2f}")
        name, kind = Text(str(strategy.get("name"))), Text(str(strategy.get("strategy_type")))
        table.add_row(name, kind, *(metric(strategy.get("summary"), key) for key in COLUMNS), excess)
    baseline = (data.get("baseline_strategy") or {}).get("summary")
    table.add_section()
    table.add_row("baseline", "buy_and_hold", *(metric(baseline, key) for key in COLUMNS), "")
    print_table(out, table)
    executed = number(meta.get("execution_time_ms"), "{:,.0f}")
    say(out, f"request {meta.get('request_id', 'n/a')}; executed in {executed} ms")
    print_data_note(out, meta)


EXCHANGE = Exchange(OrchestratorClient.compare, request_body, compare_display, print_summary)
