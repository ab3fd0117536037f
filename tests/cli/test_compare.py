"""``orchestrator compare`` against a fake orchestrator on a loopback port, streaming docs/api.md's events."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
from typing import Any

import pytest
from rich.console import Console

from orchestrator.cli import compare, main
from tests.cli.conftest import ACTIVE, BASELINE, RESULT, Step, run_command

DIP = '{"price_change_threshold": -0.05, "lookback_period": "daily"}'
BASE = ["compare", "--ticker", "TQQQ", "--start", "2020-01-01", "--end", "2022-01-01"]
ARGS = [*BASE, "--strategy", f"dip 5%:buy_the_dip:{DIP}", "--strategy", "monthly:dollar_cost_average"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

MONTHLY = {**ACTIVE, "total_return_pct": 30.25, "annualized_return_pct": 14.1, "sharpe_ratio": 0.71}
MONTHLY |= {"max_drawdown_pct": -40.3, "total_trades": 24}
METADATA = {key: value for key, value in RESULT["data"]["metadata"].items() if key != "strategy_type"}
ANSWER: dict[str, Any] = {
    "success": True,
    "data": {
        "metadata": {**METADATA, "strategies": ["dip 5%", "monthly"]},
        "strategies": [
            {
                "name": "dip 5%",
                "strategy_type": "buy_the_dip",
                "config": json.loads(DIP),
                "summary": ACTIVE,
                "time_series": {},
                "trades": [],
                "comparison": {"excess_return_pct": 6.7, "excess_sharpe": 0.23},
            },
            {
                "name": "monthly",
                "strategy_type": "dollar_cost_average",
                "config": {},
                "summary": MONTHLY,
                "time_series": {},
                "trades": [],
                "comparison": {"excess_return_pct": -8.25, "excess_sharpe": 0.09},
            },
        ],
        "baseline_strategy": {"summary": BASELINE, "time_series": {}},
    },
}
# The calls as the stream names them: the shared ones, then each strategy's, named after it.
STAGES = ("market_data.prices", "market_data.dividends", "signals.baseline", "simulate.baseline")
STAGES += ("signals.dip 5%", "signals.monthly", "simulate.dip 5%", "simulate.monthly")
STAGES += ("metrics.dip 5%", "metrics.monthly")


def stage(name: str, state: str, done: int, **more: Any) -> Step:
    return ("progress", json.dumps({"stage": name, "state": state, "done": done, "total": 10, **more}))


def progress_steps() -> list[Step]:
    steps: list[Step] = []
    for done, name in enumerate(STAGES):
        steps += [stage(name, "started", done), stage(name, "done", done + 1, duration_ms=12.3)]
    return steps


STEPS = [*progress_steps(), ("result", json.dumps(ANSWER))]


async def cli(url: str, *extra: str, args: list[str] = ARGS) -> int:
    """The real entry point, in a thread as a shell would run it: it calls ``asyncio.run`` itself."""
    return await asyncio.to_thread(main, [*args, "--url", url, *extra])


def parse(*extra: str, base: list[str] = ARGS) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="orchestrator")
    compare.register(parser.add_subparsers())
    return parser.parse_args([*base, *extra])


def envelope(code: str, message: str, details: dict[str, Any]) -> str:
    return json.dumps({"success": False, "error": {"code": code, "message": message, "details": details}})


async def test_the_request_is_a_backtests_with_the_strategies_instead_of_strategy_params(orchestrator):
    fake = await orchestrator(steps=STEPS)
    extra = ["--capital", "5000", "--per-trade", "250", "--no-reinvest", "--test-data"]
    assert await cli(fake.url, *extra) == 0
    assert fake.asked == [("/api/compare", "text/event-stream")]
    assert fake.bodies == [
        {
            "market_params": {
                "ticker": "TQQQ",
                "market_type": "ETF",
                "start_date": "2020-01-01",
                "end_date": "2022-01-01",
                "frequency": "daily",
            },
            "strategies": [
                {
                    "name": "dip 5%",
                    "strategy_type": "buy_the_dip",
                    "config": {"price_change_threshold": -0.05, "lookback_period": "daily"},
                },
                {"name": "monthly", "strategy_type": "dollar_cost_average", "config": {}},
            ],
            "portfolio_params": {
                "initial_capital": 5000,
                "investment_per_trade": 250,
                "reinvest_dividends": False,
                "transaction_cost_pct": 0,
                "cash_interest_rate_pct": 0,
            },
            "baseline_params": {"initial_capital": 5000, "reinvest_dividends": False},
            "use_test_data": True,
        }
    ]


@pytest.mark.parametrize(
    ("given", "spec"),
    [
        ("dip:buy_the_dip", {"name": "dip", "strategy_type": "buy_the_dip", "config": {}}),
        ("dip:buy_the_dip:", {"name": "dip", "strategy_type": "buy_the_dip", "config": {}}),
        ("a b.c: momentum :{}", {"name": "a b.c", "strategy_type": "momentum", "config": {}}),
        ('x:t:{"k": "a:b"}', {"name": "x", "strategy_type": "t", "config": {"k": "a:b"}}),
    ],
    ids=["no config", "empty config", "spaces and dots", "colons in the config"],
)
def test_a_strategy_is_name_type_and_an_optional_json_config(given, spec):
    assert compare.strategy_spec(given) == spec


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("buy_the_dip", "expected NAME:TYPE[:JSON_CONFIG]"),
        (":buy_the_dip", "expected NAME:TYPE[:JSON_CONFIG]"),
        ("dip:", "expected NAME:TYPE[:JSON_CONFIG]"),
        ("dip:buy_the_dip:{nope", "dip: the config not JSON"),
        ("dip:buy_the_dip:[1]", "dip: the config must be a JSON object"),
    ],
)
def test_a_strategy_that_is_not_name_type_config_is_refused(given, message, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*BASE, "--strategy", given])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_comparison_needs_a_strategy_and_takes_no_backtest_strategy_flags(capsys):
    with pytest.raises(SystemExit) as exited:
        main(BASE)
    assert exited.value.code == 2
    assert "--strategy" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*ARGS, "--threshold", "-0.05"])
    assert "unrecognized arguments: --threshold" in capsys.readouterr().err


async def test_the_table_has_a_row_per_strategy_and_the_baseline(orchestrator, capsys):
    fake = await orchestrator(steps=STEPS)
    assert await cli(fake.url, "--no-progress") == 0
    out = capsys.readouterr().out
    assert "TQQQ 2020-01-01 to 2022-01-01 (daily): 2 strategies and the baseline" in out
    metrics = r"Total return %\s+Annualised %\s+Sharpe\s+Max drawdown %\s+Trades\s+Excess return pp"
    assert re.search(r"Strategy\s+Type\s+" + metrics, out)
    rows = [line.split() for line in out.splitlines() if re.search(r"(buy|dollar)_\w+\s+[+-]\d", line)]
    assert rows == [
        ["dip", "5%", "buy_the_dip", "+45.20", "+20.10", "0.85", "-35.20", "150", "+6.70"],
        ["monthly", "dollar_cost_average", "+30.25", "+14.10", "0.71", "-40.30", "24", "-8.25"],
        ["baseline", "buy_and_hold", "+38.50", "+17.80", "0.62", "-45.10", "1"],
    ]
    assert "request req-7f3a; executed in 1,234 ms" in out


async def test_json_prints_exactly_the_result_and_progress_goes_to_stderr(orchestrator, capsys):
    fake = await orchestrator(steps=STEPS)
    assert await cli(fake.url, "--json") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == ANSWER
    assert captured.out == STEPS[-1][1] + "\n"
    assert "[5/10] signals.dip 5% done in 12 ms" in captured.err


async def test_plain_progress_lines_name_each_strategys_calls(orchestrator, capsys):
    fake = await orchestrator(steps=STEPS)
    assert await cli(fake.url) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[8:12] == [
        "[4/10] signals.dip 5% started",
        "[5/10] signals.dip 5% done in 12 ms",
        "[5/10] signals.monthly started",
        "[6/10] signals.monthly done in 12 ms",
    ]


def test_the_bar_shows_each_strategys_calls_as_the_events_name_them():
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    bar = compare.CompareBar(console, ["dip 5%", "monthly"])
    for event, data in [
        *progress_steps()[:11],
        stage("simulate.dip 5%", "failed", 5, error="SERVICE_TIMEOUT"),
    ]:
        assert event == "progress"
        bar.handlers["progress"](json.loads(data))
    assert bar.calls == {
        "dip 5%": {"signals": "done", "simulate": "failed"},
        "monthly": {"signals": "started"},
    }
    assert list(bar.shared) == [
        "market_data.prices",
        "market_data.dividends",
        "signals.baseline",
        "simulate.baseline",
    ]
    render = Console(file=io.StringIO(), width=120, record=True)
    render.print(bar.strategy_lines())
    lines = [line.rstrip() for line in render.export_text().splitlines()]
    assert re.fullmatch(r"\s+dip 5%\s+signals ✓  simulate ✗", lines[0])
    assert re.fullmatch(r"\s+monthly\s+signals …", lines[1])
    assert re.fullmatch(r"\s+\(shared\)\s+market_data\.prices ✓  market_data\.dividends ✓ .*", lines[2])
    [task] = bar.tasks
    assert (task.completed, task.total, task.description) == (5, 10, "signals.monthly")


async def test_a_progress_bar_on_a_terminal(orchestrator):
    fake = await orchestrator(steps=STEPS)
    out_file, err_file = io.StringIO(), io.StringIO()
    out = Console(force_terminal=True, file=out_file, width=140)
    assert await compare.compare(parse("--url", fake.url), out, Console(file=err_file, width=80)) == 0
    shown = ANSI.sub("", out_file.getvalue())
    assert "10/10" in shown
    assert "[5/10]" not in shown  # the bar, not the plain lines
    assert re.search(r"monthly\s+signals ✓  simulate ✓  metrics ✓", shown)
    assert re.search(r"dip 5%\s+buy_the_dip\s+\+45\.20", shown)
    assert err_file.getvalue() == ""


async def test_an_error_event_exits_1_with_its_code_and_message(orchestrator, capsys):
    failed = stage("signals.monthly", "failed", 5, error="STRATEGY_NOT_FOUND")
    error = envelope("STRATEGY_NOT_FOUND", "Unknown strategy: dollar_cost_average", {"service": "strategy"})
    fake = await orchestrator(steps=[*progress_steps()[:10], failed, ("error", error)])
    assert await cli(fake.url) == 1
    captured = capsys.readouterr()
    assert "[5/10] signals.monthly failed (STRATEGY_NOT_FOUND)" in captured.out
    assert "Strategy" not in captured.out
    assert (
        captured.err
        == "error STRATEGY_NOT_FOUND: Unknown strategy: dollar_cost_average\n  service: strategy\n"
    )


async def test_a_400_answer_exits_1_and_lists_each_field_error(orchestrator, capsys):
    errors = [
        {"field": "strategies[1].name", "message": "is the buy-and-hold baseline's name; choose another"}
    ]
    answer = envelope(
        "INVALID_REQUEST", "Invalid request: strategies[1].name is reserved", {"errors": errors}
    )
    fake = await orchestrator(answer=(400, answer))
    assert await cli(fake.url) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error INVALID_REQUEST: Invalid request: strategies[1].name is reserved",
        "  strategies[1].name: is the buy-and-hold baseline's name; choose another",
    ]


async def test_a_stream_cut_off_exits_2(orchestrator, capsys):
    fake = await orchestrator(steps=[*progress_steps()[:3], ("drop", "")])
    assert await cli(fake.url) == 2
    assert "lost the connection to http://127.0.0.1:" in capsys.readouterr().err


def test_connection_refused_exits_2_with_a_hint(unused_tcp_port, capsys):
    assert main([*ARGS, "--url", f"http://127.0.0.1:{unused_tcp_port}"]) == 2
    err = capsys.readouterr().err
    assert f"cannot connect to the orchestrator at http://127.0.0.1:{unused_tcp_port}" in err
    assert "Traceback" not in err


async def test_against_the_real_orchestrator_each_strategy_and_the_baseline(platform):
    args = parse("--url", await platform(), "--end", "2020-01-08", "--strategy", "hold too:buy_and_hold")
    code, out, _ = await run_command(compare.compare, args)
    assert code == 0
    assert "signals.dip 5% done" in out
    assert "simulate.hold too done" in out
    assert "metrics.monthly done" in out
    assert "TQQQ 2020-01-01 to 2020-01-08 (daily): 3 strategies and the baseline" in out
    rows = {line.split()[0]: line for line in out.splitlines() if re.search(r"_\w+\s+[+-]\d", line)}
    assert list(rows) == ["dip", "monthly", "hold", "baseline"]
    assert re.search(r"dip 5%\s+buy_the_dip\s+\+0\.02\s+\+1\.90\s+1\.10\s+-0\.50\s+1\s+\+4\.02", rows["dip"])
    assert re.search(
        r"baseline\s+buy_and_hold\s+-4\.00\s+-90\.00\s+-2\.50\s+-6\.00\s+1\s*$", rows["baseline"]
    )


async def test_against_the_real_orchestrator_a_reserved_name_exits_1(platform):
    args = parse("--url", await platform(), "--end", "2020-01-08", "--strategy", "baseline:buy_and_hold")
    code, _, err = await run_command(compare.compare, args)
    assert code == 1
    assert err.splitlines()[0].startswith("error INVALID_REQUEST: ")
    assert err.splitlines()[1] == "  strategies[2].name: is the buy-and-hold baseline's name; choose another"
