"""The baseline's run read back from the shared store is the run that was kept."""

from __future__ import annotations

import orjson

import fakes
from orchestrator.backtest.answer import StrategyRun
from orchestrator.backtest.run_codec import RUN
from orchestrator.schemas import downstream


def a_run(kind: str = "baseline") -> StrategyRun:
    signals = downstream.SIGNALS.read(orjson.dumps(fakes.signals("buy_and_hold")), 200)
    simulation = downstream.SIMULATION.read(orjson.dumps(fakes.simulation(kind)), 200)
    return StrategyRun(signals, simulation)


def test_a_run_read_back_holds_the_same_signals():
    kept = a_run()
    back = RUN.decode(RUN.encode(kept))
    assert back.signals.items == kept.signals.items
    assert back.signals.strategy_type == kept.signals.strategy_type
    assert orjson.dumps(back.signals.fragment) == orjson.dumps(kept.signals.fragment)


def test_a_run_read_back_holds_the_same_simulation_byte_for_byte():
    kept = a_run()
    back = RUN.decode(RUN.encode(kept))
    assert orjson.dumps(back.simulation.time_series) == orjson.dumps(kept.simulation.time_series)
    assert orjson.dumps(back.simulation.for_metrics) == orjson.dumps(kept.simulation.for_metrics)
    assert (back.simulation.trades, back.simulation.final_state) == (
        kept.simulation.trades,
        kept.simulation.final_state,
    )
    assert back.nbytes == kept.nbytes
