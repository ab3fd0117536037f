"""The benchmarks still run: each scenario on a handful of backtests (no figure is checked here;
speed is measured by running them, not asserted in tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks import resilience

ROOT = Path(__file__).resolve().parents[2]


def test_the_performance_benchmarks_run():
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--n", "10", "--requests", "4"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "ratio graph / reference" in run.stdout and "ratio orchestrator / direct" in run.stdout


async def test_the_faults_scenario_runs_and_reports():
    lines = await resilience.faults(backtests=24, clients=4, warmup=8, stall_s=0.5)
    assert lines[1].lstrip().startswith("succeeded")
    assert "extra calls" in lines[3]


async def test_the_down_scenario_sees_the_circuit_open():
    lines = await resilience.down(backtests=30)
    assert "answered at once" in lines[2]
    assert "'SERVICE_UNAVAILABLE': 30" in lines[-1]
