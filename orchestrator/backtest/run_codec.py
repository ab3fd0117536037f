"""How a strategy's run (the baseline's) becomes bytes for the shared store, and back.

The run is kept as the two answers it was made of, the strategy service's and the portfolio
service's, each read back by the same reader as if it had just been answered: replicas, and the
workers of one job, then run one baseline per market between them instead of one each
(``cache/codecs.py`` does the same for the market data).
"""

from __future__ import annotations

import msgspec
import orjson

from orchestrator.backtest.answer import StrategyRun
from orchestrator.cache.codecs import Codec
from orchestrator.schemas import downstream


def _encode(run: StrategyRun) -> bytes:
    signals, simulation = run.signals, run.simulation
    strategy = {"signals": signals.items, "strategy_type": signals.strategy_type}
    portfolio = {
        "time_series": simulation.time_series,
        "final_state": msgspec.to_builtins(simulation.final_state),
        "trades": msgspec.to_builtins(simulation.trades),
    }
    return orjson.dumps(
        {"signals": {"success": True, "data": strategy}, "simulation": {"success": True, "data": portfolio}}
    )


def _decode(body: bytes) -> StrategyRun:
    both = orjson.loads(body)
    return StrategyRun(
        downstream.SIGNALS.read(orjson.dumps(both["signals"]), 200),
        downstream.SIMULATION.read(orjson.dumps(both["simulation"]), 200),
    )


RUN: Codec[StrategyRun] = Codec(_encode, _decode)
