"""``orchestrator sweep`` against a fake orchestrator on a loopback port, streaming docs/api.md's events."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
from typing import Any

import pytest
from rich.console import Console

from orchestrator.cli import main, sweep
from tests.cli.conftest import Step, run_command

THRESHOLD, TICKER = "strategy_params.config.price_change_threshold", "market_params.ticker"
BASE = ["sweep", "--ticker", "TQQQ", "--start", "2020-01-01", "--end", "2022-01-01"]
ARGS = [*BASE, "--grid", f"{THRESHOLD}=-0.03,-0.05", "--grid", f"{TICKER}=TQQQ,ZZZX"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def summary(total_return: float, sharpe: float, drawdown: float, trades: int) -> dict[str, Any]:
    return {
        "total_return_pct": total_return,
        "annualized_return_pct": total_return / 2,
        "sharpe_ratio": sharpe,
        "max_drawdown_pct": drawdown,
        "total_trades": trades,
    }


def unknown(index: int, threshold: float) -> dict[str, Any]:
    error = {"code": "INVALID_TICKER", "message": "Unknown ticker: ZZZX", "details": {"ticker": "ZZZX"}}
    return {"rank": None, "index": index, "params": {THRESHOLD: threshold, TICKER: "ZZZX"}, "error": error}


# The grid of ARGS, ranked by sharpe_ratio: the two ZZZX combinations fail.
FIRST = {"rank": 1, "index": 2, "params": {THRESHOLD: -0.05, TICKER: "TQQQ"}}
FIRST |= {"summary": summary(41.2, 1.12, -25.0, 8), "comparison": {"excess_return_pct": 3.1}}
SECOND = {"rank": 2, "index": 0, "params": {THRESHOLD: -0.03, TICKER: "TQQQ"}}
SECOND |= {"summary": summary(30.5, 0.9, -30.1, 12), "comparison": {"excess_return_pct": -7.6}}
ROWS = [FIRST, SECOND, unknown(1, -0.03), unknown(3, -0.05)]
METADATA = {
    "request_id": "req-sw1",
    "rank_by": "sharpe_ratio",
    "order": "descending",
    "combinations": 4,
    "succeeded": 2,
    "failed": 2,
    "execution_time_ms": 840,
    "calls_total": 16,
    "fingerprint": {"request": "sha256:aa", "market_data": "sha256:bb"},
}
SUMMARY = {"success": True, "data": {"metadata": METADATA, "rows": ROWS}}


def result(row: dict[str, Any]) -> Step:
    return ("result", json.dumps({key: value for key, value in row.items() if key != "rank"}))


def progress(done: int, failed: int, top: list[dict[str, Any]], total: int = 4) -> Step:
    event = {"done": done, "total": total, "failed": failed, "elapsed_ms": 100 * done, "top": top}
    return ("progress", json.dumps(event))


def summary_step(document: dict[str, Any] = SUMMARY) -> Step:
    return ("summary", json.dumps(document))


# As the sweep streams: a result per combination as it ends, a progress now and then, the summary last.
STEPS = [
    result(SECOND),
    result(ROWS[2]),
    progress(2, 1, [{**SECOND, "rank": 1}]),
    ("comment", ""),
    result(FIRST),
    result(ROWS[3]),
    progress(4, 2, [FIRST, SECOND]),
    summary_step(),
]

FOLD_1 = {
    "fold": 1,
    "in_sample": {"start_date": "2020-01-02", "end_date": "2020-12-30", "days": 252},
    "out_of_sample": {"start_date": "2020-12-31", "end_date": "2021-04-01", "days": 63},
    "params": {THRESHOLD: -0.05},
    "in_sample_summary": summary(41.2, 1.4, -20.0, 9),
    "out_of_sample_summary": summary(5.1, 0.6, -8.0, 2),
    "out_of_sample_comparison": {"excess_return_pct": 1.0},
    "degradation": {"metric": "sharpe_ratio", "in_sample": 1.4, "out_of_sample": 0.6, "change": -0.8},
    "top": [],
}
FOLD_2 = {
    "fold": 2,
    "in_sample": {"start_date": "2020-04-01", "end_date": "2021-03-31", "days": 252},
    "out_of_sample": {"start_date": "2021-04-01", "end_date": "2021-06-30", "days": 63},
    "error": {"code": "INSUFFICIENT_DATA", "message": "no combination succeeded", "details": {}},
}
WALK = {
    "success": True,
    "data": {
        "metadata": {**METADATA, "combinations": 4, "folds": 2},
        "walk_forward": {
            "folds": [FOLD_1, FOLD_2],
            "out_of_sample": {
                "start_date": "2020-12-31",
                "end_date": "2021-04-01",
                "folds": 1,
                "total_return_pct": 5.1,
                "time_series": {"dates": ["2020-12-31"], "portfolio_value": [10000.0]},
            },
        },
    },
}
WALK_STEPS = [
    result({**SECOND, "fold": 1}),
    result({**FIRST, "fold": 1}),
    progress(2, 0, [FIRST]),
    ("fold", json.dumps(FOLD_1)),
    ("fold", json.dumps(FOLD_2)),
    summary_step(WALK),
]


async def cli(url: str, *extra: str, args: list[str] = ARGS) -> int:
    """The real entry point, in a thread as a shell would run it: it calls ``asyncio.run`` itself."""
    return await asyncio.to_thread(main, [*args, "--url", url, *extra])


def parse(*extra: str, base: list[str] = ARGS) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="orchestrator")
    sweep.register(parser.add_subparsers())
    return parser.parse_args([*base, *extra])


def envelope(code: str, message: str, details: dict[str, Any]) -> str:
    return json.dumps({"success": False, "error": {"code": code, "message": message, "details": details}})


async def test_the_request_is_a_backtests_plus_the_grid_and_the_ranking(orchestrator):
    fake = await orchestrator(steps=STEPS)
    extra = ["--threshold", "-0.04", "--capital", "5000", "--rank-by", "total_return_pct", "--top-k", "3"]
    extra += [
        "--grid",
        "portfolio_params.investment_per_trade=100,250.5",
        "--grid",
        "use_test_data=true,false",
    ]
    assert await cli(fake.url, *extra) == 0
    [body] = fake.bodies
    assert fake.asked == [("/api/sweep", "text/event-stream")]
    assert body["market_params"]["ticker"] == "TQQQ"
    assert body["strategy_params"] == {
        "strategy_type": "buy_the_dip",
        "config": {"price_change_threshold": -0.04},
    }
    assert body["portfolio_params"]["initial_capital"] == 5000
    assert body["baseline_params"] == {"initial_capital": 5000, "reinvest_dividends": True}
    assert body["use_test_data"] is False
    assert (body["rank_by"], body["top_k"]) == ("total_return_pct", 3)
    assert "walk_forward" not in body
    # In the order given (the cartesian product's order), each value a JSON scalar or else a string.
    assert list(body["grid"].items()) == [
        (THRESHOLD, [-0.03, -0.05]),
        (TICKER, ["TQQQ", "ZZZX"]),
        ("portfolio_params.investment_per_trade", [100, 250.5]),
        ("use_test_data", [True, False]),
    ]


def test_rank_by_and_top_k_default_to_the_apis_defaults():
    body = sweep.request_body(parse())
    assert (body["rank_by"], body["top_k"]) == ("sharpe_ratio", 5)


@pytest.mark.parametrize(
    ("given", "values"),
    [
        ("-0.05,100,1e3,true,false,null", [-0.05, 100, 1000.0, True, False, None]),
        ("TQQQ, SPY", ["TQQQ", "SPY"]),
        ("2021-06-01,weekly,NaN,Infinity", ["2021-06-01", "weekly", "NaN", "Infinity"]),
        ('"100",{}', ["100", "{}"]),
        ('["a,b", 1, null]', ["a,b", 1, None]),
    ],
    ids=["scalars", "strings", "not JSON", "quoted and not scalar", "a JSON list"],
)
def test_grid_values_are_json_scalars_where_they_parse_else_strings(given, values):
    assert sweep.grid_axis(f"{THRESHOLD}={given}") == (THRESHOLD, values)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (THRESHOLD, "expected PATH=V1,V2,..."),
        ("=-0.05", "expected PATH=V1,V2,..."),
        (f"{THRESHOLD}=", "an empty value"),
        (f"{THRESHOLD}=-0.03,,-0.05", "an empty value"),
        (f"{THRESHOLD}=[]", "expected a non-empty JSON list"),
        (f"{THRESHOLD}=[-0.03,", "not a JSON list"),
    ],
)
def test_a_grid_flag_that_is_not_path_and_values_is_refused(given, message, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*BASE, "--grid", given])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_sweep_needs_a_grid(capsys):
    with pytest.raises(SystemExit) as exited:
        main(BASE)
    assert exited.value.code == 2
    assert "--grid" in capsys.readouterr().err


def test_the_same_grid_path_twice_is_refused_before_any_request(capsys):
    # Refused before any request, so nothing needs to listen on the default URL.
    assert main([*ARGS, "--grid", f"{THRESHOLD}=-0.1"]) == 2
    assert capsys.readouterr().err == f"error: --grid {THRESHOLD} given twice: give all its values at once\n"


@pytest.mark.parametrize(
    ("given", "walk_forward"),
    [
        (
            "folds=3,in_sample_days=252,out_of_sample_days=63",
            {"folds": 3, "in_sample_days": 252, "out_of_sample_days": 63},
        ),
        ("split_date=2021-06-01", {"split_date": "2021-06-01"}),
    ],
    ids=["folds", "split date"],
)
def test_walk_forward_becomes_the_walk_forward_object(given, walk_forward):
    assert sweep.request_body(parse("--walk-forward", given))["walk_forward"] == walk_forward


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("folds", "expected KEY=VALUE"),
        ("folds=3,", "expected KEY=VALUE"),
        ("folds=3,folds=4", "folds given twice"),
    ],
)
def test_a_walk_forward_that_is_not_key_values_is_refused(given, message, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*ARGS, "--walk-forward", given])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def table_lines(out: str) -> dict[str, str]:
    """The table's lines by their first cell."""
    return {line.split()[0]: line for line in out.splitlines() if line.strip()}


