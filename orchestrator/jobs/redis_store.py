"""The job store in Redis (``REDIS_URL``): every process reads and writes the same jobs, and a job
outlives the restart of every process.

::

    orchestrator:v1:job:<id>              hash: the record (status, counts, times, the body)
    orchestrator:v1:job:<id>:rows         hash: setting index -> its row (JSON); a rerun overwrites
    orchestrator:v1:job:<id>:rank         sorted set: index by rank score (research/ranking.py's order)
    orchestrator:v1:job:<id>:events       stream: ``result`` (the index) per new row, then ``summary``
    orchestrator:v1:job:<id>:shards_done  set: shard numbers counted done
    orchestrator:v1:job:<id>:calls|sources|markets   provenance: calls by name, data sources, fingerprints
    orchestrator:v1:jobs:owner:<owner>    sorted set: the owner's jobs by creation (a tenant, or an address)
    orchestrator:v1:jobs:all              sorted set: every job by creation (what ``jobs:admin`` lists;
                                          each new job drops the expired among the ten oldest)
    orchestrator:v1:jobs:key:<sha256>     string: what an owner's Idempotency-Key made ("<id> <body hash>")

Every write that decides something is one script, so that two processes never both count a row,
both finish a job, or both pass an owner's limit. The stream's entry ids are the events' SSE ids.
A finished job's keys expire after JOBS__TTL_S. The scripts name keys they derive from a job id
(the owner's jobs' records): fine on one Redis, not on a cluster.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

import orjson

from orchestrator.errors import IdempotencyKeyReused, TooManyJobs
from orchestrator.jobs.backend import Created, Event, Record
from orchestrator.jobs.config import JobsConfig
from orchestrator.jobs.model import iso_seconds, now_iso, source_key
from orchestrator.research.ranking import Row

if TYPE_CHECKING:
    from redis.asyncio import Redis

# redis-py annotates each command's reply as the union of every reply type; each reply is annotated
# here as RESP2 gives it for that command (bytes), hence the ``type: ignore[assignment]`` where read.

#: A stream's entries as redis-py reads them (RESP2): (entry id, fields).
Entries = list[tuple[bytes, dict[bytes, bytes]]]

PREFIX = "orchestrator:v1:job:"
OWNER = "orchestrator:v1:jobs:owner:"
ALL = "orchestrator:v1:jobs:all"
KEY = "orchestrator:v1:jobs:key:"
#: The keys of a job besides its record, which expire with it.
PARTS = ("rows", "rank", "events", "shards_done", "calls", "sources", "markets")
INTEGERS = ("total", "done", "failed", "shards", "shards_done", "top_k")
_EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")

#: Lua's finish: the status, the times, the summary event, every key to expire. KEYS: record,
#: events, then every key of the job; ARGV[1..4]: status, now, expires_at, ttl ms.
_FINISH = """
local function finish(status, now, expires_at, ttl)
  redis.call('HSET', KEYS[1], 'status', status, 'finished_at', now, 'expires_at', expires_at)
  redis.call('XADD', KEYS[2], '*', 'k', 'summary')
  for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ttl) end
end
local function over(status)
  return (not status) or status == 'succeeded' or status == 'failed' or status == 'cancelled'
end
"""

CREATE = """
local made = KEYS[1] ~= '' and redis.call('GET', KEYS[1])
if made then
  local id, hash = string.match(made, '^(%S+) (%S+)$')
  if redis.call('EXISTS', ARGV[5] .. id) == 1 then
    if hash ~= ARGV[2] then return {'reused'} end
    return {'existing', id}
  end
end
local active = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local status = redis.call('HGET', ARGV[5] .. id, 'status')
  if not status then redis.call('ZREM', KEYS[2], id)
  elseif status == 'queued' or status == 'running' then active = active + 1 end
end
local most = tonumber(ARGV[3])
if most > 0 and active >= most then return {'full'} end
local fields = cjson.decode(ARGV[6])
for name, value in pairs(fields) do redis.call('HSET', KEYS[3], name, value) end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
for _, id in ipairs(redis.call('ZRANGE', KEYS[4], 0, 9)) do
  if redis.call('EXISTS', ARGV[5] .. id) == 0 then redis.call('ZREM', KEYS[4], id) end
