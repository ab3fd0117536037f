"""``orchestrator job`` against the real orchestrator on loopback (jobs in its process, fake
services behind it): submit, watch (a bar with the best rows, or lines; resumed after a cut),
status, results, cancel, list, and every way a job command fails."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
from typing import Any

import pytest
from rich.console import Console
from yarl import URL

from fakes.services import fake_services
from orchestrator.cli import job
from orchestrator.registry import SERVICES
from orchestrator.settings import Settings
from orchestrator.web.app import create_app
from tests.cli.conftest import run_command
from tests.proxies import CuttingProxy

THRESHOLD = "strategy_params.config.price_change_threshold"
SWEEP = ["--ticker", "TQQQ", "--start", "2020-01-01", "--end", "2020-01-08"]
SWEEP += [
    "--grid",
    f"{THRESHOLD}=-0.01,-0.02,-0.03,-0.04,-0.05",
    "--grid",
    "portfolio_params.investment_per_trade=100,200",
]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
UNKNOWN = "A" * 22  # the shape of an id, of no job
FAST = {"jobs": {"shard_size": 3, "progress_interval_s": 0.05}}


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="orchestrator")
    job.register(parser.add_subparsers())
    return parser.parse_args(["job", *argv])


async def run(*argv: str) -> tuple[int, str, str]:
    args = parse(*argv)
    return await run_command(args.command, args)


@pytest.fixture
def served(aiohttp_server: Any, orchestrator_server: Any):
    """``url = await served(delays)``: the real orchestrator, fake services behind it slowed by ``delays``."""

    async def start(delays: dict[str, float] | None = None) -> str:
        services = str((await aiohttp_server(fake_services(delays))).make_url("")).rstrip("/")
        urls = {entry.url_setting: services for entry in SERVICES}
        server = await orchestrator_server(create_app(Settings(**urls, **FAST)))
        return str(server.make_url("/"))

    return start


async def submitted(url: str) -> str:
    code, out, _ = await run("submit", *SWEEP, "--url", url)
    assert code == 0, out
    return re.search(r"job (\S+): a sweep of 10 settings", out)[1]  # type: ignore[index]


async def test_submit_prints_the_jobs_id_and_how_to_watch_it(served):
    url = await served()
    code, out, _ = await run("submit", *SWEEP, "--url", url)
    assert code == 0
    found = re.fullmatch(
        r"job (\S{22}): a sweep of 10 settings, queued\nwatch it: orchestrator job watch \1\n", out
    )
    assert found, out


async def test_submit_with_the_same_idempotency_key_finds_the_same_job(served):
    url = await served()
    first = await run("submit", *SWEEP, "--url", url, "--idempotency-key", "k1", "--json")
    again = await run("submit", *SWEEP, "--url", url, "--idempotency-key", "k1", "--json")
    assert json.loads(first[1])["id"] == json.loads(again[1])["id"]


async def test_submit_and_watch_prints_progress_lines_then_the_best_rows(served):
    url = await served({"/calculate": 0.02})
    code, out, _ = await run("submit", *SWEEP, "--url", url, "--watch")
    assert code == 0, out
    assert re.search(r"^\[\d+/10\] (queued|running)", out, re.MULTILINE)
    assert re.search(
        r"Job \S+ succeeded: 10 of 10 settings, 0 failed; the best 5, ranked by sharpe_ratio", out
    )
    ranks = [line.split()[0] for line in out.splitlines() if re.match(r"\s+[1-5]\s+-0\.0", line)]
    assert ranks == ["1", "2", "3", "4", "5"]
    assert re.search(r"calls: 34; ran [\d.]+ s; every row: orchestrator job results \S+", out)


async def test_watch_on_a_terminal_draws_the_bar_and_the_best_so_far(served):
    url = await served()
    job_id = await submitted(url)
    out_file = io.StringIO()
    args = parse("watch", "--url", url, "--", job_id)
    code = await args.command(
        args, Console(file=out_file, force_terminal=True, width=140), Console(file=io.StringIO())
    )
    shown = ANSI.sub("", out_file.getvalue())
    assert code == 0
    assert "10/10" in shown and "Best so far" in shown
    assert "succeeded: 10 of 10 settings" in shown


async def test_watch_resumes_after_the_connection_is_cut_and_says_so(served):
    url = await served()
    job_id = await submitted(url)
    await run("status", "--url", url, "--", job_id)
    proxy = CuttingProxy(URL(url), cuts=2)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        code, out, _ = await run("watch", "--url", f"http://127.0.0.1:{port}", "--", job_id)
    finally:
        server.close()
    assert code == 0, out
    assert (
        len(re.findall(r"lost the event stream \(lost the connection to .*\); resuming after event \d+", out))
        == 2
    )
    assert "succeeded: 10 of 10 settings" in out


async def test_watch_with_json_prints_the_summary_only(served):
    url = await served()
    job_id = await submitted(url)
    code, out, err = await run("watch", "--url", url, "--json", "--", job_id)
    summary = json.loads(out)
    assert (code, summary["id"], summary["status"], len(summary["top"])) == (0, job_id, "succeeded", 5)
    assert re.match(r"\[\d+/10\] (queued|running|succeeded)", err)  # the progress, on stderr


async def test_status_says_how_far_when_and_where(served):
    url = await served()
    job_id = await submitted(url)
    await run("watch", "--url", url, "--json", "--", job_id)
    code, out, _ = await run("status", "--url", url, "--", job_id)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"job {job_id}: a sweep, succeeded, 10/10 done"
    assert re.match(r"created \S+Z; started \S+Z; finished \S+Z; expires \S+Z$", lines[1])
    assert lines[2] == "calls: 34; in this process only: gone when it stops"


async def test_results_prints_a_page_and_where_the_rest_is(served):
    url = await served()
    job_id = await submitted(url)
    await run("watch", "--url", url, "--json", "--", job_id)
    code, out, _ = await run("results", "--url", url, "--offset", "2", "--limit", "3", "--", job_id)
    assert code == 0
    assert f"Job {job_id} succeeded (10/10 done), ranked by sharpe_ratio: rows 3-5" in out
    assert [line.split()[0] for line in out.splitlines() if re.match(r"\s+\d+\s+-0\.0", line)] == [
        "3",
        "4",
        "5",
    ]
    assert "more: --offset 5, or --csv for every row" in out


async def test_results_as_csv_is_the_whole_table(served):
    url = await served()
    job_id = await submitted(url)
    await run("watch", "--url", url, "--json", "--", job_id)
    code, out, _ = await run("results", "--url", url, "--csv", "--", job_id)
    assert code == 0
    assert out.splitlines()[0].startswith(f"rank,index,{THRESHOLD},")
    assert len(out.splitlines()) == 11


async def test_cancel_stops_a_running_job_and_watching_it_exits_1(served):
    url = await served({"/calculate": 0.5})
    job_id = await submitted(url)
    code, out, _ = await run("cancel", "--url", url, "--", job_id)
    assert (code, out.split(":")[0]) == (0, f"job {job_id} cancelled")
    code, out, _ = await run("watch", "--url", url, "--", job_id)
    assert code == 1
    assert f"Job {job_id} cancelled" in out


async def test_cancel_of_a_finished_job_leaves_it(served):
    url = await served()
    job_id = await submitted(url)
    await run("watch", "--url", url, "--json", "--", job_id)
    code, out, _ = await run("cancel", "--url", url, "--", job_id)
    assert (code, out) == (0, f"job {job_id} had already succeeded: left as it ended\n")


async def test_list_shows_this_addresss_jobs_newest_first(served):
    url = await served()
    first, second = await submitted(url), await submitted(url)
    code, out, _ = await run("list", "--url", url)
    assert code == 0
    listed = [line.split()[0] for line in out.splitlines() if re.match(r"\s*\S{22}\s+sweep", line)]
    assert listed == [second, first]


async def test_list_with_no_jobs_says_so(served):
    code, out, _ = await run("list", "--url", await served())
    assert (code, out) == (0, "no jobs from this address (finished jobs expire after JOBS__TTL_S)\n")


async def test_a_body_file_submits_any_job(served, tmp_path):
    import fakes

    body = {"kind": "compare", **fakes.backtest_request(), "strategies": [
        {"name": "dip", "strategy_type": "buy_the_dip", "config": {"price_change_threshold": -0.05}},
        {"name": "dca", "strategy_type": "dollar_cost_average", "config": {"frequency": "monthly"}},
    ]}  # fmt: skip
    body.pop("strategy_params")
    path = tmp_path / "job.json"
    path.write_text(json.dumps(body))
    code, out, err = await run("submit", "--body", str(path), "--url", await served())
    assert code == 0, err
    assert re.match(r"job \S+: a compare of 2 settings, queued", out)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["submit", "--ticker", "TQQQ"],
            "error: give --start, --end, --grid (a sweep's flags), or --body FILE",
        ),
        (["submit", "--body", "/nonexistent/job.json"], "error: [Errno 2] No such file or directory"),
    ],
)
async def test_submit_without_a_whole_request_exits_2(served, argv, said):
    code, _, err = await run(*argv, "--url", await served())
    assert code == 2 and err.startswith(said)


async def test_a_body_without_its_kind_exits_2(served, tmp_path):
    path = tmp_path / "job.json"
    path.write_text('{"grid": {}}')
    code, _, err = await run("submit", "--body", str(path), "--url", await served())
    assert (code, err) == (2, 'error: --body: a job body needs its "kind" ("sweep" or "compare")\n')


@pytest.mark.parametrize("action", ["status", "watch", "results", "cancel"])
async def test_an_unknown_job_exits_1_naming_the_error(served, action):
    code, _, err = await run(action, UNKNOWN, "--url", await served())
    assert code == 1 and err.startswith("error NOT_FOUND:")


async def test_a_refused_submit_exits_1_with_the_orchestrators_error(served):
    code, _, err = await run("submit", *SWEEP, "--url", await served(), "--rank-by", "nope")
    assert code == 1 and err.startswith("error INVALID_REQUEST:")


async def test_an_orchestrator_not_running_exits_2():
    code, _, err = await run("list", "--url", "http://127.0.0.1:1")
    assert code == 2 and err.startswith("cannot connect to the orchestrator at http://127.0.0.1:1")


@pytest.mark.parametrize(("job_id", "said"), [("Ab3_xY", "Ab3_xY"), ("-b3_xY", "-- -b3_xY")])
def test_an_id_is_printed_so_that_it_can_be_pasted_after_a_command(job_id, said):
    """An id is URL-safe base64, so it may start with "-", which argparse reads as an option."""
    assert job.command_id(job_id) == said
    assert parse("watch", *said.split()).id == job_id