async def test_the_ranked_table_is_printed_from_the_summary(orchestrator, capsys):
    fake = await orchestrator(steps=STEPS)
    assert await cli(fake.url, "--no-progress") == 0
    out = capsys.readouterr().out
    assert "Sweep ranked by sharpe_ratio, highest first: 4 combinations, 2 failed" in out
    # The params by their short names, the rank metric first, then the usual metrics.
    header = (
        r"Rank\s+price_change_threshold\s+ticker\s+Sharpe\s+Total return %\s+Max drawdown %\s+Trades\s+Error"
    )
    assert re.search(header, out)
    ranked = [line.split() for line in out.splitlines() if re.match(r"\s*(\d+|-)\s+-0\.0", line)]
    assert ranked == [
        ["1", "-0.05", "TQQQ", "1.12", "+41.20", "-25.00", "8"],
        ["2", "-0.03", "TQQQ", "0.90", "+30.50", "-30.10", "12"],
        ["-", "-0.03", "ZZZX", "INVALID_TICKER"],
        ["-", "-0.05", "ZZZX", "INVALID_TICKER"],
    ]
    assert (
        "combination 1 (price_change_threshold=-0.03, ticker=ZZZX): INVALID_TICKER: Unknown ticker: ZZZX"
        in out
    )
    assert "calls: 16; request req-sw1; executed in 840 ms" in out


