"""/api/jobs over fake services on loopback, on both backends: in the process (no REDIS_URL) and on
a real Redis (``redis-server``): submit, status, results (paged, CSV), events (resumed), cancel, the
limits, and the envelope for every refusal."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import orjson
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

import fakes
from orchestrator.web.keys import ADMISSION, BACKTESTER, JOBS
from tests.orchestrator.jobs.conftest import backend_name, jobs_redis  # noqa: F401 (fixtures)

THRESHOLD = "strategy_params.config.price_change_threshold"
AMOUNT = "portfolio_params.investment_per_trade"
TEN = {THRESHOLD: [-0.01, -0.02, -0.03, -0.04, -0.05], AMOUNT: [100, 200]}
UNKNOWN = "A" * 22  # the shape of an id, of no job


def sweep_job(grid: dict[str, list[Any]] | None = None, **options: Any) -> dict[str, Any]:
    return {
        "kind": "sweep",
        **fakes.backtest_request(),
        "grid": grid or {THRESHOLD: [-0.03, -0.05, -0.07]},
        **options,
    }


@pytest.fixture
def serve(start, backend_name, request):  # noqa: F811
    """``await serve(delays, **settings)``: (client, call log), with REDIS_URL on the Redis backend."""

    async def make(delays: dict[str, float] | None = None, **settings: Any):
        if backend_name == "redis":
            server = request.getfixturevalue("jobs_redis")
            assert server.command(b"FLUSHALL") == b"+OK"
            settings["redis_url"] = server.url
        settings["jobs"] = {"shard_size": 3, **settings.get("jobs", {})}
        return await start(delays, **settings)

    return make


async def submitted(client: Any, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = await client.post("/api/jobs", json=body, headers=headers)
    answer = await response.json()
    assert response.status == 202, answer
    assert response.headers["Location"] == f"/api/jobs/{answer['data']['id']}"
    return answer["data"]


async def status_of(client: Any, job: str) -> dict[str, Any]:
    return (await (await client.get(f"/api/jobs/{job}")).json())["data"]


async def until(check: Any, timeout_s: float = 30) -> Any:
    """Until ``await check()`` is true (the store has no event to wait on from here); its value."""
    async with asyncio.timeout(timeout_s):
        while True:
            if found := await check():
                return found
            await asyncio.sleep(0.02)


async def finished(client: Any, job: str) -> dict[str, Any]:
    async def over() -> dict[str, Any] | None:
        status = await status_of(client, job)
        return status if status["status"] in ("succeeded", "failed", "cancelled") else None

    return await until(over)


async def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    body = await response.json()
    assert (response.status, body["success"], body["error"]["code"]) == (status, False, code), body
    return body["error"]


async def read_events(response: Any, results: int | None = None) -> list[tuple[str | None, str, Any]]:
    """(id, event, data) until ``summary``, or until ``results`` results have been read."""
    events, fields = [], {}
    async for raw in response.content:
        line = raw.decode().rstrip("\r\n")
        if line:
            name, _, value = line.partition(": ")
            fields[name] = value
            continue
        if "event" in fields:
            events.append((fields.get("id"), fields["event"], orjson.loads(fields["data"])))
            if fields["event"] == "summary":
                break
            if results is not None and sum(kind == "result" for _, kind, _ in events) == results:
                break
        fields = {}
    return events


async def test_a_sweep_job_is_accepted_then_runs_every_setting_ranked(serve, backend_name):  # noqa: F811
    client, _ = await serve()
    job = await submitted(client, sweep_job())
    assert (job["status"], job["total"], job["durable"]) == ("queued", 3, backend_name == "redis")
    assert len(job["id"]) == 22
    status = await finished(client, job["id"])
    assert (status["status"], status["done"], status["failed"], status["succeeded"]) == ("succeeded", 3, 0, 3)
    assert status["created_at"] <= status["started_at"] <= status["finished_at"] < status["expires_at"]
    assert status["eta_s"] == 0
    results = (await (await client.get(f"/api/jobs/{job['id']}/results")).json())["data"]
    assert [row["rank"] for row in results["rows"]] == [1, 2, 3]
    assert sorted(row["params"][THRESHOLD] for row in results["rows"]) == [-0.07, -0.05, -0.03]
    assert all({"summary", "comparison"} <= row.keys() for row in results["rows"])


async def test_the_status_says_where_the_data_came_from_and_what_was_called(serve):
    client, log = await serve(cache={"enabled": False})
    job = await submitted(client, sweep_job(TEN))
    status = await finished(client, job["id"])
    assert [source["ticker"] for source in status["data_sources"]] == [fakes.TICKER]
    assert status["fingerprint"]["request"].startswith("sha256:")
    assert status["fingerprint"]["market_data"].startswith("sha256:")
    # the market data and the baseline once per job (one process), three calls per setting
    assert {path: len(times) for path, times in log.started.items()} == {
        "/prices": 1, "/dividends": 1, "/signals": 11, "/simulate": 11, "/calculate": 10
    }  # fmt: skip
    assert status["calls_total"] == 3 * 10 + 4


async def test_results_come_in_pages(serve):
    client, _ = await serve()
    job = await submitted(client, sweep_job(TEN))
    await finished(client, job["id"])
    whole = (await (await client.get(f"/api/jobs/{job['id']}/results")).json())["data"]["rows"]
    page = (await (await client.get(f"/api/jobs/{job['id']}/results?offset=4&limit=3")).json())["data"]
    assert (page["offset"], page["limit"], page["total"]) == (4, 3, 10)
    assert page["rows"] == whole[4:7]
    assert [row["rank"] for row in page["rows"]] == [5, 6, 7]


@pytest.mark.parametrize(
    "query",
    ["offset=-1", "limit=0", "limit=1001", "offset=x", "offset=%C2%B2", "offset=1000000001", "format=xml"],
)
async def test_a_bad_page_is_refused_with_the_envelope(serve, query):
    client, _ = await serve()
    job = await submitted(client, sweep_job())
    await refused(await client.get(f"/api/jobs/{job['id']}/results?{query}"), 400, "INVALID_REQUEST")


async def test_the_whole_table_as_csv_best_first(serve):
    client, _ = await serve()
    job = await submitted(client, sweep_job(TEN))
    await finished(client, job["id"])
    response = await client.get(f"/api/jobs/{job['id']}/results?format=csv")
    assert response.status == 200 and response.content_type == "text/csv"
    table = list(csv.reader(io.StringIO(await response.text())))
    assert table[0][:4] == ["rank", "index", THRESHOLD, AMOUNT] and "sharpe_ratio" in table[0]
    assert [line[0] for line in table[1:]] == [str(rank) for rank in range(1, 11)]
    rows = (await (await client.get(f"/api/jobs/{job['id']}/results")).json())["data"]["rows"]
    assert [int(line[1]) for line in table[1:]] == [row["index"] for row in rows]


async def test_the_event_stream_sends_each_result_once_with_increasing_ids_then_the_summary(serve):
    client, _ = await serve()
    job = await submitted(client, sweep_job(TEN))
    async with client.get(f"/api/jobs/{job['id']}/events") as response:
        assert response.status == 200 and response.content_type == "text/event-stream"
        events = await read_events(response)
    results = [(event_id, data) for event_id, kind, data in events if kind == "result"]
    assert sorted(data["index"] for _, data in results) == list(range(10))
    ids = [event_id for event_id, _ in results]
    assert len(set(ids)) == 10 and ids == sorted(ids, key=lambda text: tuple(map(int, text.split("-"))))
    assert events[0][1] == "progress" and events[0][0] is None  # progress carries no id
    summary_id, kind, summary = events[-1]
    assert kind == "summary" and summary_id is not None
    assert (summary["status"], summary["done"]) == ("succeeded", 10)
    assert [row["rank"] for row in summary["top"]] == [1, 2, 3, 4, 5]


async def test_a_client_reconnecting_five_times_with_last_event_id_gets_every_result_once(serve):
    client, _ = await serve({"/simulate": 0.02}, jobs={"concurrency": 2})
    grid = {THRESHOLD: [-(n + 1) / 100 for n in range(10)], AMOUNT: [100, 200, 300]}
    job = await submitted(client, sweep_job(grid))
    seen: list[int] = []
    last: str | None = None
    for _ in range(5):
        headers = {} if last is None else {"Last-Event-ID": last}
        async with client.get(f"/api/jobs/{job['id']}/events", headers=headers) as response:
            events = await read_events(response, results=4)  # then the connection drops
        results = [(event_id, data) for event_id, kind, data in events if kind == "result"]
        seen += [data["index"] for _, data in results]
        last = results[-1][0]
    async with client.get(f"/api/jobs/{job['id']}/events", headers={"Last-Event-ID": last}) as response:
        events = await read_events(response)
    seen += [data["index"] for _, kind, data in events if kind == "result"]
    assert events[-1][1] == "summary"
    assert sorted(seen) == list(range(30))  # each once: none missed, none twice


async def test_a_stream_opened_after_the_end_replays_everything_then_the_summary(serve):
    client, _ = await serve()
    job = await submitted(client, sweep_job())
    await finished(client, job["id"])
    async with client.get(f"/api/jobs/{job['id']}/events") as response:
        events = await read_events(response)
    assert [kind for _, kind, _ in events] == ["progress", "result", "result", "result", "summary"]


async def test_a_malformed_last_event_id_is_refused(serve):
    client, _ = await serve()
    job = await submitted(client, sweep_job())
    response = await client.get(f"/api/jobs/{job['id']}/events", headers={"Last-Event-ID": "yesterday"})
    await refused(response, 400, "INVALID_REQUEST")


async def test_cancel_stops_the_calls_in_flight_and_starts_nothing_more(serve):
    client, log = await serve({"/simulate": 5.0}, jobs={"concurrency": 4})
    job = await submitted(client, sweep_job(TEN))
    while len(log.started.get("/simulate", [])) < 4:  # noqa: ASYNC110 - the fakes' log has no event for it
        await asyncio.sleep(0.02)
    response = await client.delete(f"/api/jobs/{job['id']}")
    assert response.status == 200 and (await response.json())["data"]["status"] == "cancelled"
    await asyncio.wait_for(log.cancelled_event.wait(), 1.0)  # within a second
    await asyncio.sleep(0.5)
    started = sum(len(times) for times in log.started.values())
    await asyncio.sleep(0.5)
    assert sum(len(times) for times in log.started.values()) == started
    status = await status_of(client, job["id"])
    assert (status["status"], status["done"]) == ("cancelled", 0) and status["finished_at"]
    async with client.get(f"/api/jobs/{job['id']}/events") as events:
        assert (await read_events(events))[-1][2]["status"] == "cancelled"


async def test_cancelling_a_finished_job_leaves_it_as_it_ended(serve):
    client, _ = await serve()
    job = await submitted(client, sweep_job())
    await finished(client, job["id"])
    response = await client.delete(f"/api/jobs/{job['id']}")
    assert (await response.json())["data"]["status"] == "succeeded"


@pytest.mark.parametrize("job", [UNKNOWN, "x", "not-an-id-but-22-chars", "A" * 23])
@pytest.mark.parametrize(
    "method, suffix", [("GET", ""), ("GET", "/results"), ("GET", "/events"), ("DELETE", "")]
)
async def test_an_unknown_or_malformed_id_is_not_found(serve, job, method, suffix):
    client, _ = await serve()
    error = await refused(await client.request(method, f"/api/jobs/{job}{suffix}"), 404, "NOT_FOUND")
    assert "job" in error["message"]


async def test_a_client_over_its_job_limit_is_refused_and_another_address_is_not(serve):
    client, _ = await serve(
        {"/simulate": 2.0}, jobs={"max_per_client": 1}, edge={"trusted_proxies": ["127.0.0.1/32"]}
    )
    await submitted(client, sweep_job(), **{"X-Forwarded-For": "203.0.113.7"})
    response = await client.post("/api/jobs", json=sweep_job(), headers={"X-Forwarded-For": "203.0.113.7"})
    error = await refused(response, 429, "TOO_MANY_JOBS")
    assert error["details"] == {"max_per_client": 1}
    await submitted(client, sweep_job(), **{"X-Forwarded-For": "203.0.113.8"})


async def test_the_list_shows_an_addresss_own_jobs_newest_first(serve):
    client, _ = await serve(edge={"trusted_proxies": ["127.0.0.1/32"]})
    mine = {"X-Forwarded-For": "203.0.113.7"}
    first = await submitted(client, sweep_job(), **mine)
    second = await submitted(client, sweep_job(), **mine)
    await submitted(client, sweep_job(), **{"X-Forwarded-For": "203.0.113.8"})
    listed = (await (await client.get("/api/jobs", headers=mine)).json())["data"]["jobs"]
    assert [job["id"] for job in listed] == [second["id"], first["id"]]
    assert all(not {"owner", "quota", "document"} & set(job) for job in listed)
    await refused(await client.get("/api/jobs?limit=0"), 400, "INVALID_REQUEST")


async def test_the_same_body_with_the_same_idempotency_key_makes_one_job(serve):
    client, _ = await serve()
    first = await submitted(client, sweep_job(), **{"Idempotency-Key": "k-1"})
    response = await client.post("/api/jobs", json=sweep_job(), headers={"Idempotency-Key": "k-1"})
    assert response.status == 202 and response.headers["Idempotent-Replayed"] == "true"
    assert (await response.json())["data"]["id"] == first["id"]
    other = await client.post("/api/jobs", json=sweep_job(top_k=2), headers={"Idempotency-Key": "k-1"})
    await refused(other, 422, "IDEMPOTENCY_KEY_REUSED")
    third = await submitted(client, sweep_job())  # no key: a job each time
    assert third["id"] != first["id"]


async def test_a_bad_idempotency_key_is_refused(serve):
    client, _ = await serve()
    response = await client.post("/api/jobs", json=sweep_job(), headers={"Idempotency-Key": "k" * 256})
    await refused(response, 400, "INVALID_REQUEST")


@pytest.mark.parametrize(
    "body",
    [
        {"grid": {THRESHOLD: [-0.05]}},
        sweep_job(walk_forward={"split_date": "2020-01-05"}),
        sweep_job({"nowhere": [1]}),
        {"kind": "sweep"},
    ],
)
async def test_a_job_that_cannot_run_is_refused_before_it_is_made(serve, body):
    client, _ = await serve()
    await refused(await client.post("/api/jobs", json=body), 400, "INVALID_REQUEST")
    assert (await (await client.get("/api/jobs")).json())["data"]["jobs"] == []


async def test_a_body_that_is_not_json_is_refused(serve):
    client, _ = await serve()
    await refused(
        await client.post("/api/jobs", data=b"{", headers={"Content-Type": "application/json"}),
        400,
        "INVALID_REQUEST",
    )


async def test_more_settings_than_jobs_max_settings_are_refused(serve):
    client, _ = await serve(jobs={"max_settings": 9})
    error = await refused(await client.post("/api/jobs", json=sweep_job(TEN)), 400, "INVALID_REQUEST")
    assert (error["details"]["settings"], error["details"]["max_settings"]) == (10, 9)


async def test_a_setting_that_is_not_a_valid_request_is_a_row_with_its_error(serve):
    client, _ = await serve()
    job = await submitted(client, sweep_job({AMOUNT: [100, -5]}))
    status = await finished(client, job["id"])
    assert (status["status"], status["done"], status["failed"]) == ("succeeded", 2, 1)
    rows = (await (await client.get(f"/api/jobs/{job['id']}/results")).json())["data"]["rows"]
    assert rows[-1]["rank"] is None and rows[-1]["error"]["code"] == "INVALID_REQUEST"


async def test_a_comparison_job_ranks_its_strategies(serve):
    client, _ = await serve()
    body = {key: value for key, value in fakes.backtest_request().items() if key != "strategy_params"}
    strategies = [
        {"name": f"dip {n}%", "strategy_type": "buy_the_dip", "config": {"price_change_threshold": -n / 100}}
        for n in (3, 5, 7)
    ]
    job = await submitted(client, {"kind": "compare", **body, "strategies": strategies})
    assert (await finished(client, job["id"]))["status"] == "succeeded"
    rows = (await (await client.get(f"/api/jobs/{job['id']}/results")).json())["data"]["rows"]
    assert sorted(row["params"]["name"] for row in rows) == ["dip 3%", "dip 5%", "dip 7%"]


async def test_job_work_leaves_room_under_the_admission_limit_for_interactive_backtests(serve):
    admission = {"min_limit": 4, "initial_limit": 4, "max_limit": 4}
    client, _ = await serve({"/simulate": 0.05}, admission=admission, jobs={"concurrency": 8})
    gate = client.app[ADMISSION]
    seen: list[int] = []

    async def sample() -> None:
        while True:
            seen.append(gate.limit.in_flight)
            await asyncio.sleep(0.002)

    sampling = asyncio.ensure_future(sample())
    job = await submitted(
        client, sweep_job({THRESHOLD: [-(n + 1) / 100 for n in range(15)], AMOUNT: [100, 200]})
    )
    await until(lambda: _is_running(client, job["id"]))
    answer = await client.post("/api/backtest", json=fakes.backtest_request())
    assert answer.status == 200, await answer.json()  # a place was left for it
    interactive_done = len(seen)
    await finished(client, job["id"])
    sampling.cancel()
    assert max(seen[interactive_done:]) == 3  # eight lanes, yet a quarter of the limit kept free


async def _is_running(client: Any, job: str) -> bool:
    return (await status_of(client, job))["done"] > 0


async def test_a_job_stopped_with_its_process_hands_its_shards_back(serve):
    client, _ = await serve({"/simulate": 0.05}, jobs={"concurrency": 2})
    job = await submitted(client, sweep_job(TEN))
    jobs = client.app[JOBS]

    async def two_done() -> bool:
        return bool((await status_of(client, job["id"]))["done"] >= 2)

    await until(two_done)
    await jobs.stop_worker()
    handed_back = await jobs.queue.claim("successor", 0)
    assert handed_back and handed_back[0].job == job["id"] and handed_back[0].start > 0


async def test_a_process_with_jobs_worker_off_takes_jobs_but_runs_none(serve):
    client, log = await serve(jobs={"worker": False})
    job = await submitted(client, sweep_job())
    await asyncio.sleep(0.5)
    assert (await status_of(client, job["id"]))["status"] == "queued"
    assert log.started == {}


async def test_an_unreachable_redis_is_503_naming_it_never_a_500(start):
    from orchestrator.cli.platform import free_port

    client, _ = await start(redis_url=f"redis://127.0.0.1:{free_port()}/0", jobs={"worker": False})
    error = await refused(await client.post("/api/jobs", json=sweep_job()), 503, "SERVICE_UNAVAILABLE")
    assert error["details"]["service"] == "redis"
    await refused(await client.get(f"/api/jobs/{UNKNOWN}"), 503, "SERVICE_UNAVAILABLE")


async def test_redis_going_away_mid_stream_ends_it_with_an_error_event(start):
    from tests.orchestrator.cache.redis_server import RedisServer, require_binary

    server = RedisServer(require_binary()).start()
    try:
        client, _ = await start(redis_url=server.url, jobs={"worker": False, "progress_interval_s": 0.1})
        job = await submitted(client, sweep_job())
        async with client.get(f"/api/jobs/{job['id']}/events") as response:
            first = await response.content.readline()
            server.stop()
            text = (await response.content.read()).decode()
    finally:
        server.stop()
    assert first.startswith(b"event: progress")
    assert "event: error" in text and "SERVICE_UNAVAILABLE" in text and '"service":"redis"' in text


async def test_a_shard_handed_back_with_nothing_left_is_counted_done_by_whoever_claims_it(serve):
    client, _ = await serve(jobs={"worker": False})
    jobs = client.app[JOBS]
    job = (await submitted(client, sweep_job()))["id"]  # one shard of three settings
    [shard] = await jobs.queue.claim("stopped-as-it-finished", 0)
    for index in range(3):
        row = {"index": index, "params": {}, "summary": {"sharpe_ratio": 1.0}}
        await jobs.store.put_row(job, index, row, -1.0)
    await jobs.queue.release(shard, shard.stop)  # stopped after its last row, before counting the shard
    jobs.start_worker(client.app[BACKTESTER], client.app[ADMISSION])
    assert (await finished(client, job))["status"] == "succeeded"


async def test_jobs_take_turns_so_a_small_one_is_not_stuck_behind_a_large_one(serve):
    client, _ = await serve({"/simulate": 0.01}, jobs={"concurrency": 1})
    large = await submitted(
        client, sweep_job({THRESHOLD: [-(n + 1) / 100 for n in range(15)], AMOUNT: [100, 200]})
    )
    small = await submitted(client, sweep_job())  # one shard, behind ten of the large job's
    assert (await finished(client, small["id"]))["status"] == "succeeded"
    assert (await status_of(client, large["id"]))["done"] <= 9  # at most three of its shards first


async def test_a_job_whose_shards_cannot_be_queued_is_cancelled_and_refused(serve):
    client, _ = await serve(jobs={"worker": False, "max_per_client": 1})
    jobs = client.app[JOBS]

    async def broken(job: str, total: int) -> None:
        raise RedisConnectionError("Redis went away")

    jobs.queue.enqueue = broken
    await refused(await client.post("/api/jobs", json=sweep_job()), 503, "SERVICE_UNAVAILABLE")
    [made] = (await (await client.get("/api/jobs")).json())["data"]["jobs"]
    assert made["status"] == "cancelled"  # and so it holds no place of the address's one
    del jobs.queue.enqueue
    await submitted(client, sweep_job())


async def test_a_worker_that_lost_its_shard_to_another_stops_its_settings_and_hands_nothing_back(serve):
    client, log = await serve({"/simulate": 5.0}, jobs={"concurrency": 1, "visibility_timeout_s": 0.6})
    jobs = client.app[JOBS]
    job = await submitted(client, sweep_job())
    while len(log.started.get("/simulate", [])) < 2:  # noqa: ASYNC110 - the fakes' log has no event for it
        await asyncio.sleep(0.02)

    async def taken_over(shard: Any, consumer: str) -> bool:
        return False

    jobs.queue.touch = taken_over  # as when another worker has claimed it meanwhile
    await asyncio.wait_for(log.cancelled_event.wait(), 2.0)  # within a third of the timeout, and a bit
    released: list[Any] = []

    async def release(shard: Any, start: int) -> None:
        released.append(shard)

    jobs.queue.release = release
    await jobs.stop_worker()
    assert released == []
    assert (await status_of(client, job["id"]))["done"] == 0
