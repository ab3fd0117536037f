"""``python -m benchmarks.auth`` still runs: each scenario on a handful of backtests (no figure is
checked here: speed is measured by running it, not asserted in tests)."""

from __future__ import annotations

from benchmarks import auth


async def test_the_cost_scenario_measures_each_mode():
    lines = await auth.cost(requests=32, clients=4, rounds=1)
    rows = [line.split()[0] for line in lines[2:6]]
    assert rows == ["none", "api_key", "jwt", "jwt"]
    assert all(line.split()[-1] == "0" for line in lines[2:6])  # none failed
    assert "µs a request" in lines[-1]


async def test_the_fairness_scenario_refuses_the_flood_and_answers_b():
    lines = await auth.fairness(backtests=5, rounds=1)
    assert "B's p50 ratio busy / alone" in lines[3]
    assert "429" in lines[4]