async def test_the_summary_says_when_a_markets_data_is_synthetic(orchestrator, capsys):
    document = json.loads(json.dumps(SUMMARY))
    real = {"service": "market_data", "provider": "yahoo", "synthetic": False, "calendar": "NasdaqGM"}
    synthetic = {"service": "market_data", "provider": "sample", "synthetic": True, "calendar": "XNYS"}
    document["data"]["metadata"]["data_sources"] = [
        {"ticker": "TQQQ", **real},
        {"ticker": "ZZZX", **synthetic},
    ]
    fake = await orchestrator(steps=[summary_step(document)])
    assert await cli(fake.url, "--no-progress") == 0
    note = "the prices are synthetic sample data (provider sample, XNYS sessions), not real market data."
    assert f"Note: {note}" in capsys.readouterr().out


async def test_real_data_for_every_market_gets_no_note(orchestrator, capsys):
    document = json.loads(json.dumps(SUMMARY))
    real = {
        "ticker": "TQQQ",
        "service": "market_data",
        "provider": "yahoo",
        "synthetic": False,
        "calendar": None,
    }
    document["data"]["metadata"]["data_sources"] = [real]
    fake = await orchestrator(steps=[summary_step(document)])
    assert await cli(fake.url, "--no-progress") == 0
    assert "Note:" not in capsys.readouterr().out


