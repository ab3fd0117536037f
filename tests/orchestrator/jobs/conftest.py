"""Each engine test runs on both backends: in the process, and on a real Redis (``redis-server``,
skipped without one unless ``REQUIRE_REDIS=1``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from orchestrator.jobs.backend import JobStore, ShardQueue
from orchestrator.jobs.config import JobsConfig
from orchestrator.jobs.memory_queue import MemoryShardQueue
from orchestrator.jobs.memory_store import MemoryJobStore
from orchestrator.jobs.model import new_job_id, now_iso, shards_of
from tests.orchestrator.cache.redis_server import RedisServer, require_binary

#: Small shards and a short visibility timeout, so that the tests see several of each quickly.
SHARD_SIZE, VISIBILITY_S = 2, 0.3


@pytest.fixture(scope="session")
def jobs_redis() -> Iterator[RedisServer]:
    server = RedisServer(require_binary()).start()
    yield server
    server.stop()


@pytest.fixture(params=["memory", "redis"])
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def backend(backend_name: str, request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., Any]]:
    """``backend()``: a (store, queue) pair; on Redis, each pair a client of its own on one database
    (two pairs are two processes)."""
    made: list[tuple[JobStore, ShardQueue]] = []
    url = None
    if backend_name == "redis":
        server = request.getfixturevalue("jobs_redis")
        assert server.command(b"FLUSHALL") == b"+OK"
        url = server.url

    def make(ttl_s: float = 60.0) -> tuple[JobStore, ShardQueue]:
        if url is None:
            pair: tuple[JobStore, ShardQueue] = (MemoryJobStore(), MemoryShardQueue(SHARD_SIZE, VISIBILITY_S))
        else:
            from orchestrator.jobs.redis_queue import RedisShardQueue
            from orchestrator.jobs.redis_store import RedisJobStore, connect

            client = connect(url, JobsConfig())
            pair = (RedisJobStore(client, ttl_s), RedisShardQueue(client, SHARD_SIZE, VISIBILITY_S))
        made.append(pair)
        return pair

    yield make
    for store, queue in made:
        await queue.close()
        await store.close()


def record(total: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": new_job_id(),
        "kind": "sweep",
        "status": "queued",
        "total": total,
        "shards": shards_of(total, SHARD_SIZE),
        "rank_by": "sharpe_ratio",
        "order": "descending",
        "top_k": 5,
        "created_at": now_iso(),
        "document": "{}",
        **fields,
    }
