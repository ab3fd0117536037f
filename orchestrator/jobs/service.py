"""The jobs of one application: submit, read, page, watch, cancel and list, over the store and the
queue (Redis with ``REDIS_URL``, else this process), and the worker that runs them here.

Every job has an owner (a tenant with ``AUTH__MODE`` on, else the client's address). A reader is an
owner, or None for one who may see every job (``jobs:admin``): to any other, another's job is
NOT_FOUND, as one that does not exist, so that its id is not confirmed."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import orjson

from orchestrator.backtest.admission import Admission
from orchestrator.backtest.fingerprint import of_markets, of_request
from orchestrator.backtest.graph import Backtester
from orchestrator.errors import NotFound, ServiceUnavailable
from orchestrator.jobs.backend import Event, JobStore, Record, ShardQueue
from orchestrator.jobs.config import JobsConfig
from orchestrator.jobs.memory_queue import MemoryShardQueue
from orchestrator.jobs.memory_store import MemoryJobStore
from orchestrator.jobs.model import eta_s, is_job_id, new_job_id, now_iso, shards_of
from orchestrator.jobs.plan import JobPlan, plan_job
from orchestrator.jobs.runner import Worker
from orchestrator.limits import RequestLimits
from orchestrator.research.ranking import Row

#: What a record holds that its readers are not shown: the body (they sent it), who sent it, and
#: whose quota it holds.
PRIVATE = frozenset({"document", "owner", "quota", "shards", "shards_done", "fingerprint_request"})
#: Rows per read when the whole table is streamed.
PAGE = 500


class Jobs:
    def __init__(self, store: JobStore, queue: ShardQueue, config: JobsConfig, limits: RequestLimits) -> None:
        self.store, self.queue, self.config, self.limits = store, queue, config, limits
        self.worker: Worker | None = None
        #: Set when the process stops: open event streams end.
        self.closing = False
        #: Called with the record of a job that has just ended (here, whoever made it): gives back
        #: what it held of its tenant's quota.
        self.on_end: Callable[[Record], None] = lambda record: None

    @classmethod
    def connect(cls, redis_url: str | None, config: JobsConfig, limits: RequestLimits) -> Jobs:
        if redis_url is None:
            return cls(
                MemoryJobStore(),
                MemoryShardQueue(config.shard_size, config.visibility_timeout_s),
                config,
                limits,
            )
        from orchestrator.jobs.redis_queue import RedisShardQueue
        from orchestrator.jobs.redis_store import RedisJobStore, connect

        client = connect(redis_url, config)
        store = RedisJobStore(client, config.ttl_s)
        return cls(
            store, RedisShardQueue(client, config.shard_size, config.visibility_timeout_s), config, limits
        )

    def start_worker(self, backtester: Backtester, admission: Admission) -> None:
        self.worker = Worker(
            self.store, self.queue, self.config, self.limits, backtester, admission, self._ended
        )
        self.worker.start()

    async def stop_worker(self) -> None:
        self.closing = True
        if self.worker is not None:
            await self.worker.stop()

    async def close(self) -> None:
        await self.stop_worker()
        await self.queue.close()
        await self.store.close()

    # --- the API's operations ---------------------------------------------------------------------

    def plan(self, document: Any) -> JobPlan:
        """What ``document`` asks for, checked (INVALID_REQUEST when it cannot run)."""
        return plan_job(document, self.limits, self.config.max_settings)

    async def submit(
        self,
        document: Any,
        plan: JobPlan,
        owner: str,
        idempotency_key: str | None,
        *,
        max_active: int | None,
        job: str | None = None,
        quota: str | None = None,
    ) -> tuple[Record, bool]:
        """The job made of ``document`` for ``owner`` (or the one ``owner``'s ``idempotency_key``
        made before), and whether it existed already. ``job`` is its id when one is held for it, and
        ``quota`` whose quota it holds until it ends."""
        job_id = job or new_job_id()
        record = {
            "id": job_id,
            "kind": plan.kind,
            "status": "queued",
            "total": plan.total,
            "shards": shards_of(plan.total, self.config.shard_size),
            "rank_by": plan.rank_by,
            "order": plan.order,
            "top_k": plan.top_k,
            "quota": quota,
            "created_at": now_iso(),
            "document": orjson.dumps(document).decode(),
            "fingerprint_request": of_request(plan.canonical),
        }
        body = hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
        key = None if idempotency_key is None else (idempotency_key, body)
        with store_errors():
            created = await self.store.create(record, owner, key, max_active)
            if not created.existing:
                await self._enqueue(job_id, plan.total)
        return created.record, created.existing

    async def _enqueue(self, job: str, total: int) -> None:
        """Queue the job's shards; if that fails, cancel it, so that it holds no place of its
        owner's limit while nothing can run it."""
        try:
            await self.queue.enqueue(job, total)
        except Exception:
            with suppress(Exception):
                cancelled = await self.store.cancel(job, self.config.ttl_s)
                if cancelled is not None:
                    self._ended(cancelled)
            raise

    async def record(self, job: str, reader: str | None) -> Record:
        """The job's record; NOT_FOUND for an id that is malformed, unknown, expired, or another
        owner's than ``reader`` (None reads every job)."""
        if not is_job_id(job):
            raise job_not_found()
        with store_errors():
            found = await self.store.get(job)
        if found is None or (reader is not None and found.get("owner") != reader):
            raise job_not_found()
        return found

    async def status(self, job: str, reader: str | None) -> dict[str, Any]:
        record = await self.record(job, reader)
        with store_errors():
            calls, sources, markets = await self.store.provenance(job)
        return self.public(record) | {
            "calls": calls,
            "calls_total": sum(calls.values()),
            "fingerprint": {
                "request": record.get("fingerprint_request"),
                "market_data": of_markets(markets) if markets else None,
            },
            "data_sources": sources,
        }

    def public(self, record: Record) -> dict[str, Any]:
        shown = {name: value for name, value in record.items() if name not in PRIVATE}
        for name in ("started_at", "finished_at", "expires_at"):
            shown.setdefault(name, None)
        return {
            **shown,
            "durable": self.store.durable,
            "succeeded": record["done"] - record["failed"],
            "eta_s": eta_s(record),
            "links": links(record["id"]),
        }

    async def page(self, job: str, reader: str | None, offset: int, limit: int) -> tuple[Record, list[Row]]:
        record = await self.record(job, reader)
        with store_errors():
            return record, await self.store.page(job, offset, limit)

    async def all_rows(self, job: str) -> AsyncIterator[list[Row]]:
        """The whole ranked table, ``PAGE`` rows at a time, read from the store as it is sent."""
        offset = 0
        while True:
            with store_errors():
                rows = await self.store.page(job, offset, PAGE)
            if not rows:
                return
            yield rows
            offset += len(rows)

    async def events(self, job: str, after: str | None, wait_s: float) -> list[Event]:
        with store_errors():
            return await self.store.events(job, after, 100, wait_s)

    async def cancel(self, job: str, reader: str | None) -> Record:
        await self.record(job, reader)
        with store_errors():
            record = await self.store.cancel(job, self.config.ttl_s)
            await self.queue.drop(job)
        if record is None:  # expired between the two reads
            raise job_not_found()
        self._ended(record)
        return record

    async def recent(self, reader: str | None, limit: int) -> list[Record]:
        with store_errors():
            return await self.store.recent(reader, limit)

    def _ended(self, record: Record) -> None:
        """A job is over: what it held is given back (more than once is harmless)."""
        self.on_end(record)


def links(job: str) -> dict[str, str]:
    base = f"/api/jobs/{job}"
    return {"self": base, "results": f"{base}/results", "events": f"{base}/events"}


def job_not_found() -> NotFound:
    return NotFound("No such job: it never existed, or it finished more than JOBS__TTL_S ago", {})


@contextmanager
def store_errors() -> Iterator[None]:
    """Redis failing answers 503 SERVICE_UNAVAILABLE naming it, never a 500."""
    try:
        yield
    except Exception as error:
        if type(error).__module__.split(".")[0] != "redis":
            raise
        raise ServiceUnavailable(
            "redis", "The jobs' store (Redis) is unavailable; try again shortly"
        ) from error