async def test_another_rank_metric_comes_first_and_is_not_repeated(orchestrator, capsys):
    document = json.loads(json.dumps(SUMMARY))
    document["data"]["metadata"] |= {"rank_by": "max_drawdown_pct", "failed": 0}
    document["data"]["rows"] = [SECOND | {"rank": 1}]
    fake = await orchestrator(steps=[summary_step(document)])
    assert await cli(fake.url, "--rank-by", "max_drawdown_pct") == 0
    out = capsys.readouterr().out
    metrics = r"Max drawdown %\s+Total return %\s+Sharpe\s+Trades\s*\n"
    assert re.search(r"Rank\s+price_change_threshold\s+ticker\s+" + metrics, out)
    assert "Error" not in out


async def test_walk_forward_prints_the_folds_and_the_joined_out_of_sample_return(orchestrator, capsys):
    fake = await orchestrator(steps=WALK_STEPS)
    assert await cli(fake.url, "--walk-forward", "folds=2,in_sample_days=252,out_of_sample_days=63") == 0
    out = capsys.readouterr().out
    assert "Walk-forward ranked by sharpe_ratio, highest first: 2 folds" in out
    assert re.search(r"Fold\s+In sample\s+Out of sample\s+price_change_t\S*\s+Sharpe in\s", out)
    lines = table_lines(out)
    assert re.search(r"2020-01-02 to 2020-12-30 \(252 d\)\s+2020-12-31 to 2021-04-01 \(63 d\)", lines["1"])
    assert re.search(r"-0\.05\s+1\.40\s+0\.60\s+-0\.80\s*$", lines["1"])
    assert re.search(r"2021-04-01 to 2021-06-30 \(63 d\)\s+INSUFFICIENT_DATA\s*$", lines["2"])
    assert "  fold 2: INSUFFICIENT_DATA: no combination succeeded" in out
    assert "Out of sample, joined from 1 fold: 2020-12-31 to 2021-04-01, total return +5.10 %" in out


async def test_json_prints_exactly_the_summary_and_progress_goes_to_stderr(orchestrator, capsys):
    fake = await orchestrator(steps=STEPS)
    assert await cli(fake.url, "--json") == 0
    captured = capsys.readouterr()
    assert captured.out == STEPS[-1][1] + "\n"
    assert json.loads(captured.out) == SUMMARY
    assert "[2/4] 1 failed" in captured.err


async def test_csv_asks_for_the_export_and_prints_it_as_it_came(orchestrator, capsys):
    csv = "rank,index,strategy_params.config.price_change_threshold,sharpe_ratio\r\n1,2,-0.05,1.12\r\n"
    fake = await orchestrator(answer=(200, csv), content_type="text/csv")
    assert await cli(fake.url, "--csv") == 0
    assert fake.asked == [("/api/sweep?format=csv", "text/csv")]
    assert capsys.readouterr().out == csv


