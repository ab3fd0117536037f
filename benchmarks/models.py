"""The benchmark answers validated once into the models the orchestrator's clients emit.

The benchmark of the answer's assembly starts from these, so it pays no parsing for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.fixtures import Payloads, backtest_request
from orchestrator.backtest.answer import Gathered, StrategyRun
from orchestrator.schemas.downstream import Dividends, Metrics, Prices, Signals, Simulation
from orchestrator.schemas.requests import BacktestRequest, parse_backtest


@dataclass(frozen=True, slots=True)
class Models:
    """The same answers, validated once into the models the orchestrator's clients emit."""

    prices: Prices
    dividends: Dividends
    signals: dict[str, Signals]
    simulations: dict[str, Simulation]
    metrics: Metrics

    @classmethod
    def build(cls, payloads: Payloads) -> Models:
        return cls(
            prices=Prices.model_validate(payloads.prices["data"]),
            dividends=Dividends.model_validate(payloads.dividends["data"]),
            signals={kind: Signals.model_validate(body["data"]) for kind, body in payloads.signals.items()},
            simulations={
                kind: Simulation.model_validate(body["data"]) for kind, body in payloads.simulations.items()
            },
            metrics=Metrics.model_validate(payloads.metrics["data"]),
        )

    def gathered(self) -> Gathered:
        """What the graph gathers for one backtest, ready for ``assemble_answer``."""
        return Gathered(
            prices=self.prices,
            dividends=self.dividends,
            active=StrategyRun(self.signals["active"], self.simulations["active"]),
            baseline=StrategyRun(self.signals["baseline"], self.simulations["baseline"]),
            metrics=self.metrics,
        )


def parsed_request() -> BacktestRequest:
    return parse_backtest(backtest_request())
