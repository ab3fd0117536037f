"""Quotas per tenant: a token bucket of requests, and holds on what runs (backtests in flight, jobs).

Each request takes a token from its tenant's bucket (``QUOTA__REQUESTS_PER_S`` refilling up to
``QUOTA__BURST``); a request that runs a backtest also holds one of its tenant's
``QUOTA__BACKTESTS_IN_FLIGHT`` until it ends. A key with a quota of its own has a bucket and holds
of its own; the others share their tenant's.

With ``REDIS_URL`` set, every replica shares them through Redis, in one round trip per request (a
script that refills, takes, and holds at once, on Redis' clock); the hold is given back after the
answer, off its path, and ends by itself after ``ttl_s`` should its replica die. Redis away: each
replica limits on its own until Redis answers again (one warning for the outage), as the cache does.

Jobs (``web/auth.py``, ``web/routes/jobs.py``): making one takes its request's token with a
``Hold("jobs", <the job's id>, ...)``, and ``spend``s its settings on the tenant's day; the hold is
given back by ``release_of`` the subject kept in the job's record, on whichever replica ends it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

from orchestrator.auth.caller import Caller
from orchestrator.auth.config import Limits, QuotaConfig

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = structlog.get_logger("orchestrator.auth")

NAMESPACE = "orchestrator:v1:quota"
#: After Redis failed, how long each replica limits on its own before it asks Redis again.
RETRY_S = 5.0

#: KEYS: bucket, holds (or the bucket again when nothing is held). ARGV: rate, burst, hold limit
#: (0: hold nothing), member, hold seconds. Returns {1 taken | 0 over the rate | 2 too many held,
#: tokens left (a string: Redis would cut a number to an integer)}.
TAKE = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local limit, ttl = tonumber(ARGV[3]), tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local code = 0
if tokens >= 1 then
  code = 1
  if limit > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
    if redis.call('ZCARD', KEYS[2]) >= limit then
      code = 2
    else
      redis.call('ZADD', KEYS[2], now + ttl, ARGV[4])
      redis.call('EXPIRE', KEYS[2], math.ceil(ttl) + 1)
    end
  end
  if code == 1 then tokens = tokens - 1 end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {code, tostring(tokens)}
"""

#: KEYS: the day's counter. ARGV: amount, limit, seconds to the day's end. 1 spent, else 0.
SPEND = """
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
if spent + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


@dataclass(frozen=True, slots=True)
class Hold:
    """Something a tenant runs while it runs: ``kind`` (``backtests``, ``jobs``), an id, a life."""

    kind: str
    member: str
    ttl_s: float


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether the request may go on, and what the ``RateLimit`` headers say."""

    allowed: bool
    limits: Limits
    tokens: float
    #: Why not: ``rate`` or the held kind (``backtests``).
    over: str | None = None

    @property
    def retry_after_s(self) -> float:
        if self.over == "rate":
            return max(1.0, (1 - self.tokens) / self.limits.requests_per_s)
        return 1.0

    def headers(self) -> dict[str, str]:
        """The IETF draft's fields (draft-ietf-httpapi-ratelimit-headers): the policy (``q``
        requests in a window of ``w`` seconds: the burst, refilled at the rate) and what is left
        (``r`` requests, all back in ``t`` seconds)."""
        rate, burst = self.limits.requests_per_s, self.limits.burst
        window = max(1, math.ceil(burst / rate))
        remaining = max(0, math.floor(self.tokens))
        reset = max(0, math.ceil((burst - self.tokens) / rate))
        return {
            "RateLimit-Policy": f'"tenant";q={burst};w={window}',
            "RateLimit": f'"tenant";r={remaining};t={reset}',
        }


def subject_of(caller: Caller) -> str:
    """Whose bucket: a key with a quota of its own has its own, the rest their tenant's."""
    return f"key:{caller.key_id}" if caller.quota is not None else f"tenant:{caller.tenant}"


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class LocalQuotas:
    """The buckets and holds of this process alone."""

    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, _Bucket] = field(default_factory=dict)
    holds: dict[str, dict[str, float]] = field(default_factory=dict)
    spent: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def take(self, subject: str, limits: Limits, hold: Hold | None) -> Decision:
        now = self.clock()
        bucket = self.buckets.setdefault(subject, _Bucket(limits.burst, now))
        bucket.tokens = min(limits.burst, bucket.tokens + (now - bucket.at) * limits.requests_per_s)
        bucket.at = now
        if bucket.tokens < 1:
            return Decision(False, limits, bucket.tokens, "rate")
        if hold is not None:
            held = self.holds.setdefault(f"{subject}:{hold.kind}", {})
            for member in [member for member, until in held.items() if until <= now]:
                del held[member]
            if len(held) >= _limit_of(limits, hold.kind):
                return Decision(False, limits, bucket.tokens, hold.kind)
            held[hold.member] = now + hold.ttl_s
        bucket.tokens -= 1
        return Decision(True, limits, bucket.tokens)

    def release(self, subject: str, hold: Hold) -> None:
        self.holds.get(f"{subject}:{hold.kind}", {}).pop(hold.member, None)

    def spend(self, subject: str, what: str, amount: int, limit: int) -> bool:
        day = _today()
        spent = self.spent.get((subject, what, day), 0)
        if spent + amount > limit:
            return False
        self.spent = {key: value for key, value in self.spent.items() if key[2] == day}
        self.spent[(subject, what, day)] = spent + amount
        return True


