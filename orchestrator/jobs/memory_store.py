"""The job store in this process (no ``REDIS_URL``): the same behaviour as ``redis_store.py``, in
dicts, gone when the process stops (each record says ``"durable": false``)."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import IdempotencyKeyReused, TooManyJobs
from orchestrator.jobs.backend import Created, Event, Record
from orchestrator.jobs.model import FINISHED, now_iso, source_key
from orchestrator.research.ranking import Row


@dataclass
class _Job:
    record: Record
    rows: dict[int, Row] = field(default_factory=dict)
    #: (score, index) in ranking order.
    ranking: list[tuple[float, int]] = field(default_factory=list)
    #: (kind, index of the row or -1), the n-th has event id n + 1.
    events: list[tuple[str, int]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    shards_done: set[int] = field(default_factory=set)
    calls: Counter[str] = field(default_factory=Counter)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    markets: set[str] = field(default_factory=set)
    #: time.monotonic() after which a finished job is forgotten.
    expires: float | None = None


class MemoryJobStore:
    durable = False

    def __init__(self) -> None:
        self._jobs: dict[str, _Job] = {}
        self._keys: dict[tuple[str, str], tuple[str, str]] = {}

    def valid_event_id(self, text: str) -> bool:
        return text.isdigit() and len(text) < 20

    async def create(
        self, record: Record, owner: str, idempotency: tuple[str, str] | None, max_active: int | None
    ) -> Created:
        self._expire()
        if idempotency is not None:
            made = self._keys.get((owner, idempotency[0]))
            if made is not None and made[0] in self._jobs:
                if made[1] != idempotency[1]:
                    raise IdempotencyKeyReused()
                return Created(self._public(self._jobs[made[0]]), existing=True)
        mine = [job for job in self._jobs.values() if job.record["owner"] == owner]
        if max_active is not None and sum(job.record["status"] not in FINISHED for job in mine) >= max_active:
            raise TooManyJobs(max_active)
        job = _Job({**record, "owner": owner, "done": 0, "failed": 0, "shards_done": 0})
        self._jobs[record["id"]] = job
        if idempotency is not None:
            self._keys[(owner, idempotency[0])] = (record["id"], idempotency[1])
        return Created(self._public(job), existing=False)

    async def get(self, job: str) -> Record | None:
        self._expire()
        found = self._jobs.get(job)
        return None if found is None else self._public(found)

    async def put_row(self, job: str, index: int, row: Row, score: float) -> bool:
        found = self._jobs.get(job)
        if found is None or found.record["status"] in FINISHED:
            return False
        new = index not in found.rows
        if not new:
            found.ranking.remove(next(place for place in found.ranking if place[1] == index))
        found.rows[index] = row
        bisect.insort(found.ranking, (score, index))
        if new:
            record = found.record
            record["done"] += 1
            record["failed"] += "error" in row
            if record["status"] == "queued":
                record["status"], record["started_at"] = "running", now_iso()
            self._announce(found, "result", index)
        return new

    async def shard_done(self, job: str, number: int, ttl_s: float) -> Record | None:
        found = self._jobs.get(job)
        if found is None or found.record["status"] in FINISHED or number in found.shards_done:
            return None
        found.shards_done.add(number)
        record = found.record
        record["shards_done"] = len(found.shards_done)
        if record["shards_done"] < record["shards"]:
            return None
        succeeded = record["done"] > record["failed"] or record["total"] == 0
        self._finish(found, "succeeded" if succeeded else "failed", ttl_s)
        return self._public(found)

    async def cancel(self, job: str, ttl_s: float) -> Record | None:
        found = self._jobs.get(job)
        if found is None:
            return None
        if found.record["status"] not in FINISHED:
            self._finish(found, "cancelled", ttl_s)
        return self._public(found)

    def _finish(self, job: _Job, status: str, ttl_s: float) -> None:
        job.record.update(status=status, finished_at=now_iso())
        job.record["expires_at"] = now_iso(ttl_s)
        job.expires = time.monotonic() + ttl_s
        self._announce(job, "summary", -1)

    def _announce(self, job: _Job, kind: str, index: int) -> None:
        job.events.append((kind, index))
        job.changed.set()
        job.changed = asyncio.Event()

    async def page(self, job: str, offset: int, limit: int) -> list[Row]:
        found = self._jobs.get(job)
        if found is None:
            return []
        places = found.ranking[offset : offset + limit]
        return [_ranked(found.rows[index], offset + k + 1) for k, (_, index) in enumerate(places)]

    async def events(self, job: str, after: str | None, count: int, wait_s: float) -> list[Event]:
        found = self._jobs.get(job)
        if found is None:  # gone (expired): as Redis, a wait for nothing
            await asyncio.sleep(wait_s)
            return []
        first = int(after) if after else 0
        if first >= len(found.events) and wait_s > 0:
            try:
                await asyncio.wait_for(found.changed.wait(), wait_s)
            except TimeoutError:
                return []
        return [
            Event(str(n), kind, found.rows.get(index) if kind == "result" else None)
            for n, (kind, index) in enumerate(found.events[first : first + count], first + 1)
        ]

    async def add_provenance(
        self, job: str, calls: dict[str, int], sources: list[dict[str, Any]], markets: set[str]
    ) -> None:
        found = self._jobs.get(job)
        if found is not None:
            found.calls.update(calls)
            found.sources.update({source_key(source): source for source in sources})
            found.markets |= markets

    async def provenance(self, job: str) -> tuple[dict[str, int], list[dict[str, Any]], set[str]]:
        found = self._jobs.get(job)
        if found is None:
            return {}, [], set()
        return dict(found.calls), [found.sources[key] for key in sorted(found.sources)], set(found.markets)

    async def recent(self, owner: str | None, limit: int) -> list[Record]:
        self._expire()
        mine = [
            self._public(job) for job in self._jobs.values() if owner is None or job.record["owner"] == owner
        ]
        return sorted(mine, key=lambda record: record["created_at"], reverse=True)[:limit]

    async def close(self) -> None:
        self._jobs.clear()

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [key for key, job in self._jobs.items() if job.expires is not None and job.expires <= now]:
            del self._jobs[key]

    @staticmethod
    def _public(job: _Job) -> Record:
        return dict(job.record)


def _ranked(row: Row, place: int) -> Row:
    return {"rank": None if "error" in row else place, **row}