async def test_csv_and_json_together_are_refused(capsys):
    with pytest.raises(SystemExit) as exited:
        main([*ARGS, "--csv", "--json"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


async def test_a_csv_error_is_the_json_envelope(orchestrator, capsys):
    fake = await orchestrator(answer=(400, envelope("INVALID_REQUEST", "bad grid", {"errors": []})))
    assert await cli(fake.url, "--csv") == 1
    assert capsys.readouterr().err == "error INVALID_REQUEST: bad grid\n"


async def test_a_400_answer_exits_1_and_lists_each_field_error(orchestrator, capsys):
    errors = [
        {"field": "grid.strategy_params.config.nope", "message": "unknown path"},
        {"field": "grid[1].market_params.ticker", "message": "String should have at most 10 characters"},
    ]
    answer = envelope("INVALID_REQUEST", "Invalid request: 2 problem(s) found", {"errors": errors})
    fake = await orchestrator(answer=(400, answer))
    assert await cli(fake.url) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "error INVALID_REQUEST: Invalid request: 2 problem(s) found",
        "  grid.strategy_params.config.nope: unknown path",
        "  grid[1].market_params.ticker: String should have at most 10 characters",
    ]
    assert "Rank" not in captured.out


async def test_too_many_combinations_shows_the_details(orchestrator, capsys):
    details = {"max_combinations": 1000, "combinations": 1200}
    fake = await orchestrator(answer=(400, envelope("INVALID_REQUEST", "too many combinations", details)))
    assert await cli(fake.url) == 1
    assert capsys.readouterr().err.splitlines()[1:] == ["  max_combinations: 1000", "  combinations: 1200"]


async def test_an_error_event_instead_of_the_summary_exits_1(orchestrator, capsys):
    error = envelope("SERVICE_UNAVAILABLE", "Server is shutting down", {"retry_after_s": 5})
    fake = await orchestrator(steps=[*STEPS[:3], ("error", error)])
    assert await cli(fake.url) == 1
    assert (
        capsys.readouterr().err == "error SERVICE_UNAVAILABLE: Server is shutting down\n  retry_after_s: 5\n"
    )


async def test_a_stream_without_a_summary_exits_2(orchestrator, capsys):
    fake = await orchestrator(steps=STEPS[:-1])
    assert await cli(fake.url) == 2
    assert "the stream ended without a summary" in capsys.readouterr().err


def test_connection_refused_exits_2_with_a_hint(unused_tcp_port, capsys):
    assert main([*ARGS, "--url", f"http://127.0.0.1:{unused_tcp_port}"]) == 2
    err = capsys.readouterr().err
    assert f"cannot connect to the orchestrator at http://127.0.0.1:{unused_tcp_port}" in err
    assert "Traceback" not in err


async def test_plain_progress_lines_say_the_count_the_best_and_each_failure(orchestrator, capsys):
    fake = await orchestrator(steps=STEPS)
    assert await cli(fake.url) == 0
    lines = capsys.readouterr().out.splitlines()
    failed = "failed: INVALID_TICKER: Unknown ticker: ZZZX"
    assert lines[:4] == [
        f"combination 1 {failed} (price_change_threshold=-0.03, ticker=ZZZX)",
        "[2/4] 1 failed; best sharpe_ratio 0.90 (price_change_threshold=-0.03, ticker=TQQQ)",
        f"combination 3 {failed} (price_change_threshold=-0.05, ticker=ZZZX)",
        "[4/4] 2 failed; best sharpe_ratio 1.12 (price_change_threshold=-0.05, ticker=TQQQ)",
    ]


async def test_walking_forward_each_fold_is_told_as_it_ends(orchestrator, capsys):
    fake = await orchestrator(steps=WALK_STEPS)
    assert await cli(fake.url, "--walk-forward", "split_date=2021-01-01") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        "[2/4] fold 1; best sharpe_ratio 1.12 (price_change_threshold=-0.05, ticker=TQQQ)",
        "fold 1: in-sample 2020-01-02 to 2020-12-30, chose price_change_threshold=-0.05; "
        "sharpe_ratio 1.40 in sample, 0.60 out of sample (-0.80)",
        "fold 2 failed: INSUFFICIENT_DATA: no combination succeeded",
    ]


def feed(display: sweep.SweepDisplay, step: Step) -> None:
    event, data = step
    display.handlers[event](json.loads(data))


def test_the_bar_counts_results_and_takes_done_and_total_from_progress():
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    display = sweep.SweepDisplay(console, True, sweep.request_body(parse()))
    assert display.bar is not None
    [task] = display.bar.tasks
    assert (task.completed, task.total) == (0, 4)  # the grid's size, before the server says
    feed(display, STEPS[0])
    feed(display, STEPS[1])
    assert (task.completed, task.total, task.description) == (2, 4, "1 failed")
    feed(display, progress(1, 0, [SECOND], total=6))  # the server's count wins
    assert (task.completed, task.total) == (1, 6)
    assert task.description == "best sharpe_ratio 0.90 (price_change_threshold=-0.03, ticker=TQQQ)"
    feed(display, STEPS[4])
    assert task.completed == 2


def test_the_best_so_far_is_never_a_failed_row():
    display = sweep.SweepDisplay(Console(file=io.StringIO()), False, sweep.request_body(parse()))
    feed(display, progress(2, 2, [ROWS[2], ROWS[3]]))
    assert display.describe() == "2 failed"
    feed(display, progress(3, 2, [SECOND, ROWS[2]]))
    assert (
        display.describe() == "2 failed; best sharpe_ratio 0.90 (price_change_threshold=-0.03, ticker=TQQQ)"
    )


@pytest.mark.parametrize(
    ("walk_forward", "total"), [("folds=3", 12), ("split_date=2021-01-01", 4), ("folds=x", None)]
)
def test_walking_forward_the_total_is_the_grid_once_per_fold(walk_forward, total):
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    display = sweep.SweepDisplay(console, True, sweep.request_body(parse("--walk-forward", walk_forward)))
    assert display.bar is not None
    assert display.bar.tasks[0].total == total
    feed(display, WALK_STEPS[0])
    assert display.bar.tasks[0].description == "fold 1"