def _limit_of(limits: Limits, kind: str) -> int:
    return {"backtests": limits.backtests_in_flight, "jobs": limits.jobs_active}[kind]


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


class Quotas:
    """Each caller's quota, taken locally or through Redis."""

    def __init__(self, config: QuotaConfig, redis: Redis | None = None) -> None:
        self.config, self.redis = config, redis
        self.local = LocalQuotas()
        self._take = redis.register_script(TAKE) if redis is not None else None
        self._spend = redis.register_script(SPEND) if redis is not None else None
        self._retry_at: float | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def limits(self, caller: Caller) -> Limits:
        return self.config.limits(caller.tenant, caller.quota)

    async def take(self, caller: Caller, hold: Hold | None = None) -> Decision:
        """A request's token (and ``hold``, when given): allowed, or over which quota."""
        subject, limits = subject_of(caller), self.limits(caller)
        if self._take is None or not self._redis_due():
            return self.local.take(subject, limits, hold)
        keys = [_key(subject, "bucket"), _key(subject, hold.kind) if hold else _key(subject, "bucket")]
        args: list[float | str] = [limits.requests_per_s, limits.burst]
        args += [
            _limit_of(limits, hold.kind) if hold else 0,
            hold.member if hold else "",
            hold.ttl_s if hold else 0,
        ]
        try:
            code, tokens = await self._take(keys=keys, args=args)
        except Exception as error:
            self._failed(error)
            return self.local.take(subject, limits, hold)
        self._retry_at = None
        code = int(code)
        over = None if code == 1 else ("rate" if code == 0 else hold.kind if hold else "rate")
        return Decision(code == 1, limits, float(tokens), over)

    def release(self, caller: Caller, hold: Hold) -> None:
        """Give a hold back: now, locally; in the background, through Redis."""
        self.release_of(subject_of(caller), hold)

    def release_of(self, subject: str, hold: Hold) -> None:
        """``release`` for the holder ``subject_of`` named: a job ended where its caller is not known."""
        self.local.release(subject, hold)
        if self.redis is not None:
            task = asyncio.get_running_loop().create_task(self._release_shared(subject, hold))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _release_shared(self, subject: str, hold: Hold) -> None:
        assert self.redis is not None
        try:
            await self.redis.zrem(_key(subject, hold.kind), hold.member)
        except Exception as error:  # it ends by itself after its ttl
            self._failed(error)

    async def spend(self, caller: Caller, what: str, amount: int) -> bool:
        """Count ``amount`` of ``what`` (``settings``) against the caller's day; False if over."""
        subject, limit = subject_of(caller), self.limits(caller).settings_per_day
        if self._spend is None or not self._redis_due():
            return self.local.spend(subject, what, amount, limit)
        now = datetime.now(UTC)
        left_s = 86_400 - (now.hour * 3600 + now.minute * 60 + now.second)
        try:
            day = _key(subject, f"{what}:{_today()}")
            spent = await self._spend(keys=[day], args=[amount, limit, left_s])
        except Exception as error:
            self._failed(error)
            return self.local.spend(subject, what, amount, limit)
        return bool(spent)

    async def refund(self, caller: Caller, what: str, amount: int) -> None:
        """Give back what ``spend`` counted for something that did not happen after all."""
        await self.spend(caller, what, -amount)

    def _redis_due(self) -> bool:
        return self._retry_at is None or time.monotonic() >= self._retry_at

    def _failed(self, error: BaseException) -> None:
        if self._retry_at is None:
            log.warning("quotas taken per replica: redis unavailable", error=str(error))
        self._retry_at = time.monotonic() + RETRY_S

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _key(subject: str, kind: str) -> str:
    # The subject as a hash tag: a script's keys fall in one slot of a Redis Cluster.
    return f"{NAMESPACE}:{{{subject}}}:{kind}"
