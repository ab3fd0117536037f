"""The shard queue in this process (no ``REDIS_URL``): the same turns as ``redis_queue.py``.

Each job's shards wait as a range (the next number, the count), never as a list, whatever the
job's size; a claimed shard is pending until acked, and one untouched for the visibility timeout
is handed out again (here that only happens when a worker's task died without acking).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from orchestrator.jobs.model import Shard, shard_range, shards_of


@dataclass
class _Queue:
    total: int
    next: int
    count: int
    #: Shards handed back (a stopping worker's rest, a taken-over shard): before the next new one.
    returned: deque[Shard] = field(default_factory=deque)
    #: Claimed and not acked: the entry -> (shard, consumer, last touched).
    pending: dict[str, tuple[Shard, str, float]] = field(default_factory=dict)


class MemoryShardQueue:
    def __init__(self, shard_size: int, visibility_timeout_s: float) -> None:
        self.shard_size, self.visibility_s = shard_size, visibility_timeout_s
        self._jobs: dict[str, _Queue] = {}
        self._turn = 0
        self._entries = 0
        self._wake = asyncio.Event()

    async def enqueue(self, job: str, total: int) -> None:
        self._jobs[job] = _Queue(total, 0, shards_of(total, self.shard_size))
        self._wake.set()

    async def claim(self, consumer: str, wait_s: float) -> list[Shard]:
        shard = self._next(consumer)
        if shard is None and wait_s > 0:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), wait_s)
            except TimeoutError:
                return []
            shard = self._next(consumer)
        return [] if shard is None else [shard]

    def _next(self, consumer: str) -> Shard | None:
        jobs = list(self._jobs)
        for step in range(len(jobs)):
            job = jobs[(self._turn + step) % len(jobs)]
            shard = self._take(job, self._jobs[job])
            if shard is not None:
                self._turn = (self._turn + step + 1) % max(1, len(jobs))
                self._jobs[job].pending[shard.entry] = (shard, consumer, time.monotonic())
                return shard
        return None

    def _take(self, job: str, queue: _Queue) -> Shard | None:
        now = time.monotonic()
        for entry, (shard, _, touched) in list(queue.pending.items()):
            if now - touched >= self.visibility_s:
                del queue.pending[entry]
                return self._entry(shard)
        if queue.returned:
            return self._entry(queue.returned.popleft())
        if queue.next < queue.count:
            number, queue.next = queue.next, queue.next + 1
            return self._entry(Shard(job, number, *shard_range(number, queue.total, self.shard_size)))
        return None

    def _entry(self, shard: Shard) -> Shard:
        self._entries += 1
        return Shard(shard.job, shard.number, shard.start, shard.stop, str(self._entries))

    async def touch(self, shard: Shard, consumer: str) -> bool:
        queue = self._jobs.get(shard.job)
        held = None if queue is None else queue.pending.get(shard.entry)
        if held is None or held[1] != consumer:
            return False
        queue.pending[shard.entry] = (held[0], consumer, time.monotonic())  # type: ignore[union-attr]
        return True

    async def ack(self, shard: Shard) -> None:
        queue = self._jobs.get(shard.job)
        if queue is not None:
            queue.pending.pop(shard.entry, None)

    async def release(self, shard: Shard, start: int) -> None:
        queue = self._jobs.get(shard.job)
        if queue is not None and queue.pending.pop(shard.entry, None) is not None:
            queue.returned.append(Shard(shard.job, shard.number, start, shard.stop))
            self._wake.set()

    async def drop(self, job: str) -> None:
        self._jobs.pop(job, None)

    async def close(self) -> None:
        self._jobs.clear()