async def test_a_progress_bar_on_a_terminal_and_failures_above_it(orchestrator):
    fake = await orchestrator(steps=STEPS)
    out_file, err_file = io.StringIO(), io.StringIO()
    out = Console(force_terminal=True, file=out_file, width=160)
    assert await sweep.sweep(parse("--url", fake.url), out, Console(file=err_file, width=80)) == 0
    shown = ANSI.sub("", out_file.getvalue())
    assert "4/4" in shown
    assert "[2/4]" not in shown  # the bar, not the plain lines
    assert "combination 3 failed: INVALID_TICKER" in shown
    assert re.search(r"1\s+-0\.05\s+TQQQ\s+1\.12", shown)
    assert err_file.getvalue() == ""


# Against the real orchestrator (fake services behind it): the fakes' prices are four bars from 2020-01-02.
REAL = ["sweep", "--ticker", "TQQQ", "--start", "2020-01-01", "--end", "2020-01-08"]
REAL += ["--grid", f"{THRESHOLD}=-0.03,-0.05", "--grid", "portfolio_params.investment_per_trade=100,200"]


async def test_against_the_real_orchestrator_a_sweep_prints_every_combination_ranked(platform):
    code, out, _ = await run_command(sweep.sweep, parse("--url", await platform(), base=REAL))
    assert code == 0
    assert "[4/4] best sharpe_ratio 1.10 (price_change_threshold=" in out
    assert "Sweep ranked by sharpe_ratio, highest first: 4 combinations, 0 failed" in out
    assert re.search(r"Rank\s+price_change_threshold\s+investment_per_trade\s+Sharpe\s+Total return %", out)
    ranked = [line.split() for line in out.splitlines() if re.match(r"\s+[1-4]\s+-0\.0", line)]
    assert [row[0] for row in ranked] == ["1", "2", "3", "4"]
    assert {tuple(row[1:3]) for row in ranked} == {
        ("-0.03", "100"),
        ("-0.05", "100"),
        ("-0.03", "200"),
        ("-0.05", "200"),
    }
    assert re.search(r"calls: 16; request \S+; executed in", out)  # 3 per combination, 4 shared


async def test_against_the_real_orchestrator_a_bad_grid_path_exits_1_naming_it(platform):
    args = parse("--url", await platform(), "--grid", "portfolio_params.nope=1,2", base=REAL)
    code, _, err = await run_command(sweep.sweep, args)
    assert code == 1
    assert err.startswith("error INVALID_REQUEST: ")
    assert "portfolio_params.nope: must name a field of portfolio_params" in err


async def test_against_the_real_orchestrator_walking_forward_on_too_few_bars_exits_1(platform):
    walk_forward = "folds=2,in_sample_days=252,out_of_sample_days=63"
    args = parse("--url", await platform(), "--walk-forward", walk_forward, base=REAL)
    code, _, err = await run_command(sweep.sweep, args)
    assert code == 1
    assert err.startswith("error INSUFFICIENT_DATA: ")
    assert "  data_points: 4" in err


async def test_against_the_real_orchestrator_csv_is_the_export(platform):
    code, out, _ = await run_command(sweep.sweep, parse("--url", await platform(), "--csv", base=REAL))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"rank,index,{THRESHOLD},portfolio_params.investment_per_trade,")
    assert len(lines) == 5


async def test_against_the_real_orchestrator_walking_forward_prints_the_folds(platform):
    grid = ["--grid", f"{THRESHOLD}=-0.03,-0.05"]
    args = parse(
        "--url", await platform(), "--walk-forward", "split_date=2020-01-06", base=[*REAL[:7], *grid]
    )
    code, out, _ = await run_command(sweep.sweep, args)
    assert code == 0
    assert re.search(
        r"fold 1: in-sample 2020-01-02 to 2020-01-03, chose price_change_threshold=-0\.0[35]", out
    )
    assert re.search(r"Walk-forward ranked by sharpe_ratio, highest first: 1 fold\s*\n", out)
    [row] = [line for line in out.splitlines() if line.strip().startswith("1 ")]
    assert re.search(r"2020-01-02 to 2020-01-03 \(2 d\)\s+2020-01-06 to 2020-01-07 \(2 d\)\s+-0\.0[35]", row)
    assert re.search(r"1\.10\s+1\.10\s+\+0\.00\s*$", row)
    assert "Out of sample, joined from 1 fold: 2020-01-06 to 2020-01-07, total return +0.02 %" in out