end
if KEYS[1] ~= '' then redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', ARGV[7]) end
return {'created', ARGV[1]}
"""

#: KEYS: record, rows, rank, events; ARGV: index, row, score, member, now, failed (1 or 0).
PUT_ROW = (
    _FINISH
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if over(status) then return 0 end
local new = redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
if new == 1 then
  redis.call('HINCRBY', KEYS[1], 'done', 1)
  if ARGV[6] == '1' then redis.call('HINCRBY', KEYS[1], 'failed', 1) end
  if status == 'queued' then redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[5]) end
  redis.call('XADD', KEYS[4], '*', 'k', 'result', 'i', ARGV[1])
end
return new
"""
)

#: KEYS: record, events, shards_done, then the rest of the job's keys; ARGV: now, expires_at, ttl
#: ms, the shard's number. 1 when this shard ended the job.
SHARD_DONE = (
    _FINISH
    + """
if over(redis.call('HGET', KEYS[1], 'status')) then return 0 end
if redis.call('SADD', KEYS[3], ARGV[4]) == 0 then return 0 end
local done = redis.call('SCARD', KEYS[3])
redis.call('HSET', KEYS[1], 'shards_done', done)
local record = redis.call('HMGET', KEYS[1], 'shards', 'done', 'failed', 'total')
if done < tonumber(record[1]) then return 0 end
local ok = tonumber(record[2]) > tonumber(record[3]) or tonumber(record[4]) == 0
finish(ok and 'succeeded' or 'failed', ARGV[1], ARGV[2], ARGV[3])
return 1
"""
)

#: KEYS: record, events, then the rest of the job's keys; ARGV: now, expires_at, ttl ms.
CANCEL = (
    _FINISH
    + """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
if not over(status) then finish('cancelled', ARGV[1], ARGV[2], ARGV[3]) end
return 1
"""
)


def connect(url: str, config: JobsConfig) -> Redis:
    """The jobs' own client: a bounded pool, RESP2, timeouts longer than its blocking reads (which
    wait a second at most), one immediate retry on a connection error only."""
    from redis.asyncio import BlockingConnectionPool, Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError

    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=config.redis_max_connections,
        timeout=config.redis_timeout_s,
        socket_timeout=config.redis_timeout_s,
        socket_connect_timeout=config.redis_timeout_s,
        protocol=2,
        retry=Retry(NoBackoff(), 1, supported_errors=(ConnectionError,)),
        retry_on_error=[ConnectionError],
        health_check_interval=0,
    )
    return Redis.from_pool(pool)


def job_key(job: str, part: str | None = None) -> str:
    return PREFIX + job if part is None else f"{PREFIX}{job}:{part}"


