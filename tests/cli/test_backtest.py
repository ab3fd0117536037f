"""``orchestrator backtest`` against a fake orchestrator on a loopback port, through the real entry point."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
from typing import Any

import pytest
from rich.console import Console

from orchestrator.cli import backtest, main
from tests.cli.conftest import RESULT, progress_steps, result_step

BASE = ["backtest", "--ticker", "TQQQ", "--start", "2020-01-01", "--end", "2022-01-01"]
ARGS = [*BASE, "--threshold", "-0.05"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SYNTHETIC_SOURCE = {"service": "market_data", "provider": "sample", "synthetic": True, "calendar": "XNYS"}


async def cli(url: str, *extra: str) -> int:
    """The real entry point, in a thread as a shell would run it: it calls ``asyncio.run`` itself."""
    return await asyncio.to_thread(main, [*ARGS, "--url", url, *extra])


def parse(*extra: str, base: list[str] = ARGS) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="orchestrator")
    backtest.register(parser.add_subparsers())
    return parser.parse_args([*base, *extra])


def envelope(code: str, message: str, details: dict[str, Any]) -> str:
    return json.dumps({"success": False, "error": {"code": code, "message": message, "details": details}})


async def test_the_request_body_is_built_from_the_flags(orchestrator, capsys):
    fake = await orchestrator()
    extra = ["--lookback", "weekly", "--config", '{"price_change_threshold": -0.2, "cooldown_days": 3}']
    extra += ["--capital", "5000", "--per-trade", "250", "--no-reinvest", "--cost-pct", "0.1"]
    extra += ["--interest-pct", "2", "--test-data", "--market-type", "Stock", "--frequency", "weekly"]
    assert await cli(fake.url, *extra) == 0
    assert fake.bodies == [
        {
            "market_params": {
                "ticker": "TQQQ",
                "market_type": "Stock",
                "start_date": "2020-01-01",
                "end_date": "2022-01-01",
                "frequency": "weekly",
            },
            "strategy_params": {
                "strategy_type": "buy_the_dip",
                # --config is merged in; the explicit --threshold wins over its threshold
                "config": {"price_change_threshold": -0.05, "cooldown_days": 3, "lookback_period": "weekly"},
            },
            "portfolio_params": {
                "initial_capital": 5000,
                "investment_per_trade": 250,
                "reinvest_dividends": False,
                "transaction_cost_pct": 0.1,
                "cash_interest_rate_pct": 2,
            },
            "baseline_params": {"initial_capital": 5000, "reinvest_dividends": False},
            "use_test_data": True,
        }
    ]


def test_defaults_and_an_explicit_baseline_capital():
    body = backtest.request_body(parse())
    assert body["portfolio_params"] == {
        "initial_capital": 10000,
        "investment_per_trade": 100,
        "reinvest_dividends": True,
        "transaction_cost_pct": 0,
        "cash_interest_rate_pct": 0,
    }
    assert body["baseline_params"] == {"initial_capital": 10000, "reinvest_dividends": True}
    assert (body["market_params"]["market_type"], body["market_params"]["frequency"]) == ("ETF", "daily")
    assert body["use_test_data"] is False
    explicit = backtest.request_body(parse("--baseline-capital", "2500"))
    assert explicit["baseline_params"]["initial_capital"] == 2500


def test_other_strategies_get_only_the_config():
    args = parse("--strategy", "momentum", "--config", '{"lookback_days": 20}', base=BASE)
    assert backtest.request_body(args)["strategy_params"] == {
        "strategy_type": "momentum",
        "config": {"lookback_days": 20},
    }
    args = parse("--strategy", "buy_and_hold", base=BASE)
    assert backtest.request_body(args)["strategy_params"] == {"strategy_type": "buy_and_hold", "config": {}}


def test_buy_the_dip_flags_with_another_strategy_are_refused(capsys):
    # Refused before any request, so nothing needs to listen on the default URL.
    assert main([*ARGS, "--strategy", "buy_and_hold"]) == 2
    assert "--threshold and --lookback are for buy_the_dip" in capsys.readouterr().err


@pytest.mark.parametrize("config", ["{not json", "[1, 2]"])
def test_config_must_be_a_json_object(config, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*ARGS, "--config", config])
    assert exited.value.code == 2
    assert "--config" in capsys.readouterr().err


async def test_plain_progress_lines_when_not_a_terminal(orchestrator, capsys):
    fake = await orchestrator()
    assert await cli(fake.url) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:6] == [
        "[0/7] market_data.prices started",
        "[1/7] market_data.prices done in 120 ms (prices: 504)",
        "[1/7] market_data.dividends started",
        "[2/7] market_data.dividends done in 120 ms (dividends: 8)",
        "[2/7] signals.active started",
        "[3/7] signals.active done in 120 ms (signals: 14)",
    ]
    assert lines[13] == "[7/7] metrics done in 120 ms"


async def test_the_summary_shows_the_numbers_of_the_result(orchestrator, capsys):
    fake = await orchestrator(steps=[("comment", ""), *progress_steps(), ("comment", ""), result_step()])
    assert await cli(fake.url, "--no-progress") == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "TQQQ 2020-01-01 to 2022-01-01 (daily)" in out
    assert re.search(r"Total return %\s+\+45\.20\s+\+38\.50", out)
    assert re.search(r"Annualised return %\s+\+20\.10\s+\+17\.80", out)
    assert re.search(r"Final value\s+72,600\.00\s+13,850\.50", out)
    assert re.search(r"Invested\s+15,000\.00\s+10,000\.00", out)
    assert re.search(r"Max drawdown %\s+-35\.20\s+-45\.10", out)
    assert re.search(r"Volatility %\s+42\.10\s+61\.30", out)
    assert re.search(r"Sharpe\s+0\.85\s+0\.62", out)
    assert re.search(r"Trades\s+150\s+1\s*$", out, re.MULTILINE)
    assert re.search(r"excess return\s+\+6\.70 pp", out)
    assert re.search(r"excess Sharpe\s+\+0\.23", out)
    assert re.search(r"reduced drawdown\s+\+9\.90 pp", out)
    assert "trades: 150; request req-7f3a; executed in 1,234 ms" in out
    assert "Note:" not in out
    assert "buy_the_dip (active)" in rows["buy_the_dip"]


async def test_the_summary_says_when_the_data_is_test_data(orchestrator, capsys):
    result = json.loads(json.dumps(RESULT))
    result["data"]["metadata"]["use_test_data"] = True
    fake = await orchestrator(steps=[result_step(result)])
    assert await cli(fake.url, "--test-data") == 0
    assert "Note: the prices are the test-data fixture, not real market data." in capsys.readouterr().out


async def test_the_summary_says_when_the_data_is_synthetic_and_whose_it_is(orchestrator, capsys):
    result = json.loads(json.dumps(RESULT))
    result["data"]["metadata"]["data_source"] = SYNTHETIC_SOURCE
    fake = await orchestrator(steps=[result_step(result)])
    assert await cli(fake.url) == 0
    note = "the prices are synthetic sample data (provider sample, XNYS sessions), not real market data."
    assert f"Note: {note}" in capsys.readouterr().out


async def test_real_data_gets_no_note(orchestrator, capsys):
    result = json.loads(json.dumps(RESULT))
    result["data"]["metadata"]["data_source"] = {**SYNTHETIC_SOURCE, "provider": "yahoo", "synthetic": False}
    fake = await orchestrator(steps=[result_step(result)])
    assert await cli(fake.url) == 0
    assert "Note:" not in capsys.readouterr().out


async def test_json_prints_exactly_the_result_and_progress_goes_to_stderr(orchestrator, capsys):
    # Pretty-printed, so the result comes as many data: lines, with heartbeats around it.
    result = result_step(indent=2)
    fake = await orchestrator(steps=[*progress_steps()[:3], ("comment", ""), *progress_steps()[3:], result])
    assert await cli(fake.url, "--json") == 0
    captured = capsys.readouterr()
    assert captured.out == result[1] + "\n"
    assert json.loads(captured.out) == RESULT
    assert captured.err.splitlines()[0] == "[0/7] market_data.prices started"


async def test_a_result_longer_than_aiohttps_line_limit(orchestrator, capsys):
    result = json.loads(json.dumps(RESULT))
    result["data"]["active_strategy"]["time_series"]["portfolio_value"] = [10000.123456] * 40_000
    fake = await orchestrator(steps=[result_step(result)])
    assert await cli(fake.url, "--json") == 0
    assert json.loads(capsys.readouterr().out) == result


async def test_an_error_event_exits_1_with_its_code_and_message(orchestrator, capsys):
    failed = {"stage": "market_data.prices", "state": "failed", "elapsed_ms": 3, "done": 0, "total": 7}
    failed |= {"duration_ms": 2.6, "error": "SERVICE_UNAVAILABLE"}
    error = envelope("SERVICE_UNAVAILABLE", "market_data is unavailable", {"service": "market_data"})
    steps = [*progress_steps()[:1], ("progress", json.dumps(failed)), ("error", error)]
    fake = await orchestrator(steps=steps)
    assert await cli(fake.url) == 1
    captured = capsys.readouterr()
    assert "[0/7] market_data.prices failed after 3 ms (SERVICE_UNAVAILABLE)" in captured.out
    assert "Total return" not in captured.out
    assert captured.err == "error SERVICE_UNAVAILABLE: market_data is unavailable\n  service: market_data\n"


async def test_a_400_answer_lists_each_field_error(orchestrator, capsys):
    errors = [
        {"field": "portfolio_params.initial_capital", "message": "Input should be greater than 0"},
        {"field": "strategy_params.config.price_change_threshold", "message": "Input should be less than 0"},
    ]
    answer = envelope("INVALID_REQUEST", "Invalid request: 2 problem(s) found", {"errors": errors})
    fake = await orchestrator(answer=(400, answer))
    assert await cli(fake.url, "--capital", "-1") == 1
    assert capsys.readouterr().err.splitlines() == [
        "error INVALID_REQUEST: Invalid request: 2 problem(s) found",
        "  portfolio_params.initial_capital: Input should be greater than 0",
        "  strategy_params.config.price_change_threshold: Input should be less than 0",
    ]


async def test_a_plain_json_success_is_summarised_too(orchestrator, capsys):
    fake = await orchestrator(answer=(200, json.dumps(RESULT)))
    assert await cli(fake.url) == 0
    assert "trades: 150; request req-7f3a" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("script", "extra", "message"),
    [
        ({"steps": progress_steps()[:4]}, [], "the stream ended without a result"),
        ({"answer": (502, "<html>Bad Gateway</html>")}, [], "HTTP 502 with an answer that is not JSON"),
        ({"stall_s": 1.0}, ["--timeout", "0.2"], "within 0.2 s (see --timeout)"),
        ({"answer": (404, '{"detail": "no such page"}')}, [], "HTTP 404 with an unexpected answer"),
        ({"steps": [*progress_steps()[:2], ("drop", "")]}, [], "lost the connection to http://127.0.0.1:"),
    ],
    ids=["no result", "not JSON", "timeout", "not the envelope", "dropped"],
)
async def test_no_usable_answer_exits_2(orchestrator, capsys, script, extra, message):
    fake = await orchestrator(**script)
    assert await cli(fake.url, *extra) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_connection_refused_exits_2_with_a_hint(unused_tcp_port, capsys):
    assert main([*ARGS, "--url", f"http://127.0.0.1:{unused_tcp_port}"]) == 2
    err = capsys.readouterr().err
    assert f"cannot connect to the orchestrator at http://127.0.0.1:{unused_tcp_port}" in err
    assert "is the orchestrator running? try `orchestrator dev`" in err
    assert "Traceback" not in err


def test_a_url_that_is_not_http(capsys):
    assert main([*ARGS, "--url", "localhost:8011"]) == 2
    assert capsys.readouterr().err == "not an http(s) URL: 'localhost:8011' (e.g. http://127.0.0.1:8011)\n"


def test_the_url_comes_from_the_environment(monkeypatch, unused_tcp_port, capsys):
    monkeypatch.setenv("ORCHESTRATOR_URL", f"http://127.0.0.1:{unused_tcp_port}")
    assert main(ARGS) == 2
    assert f"127.0.0.1:{unused_tcp_port}" in capsys.readouterr().err


def terminal() -> tuple[Console, io.StringIO]:
    file = io.StringIO()
    return Console(force_terminal=True, file=file, width=100), file


def plain() -> tuple[Console, io.StringIO]:
    file = io.StringIO()
    return Console(file=file, width=80), file


async def test_a_progress_bar_on_a_terminal(orchestrator):
    fake = await orchestrator()
    (out, out_file), (err, err_file) = terminal(), plain()
    assert await backtest.backtest(parse("--url", fake.url), out, err) == 0
    shown = ANSI.sub("", out_file.getvalue())
    assert "7/7" in shown
    assert "[1/7]" not in shown  # the bar, not the plain lines
    assert re.search(r"Total return %\s+\+45\.20\s+\+38\.50", shown)
    assert err_file.getvalue() == ""


async def test_with_json_the_bar_goes_to_stderr_and_stdout_stays_exact(orchestrator):
    fake = await orchestrator()
    (out, out_file), (err, err_file) = plain(), terminal()
    assert await backtest.backtest(parse("--url", fake.url, "--json"), out, err) == 0
    assert out_file.getvalue() == result_step()[1] + "\n"
    assert "7/7" in ANSI.sub("", err_file.getvalue())


async def test_no_progress_gives_plain_lines_even_on_a_terminal(orchestrator):
    fake = await orchestrator()
    (out, out_file), (err, _) = terminal(), plain()
    assert await backtest.backtest(parse("--url", fake.url, "--no-progress"), out, err) == 0
    assert "[3/7] signals.active done in 120 ms (signals: 14)" in ANSI.sub("", out_file.getvalue())


async def test_a_failed_stage_stays_visible_above_the_bar(orchestrator):
    failed = {"stage": "signals.active", "state": "failed", "done": 2, "total": 7}
    failed["error"] = "STRATEGY_NOT_FOUND"
    error = envelope("STRATEGY_NOT_FOUND", "Unknown strategy: nope", {"service": "strategy"})
    steps = [*progress_steps()[:5], ("progress", json.dumps(failed)), ("error", error)]
    fake = await orchestrator(steps=steps)
    (out, out_file), (err, err_file) = terminal(), plain()
    assert await backtest.backtest(parse("--url", fake.url), out, err) == 1
    assert "signals.active failed (STRATEGY_NOT_FOUND)" in ANSI.sub("", out_file.getvalue())
    assert err_file.getvalue().startswith("error STRATEGY_NOT_FOUND: Unknown strategy: nope\n")
