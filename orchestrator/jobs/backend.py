"""What a job engine's two parts do, whichever backend holds them.

The **queue** hands out shards: each job's shards wait in order, and claims take turns over the jobs
(round-robin, not first come first served), so a small job is not stuck behind a large one. A
claimed shard stays its worker's while the worker touches it; one left untouched for the
visibility timeout goes to the next claim, anywhere. The **store** keeps the jobs: their records,
every setting's row under its index (a rerun overwrites it, and is neither counted nor announced
twice), the ranking, the stream of events, and where the data came from.

``redis_queue``/``redis_store`` (durable, shared by every process) and ``memory_queue``/
``memory_store`` (this process only, gone on restart) implement them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from orchestrator.jobs.model import Shard
from orchestrator.research.ranking import Row

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a job's stream: ``id`` increases within the job; ``row`` for a ``result``."""

    id: str
    kind: str
    row: Row | None = None


@dataclass(frozen=True, slots=True)
class Created:
    """The job ``create`` answered with: a new one, or the one an Idempotency-Key made before."""

    record: Record
    existing: bool


class ShardQueue(Protocol):
    async def enqueue(self, job: str, total: int) -> None:
        """Queue ``job``'s ``total`` settings, cut in shards; it takes its turn from now on."""

    async def claim(self, consumer: str, wait_s: float) -> list[Shard]:
        """The next shard or shards (round-robin over jobs, a shard left by a dead worker first);
        none after ``wait_s`` with nothing to claim."""

    async def touch(self, shard: Shard, consumer: str) -> bool:
        """Say ``consumer`` is still at ``shard``; False when another has taken it over."""

    async def ack(self, shard: Shard) -> None:
        """``shard`` is done."""

    async def release(self, shard: Shard, start: int) -> None:
        """Give the rest of ``shard`` (from ``start``) back to the queue, at once (a process stopping)."""

    async def drop(self, job: str) -> None:
        """Nothing more of ``job`` is handed out (it is over)."""

    async def close(self) -> None: ...


class JobStore(Protocol):
    #: Whether a job survives the restart of this process.
    durable: bool

    def valid_event_id(self, text: str) -> bool: ...

    async def create(
        self, record: Record, owner: str, idempotency: tuple[str, str] | None, max_active: int | None
    ) -> Created:
        """Keep a new job of ``owner``'s, unless ``idempotency`` (key, body hash) made one already
        for ``owner``; TooManyJobs past ``max_active`` jobs queued or running for ``owner`` (None: no
        such limit); IdempotencyKeyReused for a key sent before with another body."""

    async def get(self, job: str) -> Record | None: ...

    async def put_row(self, job: str, index: int, row: Row, score: float) -> bool:
        """Keep ``row`` as setting ``index``'s; True the first time (then counted and announced)."""

    async def shard_done(self, job: str, number: int, ttl_s: float) -> Record | None:
        """Count shard ``number`` done (once, however often it ran); the record when that ended the job."""

    async def cancel(self, job: str, ttl_s: float) -> Record | None:
        """Cancel ``job`` unless it is over; its record after (None when unknown)."""

    async def page(self, job: str, offset: int, limit: int) -> list[Row]:
        """Rows ``offset`` to ``offset + limit`` of the ranking, each with its ``rank``."""

    async def events(self, job: str, after: str | None, count: int, wait_s: float) -> list[Event]:
        """Up to ``count`` events after ``after`` (from the first when None), waiting up to
        ``wait_s`` for one when there is none yet."""

    async def add_provenance(
        self, job: str, calls: dict[str, int], sources: list[dict[str, Any]], markets: set[str]
    ) -> None:
        """Add the calls made, the data sources and the market data fingerprints of some settings."""

    async def provenance(self, job: str) -> tuple[dict[str, int], list[dict[str, Any]], set[str]]: ...

    async def recent(self, owner: str | None, limit: int) -> list[Record]:
        """``owner``'s jobs (everyone's for None), newest first."""

    async def close(self) -> None: ...
