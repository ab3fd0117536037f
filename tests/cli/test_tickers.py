"""``orchestrator tickers QUERY`` against the real orchestrator (the fake services behind it)."""

from __future__ import annotations

import argparse
import json

from orchestrator.cli import tickers
from orchestrator.cli.platform import free_port
from tests.cli.conftest import run_command


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="orchestrator")
    tickers.register(parser.add_subparsers())
    return parser.parse_args(["tickers", *argv])


async def test_the_matches_are_printed_as_a_table(platform):
    code, out, err = await run_command(tickers.tickers, parse("qqq", "--url", await platform()))
    assert (code, err) == (0, "")
    lines = [line.split() for line in out.splitlines() if line.strip()]
    assert lines[0] == ["Symbol", "Name", "Kind", "Exchange"]
    assert [line[0] for line in lines[2:]] == ["TQQQ", "SQQQ"]
    assert "ProShares UltraPro QQQ" in out and "NASDAQ" in out


async def test_json_prints_the_answer_as_it_came(platform):
    code, out, _ = await run_command(tickers.tickers, parse("apple", "--json", "--url", await platform()))
    answer = json.loads(out)
    assert (code, answer["data"]["query"]) == (0, "apple")
    assert [item["symbol"] for item in answer["data"]["results"]] == ["AAPL"]


async def test_no_match_says_so_and_succeeds(platform):
    code, out, _ = await run_command(tickers.tickers, parse("qwxz", "--url", await platform()))
    assert (code, out.strip()) == (0, "No ticker matches 'qwxz'.")


async def test_an_invalid_limit_is_the_orchestrators_error_and_exit_1(platform):
    code, _, err = await run_command(tickers.tickers, parse("a", "--limit", "0", "--url", await platform()))
    assert code == 1
    assert err.startswith("error INVALID_REQUEST:")
    assert "limit: must be a whole number from 1 to 50" in err


async def test_no_orchestrator_is_exit_2():
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = await run_command(tickers.tickers, parse("a", "--url", url))
    assert code == 2
    assert "cannot connect to the orchestrator" in err
