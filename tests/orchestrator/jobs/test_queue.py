"""The shard queue, on both backends: turns over jobs, takeover after the visibility timeout,
touching, handing back, dropping."""

from __future__ import annotations

import asyncio

from orchestrator.jobs.model import new_job_id
from tests.orchestrator.jobs.conftest import VISIBILITY_S


async def claimed(queue, consumer: str = "a", wait_s: float = 0) -> list[tuple[str, int, int, int]]:
    return [
        (shard.job, shard.number, shard.start, shard.stop) for shard in await queue.claim(consumer, wait_s)
    ]


async def test_a_jobs_shards_cover_its_settings_in_order(backend):
    _, queue = backend()
    job = new_job_id()
    await queue.enqueue(job, 5)  # shards of two
    assert [await claimed(queue) for _ in range(4)] == [
        [(job, 0, 0, 2)],
        [(job, 1, 2, 4)],
        [(job, 2, 4, 5)],
        [],
    ]


async def test_claims_take_turns_over_the_jobs(backend):
    _, queue = backend()
    big, small = new_job_id(), new_job_id()
    await queue.enqueue(big, 8)
    await queue.enqueue(small, 4)
    order = []
    for _ in range(6):
        order += [(shard.job, shard.number) for shard in await queue.claim("a", 0)]
    assert order == [(big, 0), (small, 0), (big, 1), (small, 1), (big, 2), (big, 3)]


async def test_a_shard_left_untouched_past_the_visibility_timeout_goes_to_another_worker(backend):
    _, queue = backend()
    job = new_job_id()
    await queue.enqueue(job, 2)
    [lost] = await queue.claim("dead", 0)
    assert await queue.claim("alive", 0) == []
    await asyncio.sleep(VISIBILITY_S * 1.5)
    [taken] = await queue.claim("alive", 0)
    assert (taken.number, taken.start, taken.stop) == (lost.number, lost.start, lost.stop)
    assert await queue.touch(lost, "dead") is False  # the dead one, had it woken, knows it lost it


async def test_a_shard_touched_in_time_stays_with_its_worker(backend):
    _, queue = backend()
    job = new_job_id()
    await queue.enqueue(job, 2)
    [shard] = await queue.claim("a", 0)
    for _ in range(4):
        await asyncio.sleep(VISIBILITY_S / 2)
        assert await queue.touch(shard, "a") is True
    assert await queue.claim("b", 0) == []


async def test_an_acked_shard_is_never_handed_out_again(backend):
    _, queue = backend()
    job = new_job_id()
    await queue.enqueue(job, 2)
    [shard] = await queue.claim("a", 0)
    await queue.ack(shard)
    await asyncio.sleep(VISIBILITY_S * 1.5)
    assert await queue.claim("b", 0) == []


async def test_the_rest_of_a_released_shard_is_handed_out_at_once(backend):
    _, queue = backend()
    job = new_job_id()
    await queue.enqueue(job, 2)
    [shard] = await queue.claim("stopping", 0)
    await queue.release(shard, 1)
    assert await claimed(queue, "b") == [(job, 0, 1, 2)]


async def test_a_dropped_job_hands_out_nothing_more(backend):
    _, queue = backend()
    job, other = new_job_id(), new_job_id()
    await queue.enqueue(job, 6)
    await queue.enqueue(other, 2)
    [shard] = await queue.claim("a", 0)
    await queue.drop(job)
    await asyncio.sleep(1.1)  # past the time a process reuses its list of active jobs
    assert [s.job for s in await queue.claim("a", 0)] == [other]
    assert await queue.claim("a", 0) == []
    assert await queue.touch(shard, "a") is False
    await queue.release(shard, 1)  # a stopping worker's rest of a job that is over: nothing
    assert await queue.claim("a", 0) == []


async def test_a_waiting_claim_takes_a_job_submitted_meanwhile(backend):
    _, queue = backend()
    job = new_job_id()
    waiting = asyncio.ensure_future(queue.claim("a", 1.0))
    await asyncio.sleep(0.1)
    await queue.enqueue(job, 2)
    found = await asyncio.wait_for(waiting, 5)
    if not found:  # Redis: the wait ended on the wake-up; the next claim takes it
        found = await queue.claim("a", 1.0)
    assert [shard.job for shard in found] == [job]
