"""The client's job methods against the real orchestrator on loopback (in-process jobs, fake
services): answers as the API's models, every page, the CSV, a DataFrame, a watch that survives its
connection being cut, and every way a job exchange fails."""

from __future__ import annotations

import ast
import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from yarl import URL

import fakes
from orchestrator.client import Failed, Job, JobResults, OrchestratorClient, RankedSweepRow, SweepRow
from orchestrator.client.jobs import PANDAS_HINT
from tests.proxies import CuttingProxy

THRESHOLD = "strategy_params.config.price_change_threshold"
AMOUNT = "portfolio_params.investment_per_trade"
TEN = {THRESHOLD: [-0.01, -0.02, -0.03, -0.04, -0.05], AMOUNT: [100, 200]}
UNKNOWN = "A" * 22  # the shape of an id, of no job


def sweep_job(grid: dict[str, list[Any]] = TEN) -> dict[str, Any]:
    return {"kind": "sweep", **fakes.backtest_request(), "grid": grid, "rank_by": "sharpe_ratio"}


@pytest.fixture
def orchestrator(start):
    """``url = await orchestrator(delays)``: the real orchestrator over fake services, jobs in process."""

    async def make(delays: dict[str, float] | None = None) -> str:
        client, _ = await start(delays, jobs={"shard_size": 3, "progress_interval_s": 0.05})
        return str(client.make_url("/"))

    return make


async def finished_job(url: str, body: dict[str, Any] | None = None) -> Job:
    async with OrchestratorClient(url, timeout_s=30) as client:
        job = await client.submit_job(body or sweep_job())
        return await client.wait_job(job.id, poll_s=0.02)


async def test_a_submitted_job_is_a_job_model_and_waits_until_it_succeeded(orchestrator):
    url = await orchestrator()
    async with OrchestratorClient(url, timeout_s=30) as client:
        job = await client.submit_job(sweep_job())
        assert isinstance(job, Job)
        assert (job.kind, job.status, job.total, job.durable) == ("sweep", "queued", 10, False)
        done = await client.wait_job(job.id, poll_s=0.02)
    assert (done.id, done.status, done.done, done.failed) == (job.id, "succeeded", 10, 0)
    assert done.calls_total == 3 * 10 + 4 and done.fingerprint is not None


async def test_the_same_idempotency_key_makes_one_job(orchestrator):
    url = await orchestrator()
    async with OrchestratorClient(url, timeout_s=30) as client:
        first = await client.submit_job(sweep_job(), idempotency_key="grid-7")
        again = await client.submit_job(sweep_job(), idempotency_key="grid-7")
        other = await client.submit_job(sweep_job())
        listed = await client.jobs()
    assert again.id == first.id != other.id
    assert [job.id for job in listed] == [other.id, first.id]


async def test_a_results_page_holds_ranked_rows(orchestrator):
    url = await orchestrator()
    job = await finished_job(url)
    async with OrchestratorClient(url, timeout_s=30) as client:
        page = await client.job_results(job.id, offset=2, limit=3)
    assert isinstance(page, JobResults)
    assert (page.offset, page.limit, page.total, page.status) == (2, 3, 10, "succeeded")
    assert [row.rank for row in page.rows] == [3, 4, 5]
    assert all(isinstance(row, RankedSweepRow) and row.summary is not None for row in page.rows)


async def test_iterating_the_results_reads_every_page_once(orchestrator):
    url = await orchestrator()
    job = await finished_job(url)
    async with OrchestratorClient(url, timeout_s=30) as client:
        rows = [row async for row in client.iter_job_results(job.id, page_size=3)]
        whole = (await client.job_results(job.id, limit=100)).rows
    assert rows == whole
    assert [row.rank for row in rows] == list(range(1, 11))


async def test_the_csv_is_the_whole_table(orchestrator):
    url = await orchestrator()
    job = await finished_job(url)
    async with OrchestratorClient(url, timeout_s=30) as client:
        csv = await client.job_csv(job.id)
    lines = csv.splitlines()
    assert lines[0].startswith(f"rank,index,{THRESHOLD},{AMOUNT},")
    assert len(lines) == 11


async def test_the_results_frame_has_a_column_per_path_and_metric(orchestrator):
    url = await orchestrator()
    job = await finished_job(url)
    async with OrchestratorClient(url, timeout_s=30) as client:
        frame = await client.results_frame(job.id)
    assert len(frame) == 10
    assert {"rank", "index", THRESHOLD, AMOUNT, "sharpe_ratio", "excess_return_pct"} <= set(frame.columns)
    assert list(frame["rank"]) == list(range(1, 11))
    assert frame["sharpe_ratio"].is_monotonic_decreasing


async def test_the_results_frame_without_pandas_names_the_install(orchestrator, monkeypatch):
    url = await orchestrator()
    job = await finished_job(url)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    async with OrchestratorClient(url, timeout_s=30) as client:
        with pytest.raises(Failed, match="pip install pandas") as failed:
            await client.results_frame(job.id)
    assert str(failed.value) == PANDAS_HINT


async def test_a_watch_gets_every_result_once_then_the_summary(orchestrator):
    url = await orchestrator({"/calculate": 0.02})
    async with OrchestratorClient(url, timeout_s=30) as client:
        job = await client.submit_job(sweep_job())
        events = [event async for event in client.watch_job(job.id)]
    results = [event for event in events if event.kind == "result"]
    assert sorted(row.data.index for row in results if isinstance(row.data, SweepRow)) == list(range(10))
    assert len({event.id for event in results}) == 10
    assert events[0].kind == "progress"
    assert (events[-1].kind, events[-1].data.status) == ("summary", "succeeded")  # type: ignore[union-attr]