class RedisJobStore:
    durable = True

    def __init__(self, client: Redis, ttl_s: float) -> None:
        #: How long an Idempotency-Key is remembered: as long as a finished job is kept.
        self.client, self.ttl_s = client, ttl_s
        self._create = client.register_script(CREATE)
        self._put_row = client.register_script(PUT_ROW)
        self._shard_done = client.register_script(SHARD_DONE)
        self._cancel = client.register_script(CANCEL)

    def valid_event_id(self, text: str) -> bool:
        return bool(_EVENT_ID.match(text))

    async def create(
        self, record: Record, owner: str, idempotency: tuple[str, str] | None, max_active: int | None
    ) -> Created:
        job = record["id"]
        key, body = (
            ("", "-") if idempotency is None else (_idempotency_key(owner, idempotency[0]), idempotency[1])
        )
        fields = {name: str(value) for name, value in {**record, "owner": owner}.items() if value is not None}
        fields |= {"done": "0", "failed": "0", "shards_done": "0"}
        ttl_ms = int(self.ttl_s * 1000)
        answer = await self._create(
            keys=[key, OWNER + owner, job_key(job), ALL],
            args=[job, body, max_active or 0, _ms(record), PREFIX, orjson.dumps(fields), ttl_ms],
        )
        verdict = answer[0].decode()
        if verdict == "reused":
            raise IdempotencyKeyReused()
        if verdict == "full":
            raise TooManyJobs(max_active or 0)
        found = await self.get(answer[1].decode())
        assert found is not None
        return Created(found, existing=verdict == "existing")

    async def get(self, job: str) -> Record | None:
        raw: dict[bytes, bytes] = await self.client.hgetall(job_key(job))  # type: ignore[assignment]
        if not raw:
            return None
        record: Record = {name.decode(): value.decode() for name, value in raw.items()}
        for name in INTEGERS:
            record[name] = int(record.get(name, 0))
        return record

    async def put_row(self, job: str, index: int, row: Row, score: float) -> bool:
        keys = [job_key(job), job_key(job, "rows"), job_key(job, "rank"), job_key(job, "events")]
        args: list[Any] = [
            index,
            orjson.dumps(row),
            repr(score),
            _member(index),
            now_iso(),
            int("error" in row),
        ]
        return bool(await self._put_row(keys=keys, args=args))

    async def shard_done(self, job: str, number: int, ttl_s: float) -> Record | None:
        keys = [
            job_key(job),
            job_key(job, "events"),
            job_key(job, "shards_done"),
            *self._rest(job, "shards_done"),
        ]
        ended = await self._shard_done(keys=keys, args=[*_finish_args(ttl_s), number])
        return await self.get(job) if ended else None

    async def cancel(self, job: str, ttl_s: float) -> Record | None:
        keys = [job_key(job), job_key(job, "events"), *self._rest(job)]
        known = await self._cancel(keys=keys, args=_finish_args(ttl_s))
        return await self.get(job) if known else None

    @staticmethod
    def _rest(job: str, *besides: str) -> list[str]:
        return [job_key(job, part) for part in PARTS if part not in ("events", *besides)]

    async def page(self, job: str, offset: int, limit: int) -> list[Row]:
        if limit <= 0:
            return []
        members: list[bytes] = await self.client.zrange(job_key(job, "rank"), offset, offset + limit - 1)  # type: ignore[assignment]
        if not members:
            return []
        rows = await self.client.hmget(job_key(job, "rows"), [int(member) for member in members])
        return [
            {"rank": None if "error" in row else offset + k + 1, **row}
            for k, row in enumerate(orjson.loads(raw) for raw in rows if raw is not None)
        ]

    async def events(self, job: str, after: str | None, count: int, wait_s: float) -> list[Event]:
        key = job_key(job, "events")
        entries: Entries = await self.client.xrange(key, f"({after}" if after else "-", "+", count=count)  # type: ignore[assignment]
        if not entries and wait_s > 0:
            answer: Any = await self.client.xread(
                {key: after or "0-0"}, count=count, block=int(wait_s * 1000)
            )
            entries = answer[0][1] if answer else []
        indices = [int(fields[b"i"]) for _, fields in entries if fields[b"k"] == b"result"]
        rows = await self.client.hmget(job_key(job, "rows"), indices) if indices else []
        by_index = {index: orjson.loads(raw) for index, raw in zip(indices, rows, strict=True) if raw}
        return [
            Event(
                entry.decode(),
                fields[b"k"].decode(),
                by_index.get(int(fields[b"i"])) if fields[b"k"] == b"result" else None,
            )
            for entry, fields in entries
        ]

    async def add_provenance(
        self, job: str, calls: dict[str, int], sources: list[dict[str, Any]], markets: set[str]
    ) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            for name, count in calls.items():
                pipe.hincrby(job_key(job, "calls"), name, count)
            for source in sources:
                pipe.hset(job_key(job, "sources"), source_key(source), orjson.dumps(source))
            if markets:
                pipe.sadd(job_key(job, "markets"), *markets)
            await pipe.execute()

    async def provenance(self, job: str) -> tuple[dict[str, int], list[dict[str, Any]], set[str]]:
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(job_key(job, "calls"))
            pipe.hgetall(job_key(job, "sources"))
            pipe.smembers(job_key(job, "markets"))
            calls, sources, markets = await pipe.execute()
        return (
            {name.decode(): int(count) for name, count in calls.items()},
            [orjson.loads(sources[key]) for key in sorted(sources)],
            {market.decode() for market in markets},
        )

    async def recent(self, owner: str | None, limit: int) -> list[Record]:
        index = ALL if owner is None else OWNER + owner
        jobs: list[bytes] = await self.client.zrevrange(index, 0, limit - 1)  # type: ignore[assignment]
        records = [await self.get(job.decode()) for job in jobs]
        gone = [job for job, record in zip(jobs, records, strict=True) if record is None]
        if gone:  # expired: the index forgets them (an owner's is also pruned as it makes a job)
            await self.client.zrem(index, *gone)
        return [record for record in records if record is not None]

    async def close(self) -> None:
        await self.client.aclose()


def _idempotency_key(owner: str, key: str) -> str:
    return KEY + hashlib.sha256(f"{owner}\n{key}".encode()).hexdigest()


def _member(index: int) -> str:
    """Zero-padded, so that rows of equal score keep the grid's order (Redis orders ties by member)."""
    return f"{index:012d}"


def _ms(record: Record) -> int:
    return int((iso_seconds(record["created_at"]) or 0) * 1000)


def _finish_args(ttl_s: float) -> list[Any]:
    return [now_iso(), now_iso(ttl_s), int(ttl_s * 1000)]
