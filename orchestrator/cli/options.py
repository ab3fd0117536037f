"""The flags the client commands share, and the parts of a backtest request they make.

``backtest`` and ``sweep`` take all of them; ``compare`` takes all but the strategy's, which its own
``--strategy NAME:TYPE[:JSON]`` replaces. The request fields are those of docs/contract.md.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8011"
PERIODS = ("daily", "weekly", "monthly")
EXIT_STATUS = "Exit status: 0 done, 1 the orchestrator answered with an error, 2 no usable answer."


def json_object(text: str) -> dict[str, Any]:
    """An argparse type: a JSON object."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def add_market_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """``required=False`` for a command that takes the request another way too (``job submit --body``)."""
    group = parser.add_argument_group("market")
    add = group.add_argument
    add("--ticker", required=required, help="e.g. TQQQ")
    add("--start", required=required, metavar="YYYY-MM-DD", help="first day")
    add("--end", required=required, metavar="YYYY-MM-DD", help="last day")
    add("--market-type", default="ETF", metavar="TYPE", help="Stock, ETF, Index, ... (default ETF)")
    add("--frequency", choices=PERIODS, default="daily", help="price bars (default daily)")
    add("--test-data", action="store_true", help="use the fixed test-data series (use_test_data)")


def add_strategy_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("strategy")
    add = group.add_argument
    add("--strategy", default="buy_the_dip", metavar="NAME", help="strategy_type (default buy_the_dip)")
    add("--threshold", type=float, metavar="FRACTION", help="buy_the_dip: the drop that buys, e.g. -0.05")
    add("--lookback", choices=PERIODS, help="buy_the_dip: the period that drop is measured over")
    add("--config", type=json_object, default={}, metavar="JSON", help="strategy config to merge in")


def add_portfolio_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("portfolio")
    add = group.add_argument
    add("--capital", type=float, default=10000.0, metavar="AMOUNT", help="initial capital (default 10000)")
    add("--per-trade", type=float, default=100.0, metavar="AMOUNT", help="amount per buy (default 100)")
    add("--baseline-capital", type=float, metavar="AMOUNT", help="buy-and-hold capital (default --capital)")
    add("--no-reinvest", action="store_true", help="keep dividends as cash (active and baseline)")
    add("--cost-pct", type=float, default=0.0, metavar="PCT", help="transaction_cost_pct (default 0)")
    add("--interest-pct", type=float, default=0.0, metavar="PCT", help="cash_interest_rate_pct (default 0)")


def add_client_options(parser: argparse.ArgumentParser, timeout_s: float = 300.0) -> argparse._ArgumentGroup:
    """``--url``, ``--json``, ``--no-progress``, ``--api-key`` or ``--token``, ``--timeout``; returns
    the mutually exclusive group that holds ``--json``, for a command's other forms of the answer."""
    group = parser.add_argument_group("client")
    add = group.add_argument
    url = os.environ.get("ORCHESTRATOR_URL", DEFAULT_URL)
    add("--url", default=url, help=f"the orchestrator (default $ORCHESTRATOR_URL or {DEFAULT_URL})")
    answer = group.add_mutually_exclusive_group()
    json_help = "print the raw JSON answer only (progress goes to stderr)"
    answer.add_argument("--json", action="store_true", help=json_help)
    add("--no-progress", action="store_true", help="plain progress lines instead of a progress bar")
    credential = group.add_mutually_exclusive_group()
    key_help = "an API key, when the orchestrator asks for one (default $ORCHESTRATOR_API_KEY)"
    credential.add_argument("--api-key", default=os.environ.get("ORCHESTRATOR_API_KEY"), help=key_help)
    credential.add_argument("--token", metavar="JWT", help="a bearer token from your identity provider")
    timeout = f"give up after (default {timeout_s:g})"
    add("--timeout", type=float, default=timeout_s, metavar="SECONDS", help=timeout)
    return answer


def credentials(args: argparse.Namespace) -> dict[str, str | None]:
    """The client's credential from the flags: ``--token`` over ``$ORCHESTRATOR_API_KEY``."""
    if args.token:
        return {"token": args.token}
    return {"api_key": args.api_key}


def strategy_params(args: argparse.Namespace) -> dict[str, Any]:
    """``strategy_params`` from the strategy flags; raises ValueError on flags that do not fit."""
    dip = {"price_change_threshold": args.threshold, "lookback_period": args.lookback}
    dip = {key: value for key, value in dip.items() if value is not None}
    if dip and args.strategy != "buy_the_dip":
        raise ValueError(f"--threshold and --lookback are for buy_the_dip; use --config for {args.strategy}")
    # Explicit flags win over the same keys given in --config.
    return {"strategy_type": args.strategy, "config": {**args.config, **dip}}


def market_and_portfolio(args: argparse.Namespace) -> dict[str, Any]:
    """Every field of a backtest request but ``strategy_params``, from the market and portfolio flags."""
    reinvest = not args.no_reinvest
    return {
        "market_params": {
            "ticker": args.ticker,
            "market_type": args.market_type,
            "start_date": args.start,
            "end_date": args.end,
            "frequency": args.frequency,
        },
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


def request_body(args: argparse.Namespace) -> dict[str, Any]:
    """The ``POST /api/backtest`` body of docs/contract.md; raises ValueError on flags that do not fit."""
    market, strategy = market_and_portfolio(args), strategy_params(args)
    return {"market_params": market.pop("market_params"), "strategy_params": strategy, **market}
