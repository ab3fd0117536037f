"""The benchmark answers read once into what the orchestrator's clients emit.

The benchmark of the answer's assembly starts from these, so it pays no parsing for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import orjson

from fakes.realistic import Payload, Payloads, backtest_request
from orchestrator.backtest.answer import Gathered, StrategyRun
from orchestrator.schemas.downstream import (
    DIVIDENDS,
    METRICS,
    PRICES,
    SIGNALS,
    SIMULATION,
    AnswerKind,
    Dividends,
    Metrics,
    Prices,
    Signals,
    Simulation,
)
from orchestrator.schemas.requests import BacktestRequest, parse_backtest

T = TypeVar("T")


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
        def read(kind: AnswerKind[T], answer: Payload) -> T:
            body = orjson.dumps(answer)
            return kind.read(body, 200)

        return cls(
            prices=read(PRICES, payloads.prices),
            dividends=read(DIVIDENDS, payloads.dividends),
            signals={kind: read(SIGNALS, body) for kind, body in payloads.signals.items()},
            simulations={kind: read(SIMULATION, body) for kind, body in payloads.simulations.items()},
            metrics=read(METRICS, payloads.metrics),
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