async def test_a_watch_resumes_after_its_connection_is_cut_and_loses_or_repeats_nothing(orchestrator):
    url = await orchestrator()
    job = await finished_job(url)  # its stream replays every result, so the cuts fall mid-stream
    proxy = CuttingProxy(URL(url), cuts=3)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with OrchestratorClient(f"http://127.0.0.1:{port}", timeout_s=30) as client:
            events = [event async for event in client.watch_job(job.id, retry_s=0.01)]
    finally:
        server.close()
    results = [event.data.index for event in events if event.kind == "result"]  # type: ignore[union-attr]
    assert proxy.cut == 3
    assert [b"Last-Event-ID" in request for request in proxy.events_requests()] == [False, True, True, True]
    assert sorted(results) == list(range(10))  # 2 kept before each cut, the rest after the last
    assert events[-1].kind == "summary"


async def test_a_cancelled_job_says_so(orchestrator):
    url = await orchestrator({"/calculate": 0.5})
    async with OrchestratorClient(url, timeout_s=30) as client:
        job = await client.submit_job(sweep_job())
        cancelled = await client.cancel_job(job.id)
        over = await client.wait_job(job.id, poll_s=0.02)
    assert cancelled.status == over.status == "cancelled"
    assert over.done < 10


@pytest.mark.parametrize(
    "call",
    [
        lambda client: client.job(UNKNOWN),
        lambda client: client.cancel_job(UNKNOWN),
        lambda client: client.job_results(UNKNOWN),
        lambda client: client.job_csv(UNKNOWN),
        lambda client: anext(client.watch_job(UNKNOWN)),
    ],
    ids=["status", "cancel", "results", "csv", "watch"],
)
async def test_an_unknown_job_is_not_found(orchestrator, call):
    url = await orchestrator()
    async with OrchestratorClient(url, timeout_s=30) as client:
        with pytest.raises(Failed, match="NOT_FOUND") as failed:
            await call(client)
    assert (failed.value.exit_code, failed.value.code) == (1, "NOT_FOUND")


async def test_a_refused_body_is_the_orchestrators_error(orchestrator):
    url = await orchestrator()
    async with OrchestratorClient(url, timeout_s=30) as client:
        with pytest.raises(Failed) as failed:
            await client.submit_job({"kind": "sweep", **fakes.backtest_request()})  # no grid
    assert (failed.value.exit_code, failed.value.code) == (1, "INVALID_REQUEST")


async def _events_server(aiohttp_server, streams: list[bytes]) -> tuple[str, list[str | None]]:
    """A fake ``/events`` answering one canned stream per connection: its URL, and the
    ``Last-Event-ID`` each connection sent."""
    asked: list[str | None] = []

    async def events(request: web.Request) -> web.StreamResponse:
        asked.append(request.headers.get("Last-Event-ID"))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(streams[min(len(asked), len(streams)) - 1])
        return response

    app = web.Application()
    app.router.add_get(f"/api/jobs/{UNKNOWN}/events", events)
    return str((await aiohttp_server(app)).make_url("")), asked


ERROR = (
    '{"success": false, "error": {"code": "SERVICE_UNAVAILABLE", "message": "redis is down", "details": {}}}'
)
UNAVAILABLE = f"event: error\ndata: {ERROR}\n\n".encode()
RESULT = b'event: result\nid: 7\ndata: {"index": 0, "params": {}}\n\n'


async def test_a_watch_gives_up_after_as_many_drops_in_a_row_as_it_may_reconnect(aiohttp_server):
    url, asked = await _events_server(aiohttp_server, [RESULT, UNAVAILABLE])
    async with OrchestratorClient(url, timeout_s=5) as client:
        seen = []
        with pytest.raises(Failed, match=r"redis is down \(3 times in a row: gave up\)") as failed:
            async for event in client.watch_job(UNKNOWN, reconnects=2, retry_s=0.01):
                seen.append(event.id)
    assert seen == ["7"]
    assert asked == [None, "7", "7"]  # the end of a stream without a summary is a drop too
    assert failed.value.code == "SERVICE_UNAVAILABLE"


async def test_a_watch_of_an_unreachable_orchestrator_gives_up():
    async with OrchestratorClient("http://127.0.0.1:1", timeout_s=5) as client:
        with pytest.raises(Failed, match=r"(?s)cannot connect.*2 times in a row") as failed:
            await anext(client.watch_job(UNKNOWN, reconnects=1, retry_s=0.01))
    assert failed.value.exit_code == 2


async def test_the_notebook_example_of_the_docs_runs(orchestrator, capsys):
    """docs/api.md's example, as a notebook cell would run it (top-level ``await``), on loopback."""
    url = await orchestrator()
    docs = (Path(__file__).parents[3] / "docs" / "api.md").read_text()
    cell = docs.split("### From Python")[1].split("```python\n")[1].split("```")[0]
    cell = cell.replace("http://127.0.0.1:8011", url).replace("table.head(10)", "shown = table.head(10)")
    code = compile(cell, "docs/api.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    names: dict[str, Any] = {}
    await eval(code, names)  # a coroutine, as top-level await makes it
    assert len(names["table"]) == 30 * 4 and list(names["shown"]["rank"]) == list(range(1, 11))
    printed = re.findall(r"^\d+/120, about \S+ s left$", capsys.readouterr().out, re.MULTILINE)
    assert printed  # the progress, printed as it came (between the server's log lines)
