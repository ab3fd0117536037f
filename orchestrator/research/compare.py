"""Strategies side by side: every strategy's backtest on one market and one baseline run.

::

    market (prices, dividends, baseline run: once) ──┬──> backtest "dip 5%"  ──┐
                                                     ├──> backtest "dip 10%" ──┼──> one document
                                                     └──> backtest "monthly" ──┘

Each strategy's calls are named after it (``signals.dip 5%``) in the shared tracker, so a stream
shows each. Any failure fails the comparison, as a failing call fails a backtest.
"""

from __future__ import annotations

from typing import Any

from reactivex import Observable

from orchestrator.backtest.calls import CallTracker
from orchestrator.backtest.fingerprint import of_request
from orchestrator.backtest.graph import Backtester
from orchestrator.clients.context import CallContext
from orchestrator.errors import InvalidRequest
from orchestrator.limits import RequestLimits
from orchestrator.schemas.requests import BacktestRequest, parse_backtest
from orchestrator.schemas.research import StrategySpec, parse_strategies
from streams import join_named, map_value

Document = dict[str, Any]

#: The baseline run's calls are named after it: no strategy may take the name.
RESERVED = frozenset({"baseline"})


def plan_compare(
    document: Any, limits: RequestLimits, max_strategies: int
) -> list[tuple[StrategySpec, BacktestRequest]]:
    """Each strategy with its backtest request (the document with it as ``strategy_params``)."""
    if not isinstance(document, dict):
        raise InvalidRequest("The request body must be a JSON object", {"errors": []})
    specs = parse_strategies(document, max_strategies)
    for index, spec in enumerate(specs):
        if spec.name in RESERVED:
            message = "is the buy-and-hold baseline's name; choose another"
            raise InvalidRequest(
                f"Invalid request: strategies[{index}].name {message}",
                {"errors": [{"field": f"strategies[{index}].name", "message": message}]},
            )
    base = {key: value for key, value in document.items() if key not in ("strategies", "strategy_params")}
    planned = []
    for index, spec in enumerate(specs):
        strategy = {"strategy_type": spec.strategy_type, "config": spec.config}
        try:
            planned.append((spec, parse_backtest({**base, "strategy_params": strategy}, limits)))
        except InvalidRequest as error:
            for problem in error.details.get("errors", []):
                problem["field"] = problem["field"].replace("strategy_params", f"strategies[{index}]", 1)
            raise
    return planned


def compare_graph(
    backtester: Backtester,
    planned: list[tuple[StrategySpec, BacktestRequest]],
    tracker: CallTracker,
    context: CallContext,
) -> Observable[Document]:
    """The cold graph of one comparison: one market, a backtest per strategy, one document."""
    first = planned[0][1]
    market = backtester.market(first, tracker, context)
    backtests = {
        spec.name: backtester.graph(request, tracker, context, market, name=spec.name)
        for spec, request in planned
    }

    def answer(answers: dict[str, Document]) -> Document:
        return compare_answer(planned, answers)

    return join_named(**backtests).pipe(map_value(answer))


def compare_answer(
    planned: list[tuple[StrategySpec, BacktestRequest]], answers: dict[str, Document]
) -> Document:
    first = answers[planned[0][0].name]["data"]
    metadata = {key: value for key, value in first["metadata"].items() if key != "strategy_type"}
    metadata["strategies"] = [spec.name for spec, _ in planned]
    canonical = {
        "base": planned[0][1].model_dump(mode="json", exclude={"strategy_params", "include"}),
        "strategies": [spec.model_dump(mode="json") for spec, _ in planned],
    }
    metadata["fingerprint"] = {**metadata["fingerprint"], "request": of_request(canonical)}
    strategies = []
    for spec, _ in planned:
        data = answers[spec.name]["data"]
        active = data["active_strategy"]
        strategies.append(
            {
                "name": spec.name,
                "strategy_type": spec.strategy_type,
                "config": spec.config,
                "summary": active["summary"],
                "time_series": active["time_series"],
                "trades": active["trades"],
                "comparison": data["comparison"],
            }
        )
    data = {"metadata": metadata, "strategies": strategies, "baseline_strategy": first["baseline_strategy"]}
    return {"success": True, "data": data}
