"""The success answer of a backtest, assembled from what the services said.

Mostly a passing-on: summaries from metrics and the final state, time series as the portfolio
service gave them, trades with our ticker and a trigger sentence, and the comparison renamed to
the public names (or derived from the summaries when the metrics service gives none).

The answer is built as plain dicts around the JSON the services sent (a time series is passed on
as its bytes), serialized once by orjson; ``schemas/responses.py`` describes the same document as
models, for the documentation, and the tests hold the two together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.backtest.fingerprint import fingerprint, of_market
from orchestrator.backtest.triggers import trigger_sentence
from orchestrator.schemas.downstream import Dividends, Metrics, Prices, Scores, Signals, Simulation
from orchestrator.schemas.requests import BacktestRequest


@dataclass(frozen=True, slots=True)
class StrategyRun:
    """One strategy's signals and their simulation."""

    signals: Signals
    simulation: Simulation

    @property
    def nbytes(self) -> int:
        """What the run holds, for the cache's byte bound."""
        return self.signals.nbytes + self.simulation.nbytes


@dataclass(frozen=True, slots=True)
class Gathered:
    """Everything the graph gathered for one backtest: the answers of its seven calls."""

    prices: Prices
    dividends: Dividends
    active: StrategyRun
    baseline: StrategyRun
    metrics: Metrics


Document = dict[str, Any]


def assemble_answer(
    request: BacktestRequest, gathered: Gathered, request_id: str, execution_time_ms: int
) -> Document:
    market, ticker = request.market_params, request.market_params.ticker
    active, baseline = gathered.active, gathered.baseline
    active_summary = _summary(active.simulation, gathered.metrics.active)
    baseline_summary = _summary(baseline.simulation, gathered.metrics.baseline)
    metadata = {
        "ticker": ticker,
        "start_date": market.start_date,
        "end_date": market.end_date,
        "strategy_type": request.strategy_params.strategy_type,
        "execution_time_ms": execution_time_ms,
        "request_id": request_id,
        "market_type": market.market_type,
        "frequency": market.frequency,
        "data_points": gathered.prices.count,
        "use_test_data": request.use_test_data,
        "fingerprint": fingerprint(request, of_market(gathered.prices, gathered.dividends)),
        "data_source": _provenance(gathered.prices.metadata, request.use_test_data),
    }
    data: Document = {
        "metadata": metadata,
        "active_strategy": {
            "summary": active_summary,
            "time_series": active.simulation.time_series,
            "trades": _trades(active, ticker),
        },
        "baseline_strategy": {"summary": baseline_summary, "time_series": baseline.simulation.time_series},
        "comparison": _comparison(gathered.metrics.comparison, active_summary, baseline_summary),
    }
    if "market_data" in request.include:
        data["market_data"] = {"prices": gathered.prices.bars(), "dividends": gathered.dividends.items}
    if "signals" in request.include:
        data["signals"] = active.signals.items
    return {"success": True, "data": data}


def _provenance(said: dict[str, Any] | None, use_test_data: bool) -> Document:
    """Where the prices came from: the service that answered, and what it said of its data (its
    provider, whether they are synthetic, the calendar their days follow); null where it said nothing."""
    return {
        "service": "test_data" if use_test_data else "market_data",
        "provider": None,
        "synthetic": None,
        "calendar": None,
        **(said or {}),
    }


def _summary(simulation: Simulation, scores: Scores) -> Document:
    final = simulation.final_state
    return {
        "total_return_pct": scores.total_return_pct,
        "annualized_return_pct": scores.annualized_return_pct,
        "final_portfolio_value": final.portfolio_value,
        "total_capital_invested": final.total_invested,
        "max_drawdown_pct": scores.max_drawdown_pct,
        "volatility_annualized_pct": scores.volatility_annualized_pct,
        "sharpe_ratio": scores.sharpe_ratio,
        "total_trades": len(simulation.trades),
        "sortino_ratio": scores.sortino_ratio,
        "calmar_ratio": scores.calmar_ratio,
        "max_drawdown_duration_days": scores.max_drawdown_duration_days,
        "total_dividends_received": final.total_dividends_received,
        "total_transaction_costs": final.total_transaction_costs,
    }


def _trades(run: StrategyRun, ticker: str) -> list[Document]:
    details_by_date = {}
    for signal in reversed(run.signals.items):  # the first signal of a day wins
        details_by_date[signal["date"]] = signal["trigger_details"]
    return [
        {
            "date": trade.date,
            "action": trade.action,
            "ticker": ticker,
            "shares": trade.shares,
            "price": trade.price,
            "amount": trade.amount,
            "transaction_cost": trade.transaction_cost,
            "trigger": trigger_sentence(details_by_date.get(trade.date), trade.action),
        }
        for trade in run.simulation.trades
    ]


def _comparison(given: dict[str, Any] | None, active: Document, baseline: Document) -> Document:
    fields = _derived_comparison(active, baseline)
    for name, value in (given or {}).items():
        if value is not None:
            fields["reduced_drawdown_pct" if name == "reduced_max_drawdown_pct" else name] = value
    return fields


def _derived_comparison(active: Document, baseline: Document) -> Document:
    """Active minus baseline for returns and Sharpe; how much less the active strategy fell."""
    return {
        "excess_return_pct": _difference(active["total_return_pct"], baseline["total_return_pct"]),
        "excess_annualized_return_pct": _difference(
            active["annualized_return_pct"], baseline["annualized_return_pct"]
        ),
        "excess_sharpe": _difference(active["sharpe_ratio"], baseline["sharpe_ratio"]),
        # drawdowns are negative: -25 against -35 is 10 points less drawdown
        "reduced_drawdown_pct": _difference(active["max_drawdown_pct"], baseline["max_drawdown_pct"]),
        "reduced_volatility_pct": _difference(
            baseline["volatility_annualized_pct"], active["volatility_annualized_pct"]
        ),
    }


def _difference(minuend: float | None, subtrahend: float | None) -> float | None:
    if minuend is None or subtrahend is None:
        return None
    return round(minuend - subtrahend, 6)
