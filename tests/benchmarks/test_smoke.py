"""The benchmarks still run: each scenario on a handful of backtests (no figure is checked here;
speed is measured by running them, not asserted in tests)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import orjson

from benchmarks import compression, decoding, edges, jobs, resilience, suite, sweep
from fakes.realistic import Payloads
from tests.orchestrator.cache.redis_server import require_binary

ROOT = Path(__file__).resolve().parents[2]


def test_the_performance_benchmarks_run():
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--n", "10", "--only", "graph", "--only", "cost"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "ratio graph / reference" in run.stdout and "CPU ratio orchestrator / floor" in run.stdout


async def test_the_scale_scenario_answers_every_backtest():
    lines = await suite.scale(backtests=50, delay_s=0.2)
    assert [line.rsplit(maxsplit=6)[1] for line in lines[2:]] == ["50", "50", "50"]  # ok, of 50


async def test_the_latency_scenario_runs_each_server():
    lines = await suite.latency(requests=4, clients=(2,))
    assert [line.split()[0] for line in lines[2:]] == ["orchestrator", "floor", "staged"]


async def test_the_faults_scenario_runs_and_reports():
    lines = await resilience.faults(backtests=24, clients=4, warmup=8, stall_s=0.5)
    assert lines[1].lstrip().startswith("succeeded")
    assert "extra calls" in lines[3]


async def test_the_down_scenario_sees_the_circuit_open():
    lines = await resilience.down(backtests=30)
    assert "answered at once" in lines[2]
    assert "'SERVICE_UNAVAILABLE': 30" in lines[-2]
    assert re.fullmatch(r"  /ready meanwhile \(every 50 ms\): \{200: \d+\}", lines[-1])  # ready throughout


async def test_the_edges_fuzz_runs_and_finds_no_500():
    lines = await edges.fuzz(requests=200)
    assert lines[2].split() == ["500s", "0"]
    assert lines[4].split() == ["input", "echoed", "0"]


async def test_the_edges_slow_clients_are_cut_off():
    lines = await edges.slow(connections=140, seconds=12.0)
    # past the cap of 128: the short deadline; under it: the header timeout
    assert "'408 after about 1 s': 12" in lines[1] and "'408 after about 10 s': 128" in lines[1]
    assert re.search(r"backtests meanwhile from another address, (\d+): \{200: \1\}", lines[3])  # all 200


async def test_the_edges_burst_is_answered_every_time():
    lines = await edges.burst(count=200, rounds=1)
    assert "connection error" not in lines[1] and "503 + Retry-After" in lines[1]
    assert "slowest refusal" in lines[4]


async def test_the_edges_streams_are_answered_every_time():
    lines = await edges.streams(count=150)
    assert "connection error" not in lines[1] and "503 + Retry-After" in lines[1]


async def test_the_edges_compression_bombs_are_refused_unread():
    lines = await edges.bombs(count=3)
    assert "{415: 3}" in lines[1]


async def test_the_edges_flood_is_cut_at_the_answer_cap():
    lines = await edges.flood(megabytes=40)
    assert "502 EXTERNAL_API_ERROR" in lines[1]


async def test_the_edges_poison_gives_no_backtest_another_requests_data():
    lines = await edges.poison(backtests=20, tickers=10)
    assert all(", 0 with another request's," in line for line in lines[1:3])


async def test_the_edges_inflate_refuses_the_bombs_unread():
    lines = await edges.inflate(count=2, inflated_mib=64)
    assert "2 x 502 EXTERNAL_API_ERROR: The market_data service answered compressed" in lines[1]


async def test_the_compression_benchmark_measures_both_ways():
    lines = await compression.measure(answers=3, rounds=1, days=50)
    assert lines[1].lstrip().startswith("identity") and lines[2].lstrip().startswith("gzip")


async def test_the_cache_scenario_counts_the_calls_it_saves():
    lines = await suite.cache(identical=4, requests=20)
    assert "/prices 0, /dividends 0" in lines[1]  # the repeat
    assert "/prices 1, /dividends 1" in lines[2]  # the identical ones at once


async def test_the_sweep_scenario_reports_each_target():
    lines = await sweep.sweep(settings=10, large=40, rounds=1)
    assert "/prices 1, /dividends 1, /signals 11, /simulate 11, /calculate 10" in lines[1]  # 3N+4
    targets = [line.lstrip() for line in lines if line.lstrip()[:2] in ("1.", "2.", "3.", "4.", "5.")]
    assert [line[:2] for line in targets] == ["1.", "2.", "3.", "4.", "5."]
    assert all(line.endswith(("met", "NOT MET")) for line in targets)


def test_every_way_of_decoding_reads_the_same_answers():
    payloads = Payloads.build(20)
    raw_prices, raw_simulation = orjson.dumps(payloads.prices), orjson.dumps(payloads.simulations["active"])
    for prices, simulation in decoding.ways(raw_prices, raw_simulation).values():
        assert prices() is not None and (simulation is None or simulation() is not None)


# --- benchmarks.jobs: a real redis-server and real orchestrator processes, each job small -----------


async def test_the_jobs_calls_scenario_counts_calls_and_memory():
    require_binary()
    lines = await jobs.calls(settings=20)
    assert lines[0].endswith("at most 3N+4 = 64")
    assert re.match(r"  1 worker\(s\) \(\d+ s, succeeded\): [\d,]+ calls received", lines[1])
    assert "peak resident memory" in lines[3] and "peak resident memory" in lines[6]


async def test_the_jobs_kill_scenario_loses_and_doubles_no_setting():
    require_binary()
    lines = await jobs.kill(settings=100)
    assert "succeeded: 100 settings with a row, 0 missing, 0 doubled: met" in lines[1]


async def test_the_jobs_restart_scenario_resumes_the_job():
    require_binary()
    lines = await jobs.restart(settings=100)
    assert "succeeded in" in lines[1] and "100 settings with a row, 0 missing, 0 doubled: met" in lines[1]


async def test_the_jobs_reconnects_scenario_gets_every_result_once():
    require_binary()
    lines = await jobs.reconnects(settings=100)
    assert lines[1] == "  6 connections: 100 settings with a row, 0 missing, 0 doubled: met"


async def test_the_jobs_scale_and_interactive_scenarios_report_their_figures():
    require_binary()
    assert "target at least 2.5x" in (await jobs.scale(settings=50))[1]
    assert "target within 20%" in (await jobs.interactive(settings=300, backtests=5))[1]
