"""The job store, on both backends: rows counted and announced once, the ranking, shards counted
once, the end of a job, cancels, the per-client limit, Idempotency-Keys, events resumed, expiry."""

from __future__ import annotations

import asyncio
import math

import pytest

from orchestrator.errors import IdempotencyKeyReused, TooManyJobs
from orchestrator.jobs.model import rank_score
from tests.orchestrator.jobs.conftest import record


def row(index: int, sharpe: float | None = 1.0, error: bool = False) -> dict:
    if error:
        return {
            "index": index,
            "params": {},
            "error": {"code": "SERVICE_TIMEOUT", "message": "", "details": {}},
        }
    return {"index": index, "params": {"p": index}, "summary": {"sharpe_ratio": sharpe}}


async def put(store, job: str, index: int, **kwargs) -> bool:
    kept = row(index, **kwargs)
    return await store.put_row(job, index, kept, rank_score(kept, "sharpe_ratio"))


async def created(store, total: int = 4, owner: str = "192.0.2.1") -> str:
    made = await store.create(record(total), owner, None, 10)
    return made.record["id"]


async def test_a_new_job_is_queued_with_nothing_done(backend):
    store, _ = backend()
    made = await store.create(record(4), "192.0.2.1", None, 10)
    assert not made.existing
    found = await store.get(made.record["id"])
    assert (found["status"], found["total"], found["done"], found["failed"]) == ("queued", 4, 0, 0)


async def test_the_first_row_starts_the_job_and_each_row_counts_once(backend):
    store, _ = backend()
    job = await created(store)
    assert await put(store, job, 0) is True
    assert await put(store, job, 0, sharpe=2.0) is False  # run again: overwritten, not counted
    assert await put(store, job, 1, error=True) is True
    found = await store.get(job)
    assert (found["status"], found["done"], found["failed"]) == ("running", 2, 1)
    assert found["started_at"]
    assert [r["summary"]["sharpe_ratio"] for r in await store.page(job, 0, 1)] == [2.0]


async def test_a_row_run_twice_is_announced_once(backend):
    store, _ = backend()
    job = await created(store)
    await put(store, job, 0)
    await put(store, job, 0)
    await put(store, job, 1)
    events = await store.events(job, None, 100, 0)
    assert [(event.kind, event.row["index"]) for event in events] == [("result", 0), ("result", 1)]


async def test_the_ranking_is_best_first_then_missing_metrics_then_failures_ties_by_index(backend):
    store, _ = backend()
    job = await created(store, total=6)
    for index, kwargs in enumerate(
        [
            {"sharpe": 1.0},
            {"error": True},
            {"sharpe": None},
            {"sharpe": 3.0},
            {"sharpe": 1.0},
            {"sharpe": -2.0},
        ]
    ):
        await put(store, job, index, **kwargs)
    page = await store.page(job, 0, 10)
    assert [r["index"] for r in page] == [3, 0, 4, 5, 2, 1]
    assert [r["rank"] for r in page] == [1, 2, 3, 4, 5, None]
    assert [r["index"] for r in await store.page(job, 2, 2)] == [4, 5]
    assert [r["rank"] for r in await store.page(job, 2, 2)] == [3, 4]


async def test_the_last_shard_done_ends_the_job_once_with_a_summary(backend):
    store, _ = backend()
    job = await created(store, total=4)  # two shards of two
    for index in range(4):
        await put(store, job, index)
    assert await store.shard_done(job, 0, 60) is None
    assert await store.shard_done(job, 0, 60) is None  # the same shard again: not counted
    ended = await store.shard_done(job, 1, 60)
    assert ended is not None and ended["status"] == "succeeded" and ended["finished_at"]
    assert await store.shard_done(job, 1, 60) is None
    kinds = [event.kind for event in await store.events(job, None, 100, 0)]
    assert kinds == ["result"] * 4 + ["summary"]


async def test_a_job_whose_every_setting_failed_has_failed(backend):
    store, _ = backend()
    job = await created(store, total=2)
    await put(store, job, 0, error=True)
    await put(store, job, 1, error=True)
    assert (await store.shard_done(job, 0, 60))["status"] == "failed"


async def test_a_cancelled_job_keeps_no_new_row_and_says_so_once(backend):
    store, _ = backend()
    job = await created(store)
    await put(store, job, 0)
    assert (await store.cancel(job, 60))["status"] == "cancelled"
    assert (await store.cancel(job, 60))["status"] == "cancelled"
    assert await put(store, job, 1) is False
    assert await store.shard_done(job, 0, 60) is None
    assert [event.kind for event in await store.events(job, None, 100, 0)] == ["result", "summary"]
    assert await store.cancel("x" * 22, 60) is None


async def test_events_resume_after_the_last_id_seen_with_nothing_missed_or_doubled(backend):
    store, _ = backend()
    job = await created(store, total=10)
    seen, after = [], None
    for index in range(10):
        await put(store, job, index)
        if index % 3 == 2:
            events = await store.events(job, after, 100, 0)
            seen += [event.row["index"] for event in events]
            after = events[-1].id
    seen += [event.row["index"] for event in await store.events(job, after, 100, 0)]
    assert seen == list(range(10))
    assert all(store.valid_event_id(event.id) for event in await store.events(job, None, 100, 0))


