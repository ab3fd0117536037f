"""The shard queue on Redis Streams consumer groups, used directly.

::

    orchestrator:v1:job:<id>:shards   stream, one entry per shard {n, a, b} (number, first, stop),
                                      read by the consumer group "workers"
    orchestrator:v1:jobs:active       sorted set: the jobs with shards to hand out, by creation

A claim takes turns over the active jobs: for the next job in turn, XAUTOCLAIM takes a shard whose
worker has not touched it for the visibility timeout (it died, or lost Redis), else XREADGROUP
takes a new one (``>``); a worker XACKs a shard when it is done. With nothing to take anywhere, one
XREADGROUP BLOCK waits on every active job's stream at once (with none, a plain XREAD BLOCK on
``jobs:wake``, which every new job writes to), so an idle process costs Redis one blocked read.
A worker touches its shards (XCLAIM JUSTID, only while it still owns them) every third of the
visibility timeout, so a long shard is never taken from a live worker.

Why not arq: a crashed arq worker's job comes back only after its whole job timeout
(python-arq/arq#343), and arq's unit is one function call, not a share of a consumer group.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from orchestrator.jobs.model import Shard, shard_range, shards_of
from orchestrator.jobs.redis_store import job_key

if TYPE_CHECKING:
    from redis.asyncio import Redis

GROUP = "workers"
ACTIVE = "orchestrator:v1:jobs:active"
WAKE = "orchestrator:v1:jobs:wake"
#: Shards queued per round trip when a job is submitted.
BATCH = 1000
#: How long the list of active jobs is reused before it is read again.
ACTIVE_TTL_S = 1.0

#: KEYS: stream; ARGV: group, consumer, entry. XCLAIM JUSTID (resets the entry's idle time) only
#: while ``consumer`` still owns it: 1, else 0.
TOUCH = """
local held = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
if #held == 0 then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
"""

#: KEYS: stream; ARGV: group, entry, number, start, stop. The rest of a shard as a new entry, the old
#: one acked; nothing when the job is over (its stream gone), so no stream is made without its group.
RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('XADD', KEYS[1], '*', 'n', ARGV[3], 'a', ARGV[4], 'b', ARGV[5])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
"""


def shards_key(job: str) -> str:
    return job_key(job, "shards")


class RedisShardQueue:
    def __init__(self, client: Redis, shard_size: int, visibility_timeout_s: float) -> None:
        self.client, self.shard_size, self.visibility_s = client, shard_size, visibility_timeout_s
        self._touch = client.register_script(TOUCH)
        self._release = client.register_script(RELEASE)
        self._turn = 0
        self._active: list[str] = []
        self._active_at = -ACTIVE_TTL_S
        #: When this process last looked for abandoned shards of each job.
        self._swept: dict[str, float] = {}

    async def enqueue(self, job: str, total: int) -> None:
        key = shards_key(job)
        await self.client.xgroup_create(key, GROUP, id="0", mkstream=True)
        count = shards_of(total, self.shard_size)
        for first in range(0, count, BATCH):
            async with self.client.pipeline(transaction=False) as pipe:
                for number in range(first, min(count, first + BATCH)):
                    start, stop = shard_range(number, total, self.shard_size)
                    pipe.xadd(key, {"n": number, "a": start, "b": stop})
                await pipe.execute()
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.zadd(ACTIVE, {job: time.time()})
            pipe.xadd(WAKE, {"job": job}, maxlen=100, approximate=True)
            await pipe.execute()
        self._active_at = -ACTIVE_TTL_S

    async def claim(self, consumer: str, wait_s: float) -> list[Shard]:
        from redis.exceptions import ResponseError

        jobs = await self._jobs()
        for step in range(len(jobs)):
            job = jobs[(self._turn + step) % len(jobs)]
            try:
                taken = await self._abandoned(job, consumer) or await self._new(job, consumer)
            except ResponseError:  # the job ended meanwhile: its stream is gone
                self._active_at = -ACTIVE_TTL_S
                continue
            if taken:
                self._turn = (self._turn + step + 1) % len(jobs)
                return taken
        if wait_s <= 0:
            return []
        return await self._wait(jobs, consumer, wait_s)

    async def _jobs(self) -> list[str]:
        now = time.monotonic()
        if now - self._active_at >= ACTIVE_TTL_S:
            # redis-py annotates the reply as a union of every reply type: RESP2 gives bytes here
            active: list[bytes] = await self.client.zrange(ACTIVE, 0, -1)  # type: ignore[assignment]
            self._active = [job.decode() for job in active]
            self._active_at = now
        return self._active

    async def _abandoned(self, job: str, consumer: str) -> list[Shard]:
        """A shard idle past the visibility timeout, looked for at most four times per timeout."""
        now = time.monotonic()
        if now - self._swept.get(job, -self.visibility_s) < self.visibility_s / 4:
            return []
        self._swept[job] = now
        answer = await self.client.xautoclaim(
            shards_key(job), GROUP, consumer, int(self.visibility_s * 1000), "0-0", count=1
        )
        return [_shard(job, entry, fields) for entry, fields in answer[1] if fields]

    async def _new(self, job: str, consumer: str) -> list[Shard]:
        answer = await self.client.xreadgroup(GROUP, consumer, {shards_key(job): ">"}, count=1)
        return _shards(answer)

    async def _wait(self, jobs: list[str], consumer: str, wait_s: float) -> list[Shard]:
        from redis.exceptions import ResponseError

        block = int(wait_s * 1000)
        if not jobs:
            await self.client.xread({WAKE: "$"}, block=block)
            self._active_at = -ACTIVE_TTL_S
            return []
        try:
            answer = await self.client.xreadgroup(
                GROUP, consumer, {shards_key(job): ">" for job in jobs}, count=1, block=block
            )
        except ResponseError:  # a job ended while we waited on its stream
            self._active_at = -ACTIVE_TTL_S
            return []
        return _shards(answer)

    async def touch(self, shard: Shard, consumer: str) -> bool:
        from redis.exceptions import ResponseError

        try:
            return bool(await self._touch(keys=[shards_key(shard.job)], args=[GROUP, consumer, shard.entry]))
        except ResponseError:  # the stream is gone: the job is over
            return False

    async def ack(self, shard: Shard) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.xack(shards_key(shard.job), GROUP, shard.entry)
            pipe.xdel(shards_key(shard.job), shard.entry)
            await pipe.execute()

    async def release(self, shard: Shard, start: int) -> None:
        await self._release(
            keys=[shards_key(shard.job)], args=[GROUP, shard.entry, shard.number, start, shard.stop]
        )

    async def drop(self, job: str) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.zrem(ACTIVE, job)
            pipe.delete(shards_key(job))
            await pipe.execute()
        self._swept.pop(job, None)
        self._active_at = -ACTIVE_TTL_S

    async def close(self) -> None:
        """The client is the store's, closed with it."""


def _shards(answer: Any) -> list[Shard]:
    found = []
    for key, entries in answer or []:
        job = key.decode().removeprefix(job_key("")).removesuffix(":shards")
        found += [_shard(job, entry, fields) for entry, fields in entries if fields]
    return found


def _shard(job: str, entry: bytes, fields: dict[bytes, bytes]) -> Shard:
    return Shard(job, int(fields[b"n"]), int(fields[b"a"]), int(fields[b"b"]), entry.decode())