async def test_a_reader_waiting_for_events_gets_the_next_one(backend):
    store, _ = backend()
    job = await created(store)
    waiting = asyncio.ensure_future(store.events(job, None, 100, 5))
    await asyncio.sleep(0.1)
    await put(store, job, 0)
    events = await asyncio.wait_for(waiting, 5)
    assert [event.kind for event in events] == ["result"]


async def test_a_client_at_its_limit_is_refused_until_one_of_its_jobs_ends(backend):
    store, _ = backend()
    first = (await store.create(record(2), "192.0.2.1", None, 2)).record["id"]
    await store.create(record(2), "192.0.2.1", None, 2)
    with pytest.raises(TooManyJobs) as refused:
        await store.create(record(2), "192.0.2.1", None, 2)
    assert refused.value.status == 429 and refused.value.details == {"max_per_client": 2}
    await store.create(record(2), "192.0.2.2", None, 2)  # another address
    await store.cancel(first, 60)
    await store.create(record(2), "192.0.2.1", None, 2)


async def test_the_same_idempotency_key_and_body_make_one_job(backend):
    store, _ = backend()
    one = await store.create(record(2), "192.0.2.1", ("key-1", "hash-a"), 10)
    two = await store.create(record(2), "192.0.2.1", ("key-1", "hash-a"), 10)
    assert two.existing and two.record["id"] == one.record["id"]
    other = await store.create(record(2), "192.0.2.9", ("key-1", "hash-a"), 10)
    assert not other.existing  # keys are each address's own
    with pytest.raises(IdempotencyKeyReused):
        await store.create(record(2), "192.0.2.1", ("key-1", "hash-b"), 10)


async def test_recent_lists_an_addresss_own_jobs_newest_first(backend):
    store, _ = backend()
    first = await created(store, owner="192.0.2.1")
    await asyncio.sleep(0.01)
    second = await created(store, owner="192.0.2.1")
    await created(store, owner="192.0.2.2")
    assert [found["id"] for found in await store.recent("192.0.2.1", 10)] == [second, first]
    assert [found["id"] for found in await store.recent("192.0.2.1", 1)] == [second]


async def test_a_job_keeps_its_owner(backend):
    store, _ = backend()
    job = await created(store, owner="tenant:a")
    assert (await store.get(job))["owner"] == "tenant:a"


async def test_without_a_limit_an_owner_may_have_any_number_of_jobs(backend):
    store, _ = backend()
    for _ in range(3):
        await store.create(record(2), "tenant:a", None, None)
    assert len(await store.recent("tenant:a", 10)) == 3


async def test_recent_of_no_owner_lists_everyone_s_jobs_newest_first(backend):
    store, _ = backend()
    first = await created(store, owner="tenant:a")
    await asyncio.sleep(0.01)
    second = await created(store, owner="tenant:b")
    assert [found["id"] for found in await store.recent(None, 10)] == [second, first]


async def test_an_expired_job_leaves_everyone_s_list(backend):
    store, _ = backend(ttl_s=0.2)
    job = await created(store, owner="tenant:a")
    await store.cancel(job, 0.2)
    await asyncio.sleep(0.4)
    assert await store.recent(None, 10) == []


async def test_a_finished_job_expires_after_its_time(backend):
    store, _ = backend(ttl_s=0.3)
    job = await created(store, total=2)
    await put(store, job, 0)
    await store.add_provenance(job, {"metrics": 1}, [{"ticker": "TQQQ"}], {"sha256:x"})
    await store.cancel(job, 0.3)
    assert await store.get(job) is not None
    await asyncio.sleep(0.5)
    assert await store.get(job) is None
    assert await store.page(job, 0, 10) == []


async def test_provenance_adds_up_calls_and_keeps_each_source_once(backend):
    store, _ = backend()
    job = await created(store)
    source = {"ticker": "TQQQ", "start_date": "2020-01-01", "end_date": "2021-01-01", "frequency": "daily"}
    await store.add_provenance(job, {"metrics": 2, "signals.active": 2}, [source], {"sha256:a"})
    await store.add_provenance(job, {"metrics": 1}, [source], {"sha256:b"})
    calls, sources, markets = await store.provenance(job)
    assert calls == {"metrics": 3, "signals.active": 2}
    assert sources == [source] and markets == {"sha256:a", "sha256:b"}


def test_scores_order_as_the_ranking_does():
    assert rank_score(row(0, sharpe=2.0), "sharpe_ratio") < rank_score(row(1, sharpe=1.0), "sharpe_ratio")
    assert rank_score(row(0, sharpe=None), "sharpe_ratio") < rank_score(row(1, error=True), "sharpe_ratio")
    assert rank_score(row(1, error=True), "sharpe_ratio") == math.inf
    cheap = {"index": 0, "summary": {"total_transaction_costs": 1.0}}
    dear = {"index": 1, "summary": {"total_transaction_costs": 5.0}}
    assert rank_score(cheap, "total_transaction_costs") < rank_score(dear, "total_transaction_costs")
