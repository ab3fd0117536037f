"""The store replicas share (Redis, ``REDIS_URL``): answers as bytes, and a lock per miss.

::

    replica A:  claim(k) -> lock taken --call---------a| keep(k, a) + release
    replica B:    claim(k) -> held, poll . . . . . . . . found a       (coalesced across processes)
    replica C:                                          claim(k) -> found a   (a hit: no call)

``claim`` is one round trip (a script): the value if it is kept, else a short lock
(``SET lock token NX PX``) taken for the caller, else "someone else holds it": then it asks again
every ``poll_s`` until the value is there, the lock is free again (its holder failed, left or died:
the caller takes it), or the wait has lasted a lock's life, when the caller calls without the lock.
The lock is given back with a compare-and-delete, so a holder whose lock expired and was taken by
another never deletes that other's lock.

Redis going away never fails a backtest: any error makes this store unavailable, the in-process
store serves as if Redis were not configured, one warning says so for the whole outage, and after
``retry_s`` one call tries Redis again (the others keep to the in-process store until it answers).
Writes (the answer, the lock's release) run in the background, off the backtest's path.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Callable, Coroutine, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import structlog
from pydantic import BeforeValidator, StringConstraints

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from orchestrator.cache.store import CacheConfig

log = structlog.get_logger("orchestrator.cache")

#: Every key starts with this; the version changes when what a key holds changes shape, so that
#: replicas of two versions never read each other's values.
NAMESPACE = "orchestrator:v1"


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


#: ``REDIS_URL``: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` (TLS) or
#: ``unix:///path/to/socket``; empty or unset: no shared store.
RedisUrl = Annotated[
    Annotated[str, StringConstraints(pattern=r"^(redis|rediss|unix)://\S+$")] | None,
    BeforeValidator(_blank_is_none),
]

#: KEYS: value, lock; ARGV: token, lock ms. The value and its time to live left (ms), else 1 when
#: the lock was free and is now the caller's, else 0.
CLAIM = """
local value = redis.call('GET', KEYS[1])
if value then
  return {value, redis.call('PTTL', KEYS[1])}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
"""

#: KEYS: lock; ARGV: token. Deletes the lock only if it still holds the caller's token.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Claim:
    """What ``claim`` found: a ``value`` (with the seconds it has left), or the lock's ``token``
    (the caller makes the call and keeps its answer), or neither (the caller calls anyway, without
    the lock: the wait was too long, or Redis is unavailable). ``waited``: another process's call
    was waited for."""

    value: bytes | None = None
    ttl_s: float | None = None
    token: str | None = None
    waited: bool = False
    unavailable: bool = False


UNAVAILABLE = Claim(unavailable=True)


class SharedStore:
    """Answers as bytes in Redis under ``orchestrator:v1:<kind>:<sha256 of the key>``."""

    def __init__(
        self,
        client: Redis,
        *,
        lock_s: float,
        retry_s: float,
        poll_s: float = 0.025,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self.clock = client, clock
        self.lock_s, self.retry_s, self.poll_s = lock_s, retry_s, poll_s
        self._claim = client.register_script(CLAIM)
        self._release = client.register_script(RELEASE)
        self._tasks: set[asyncio.Task[None]] = set()
        #: While Redis is unavailable: when to try it again.
        self._retry_at: float | None = None

    @classmethod
    def connect(cls, url: str, config: CacheConfig, **options: Any) -> SharedStore:
        """A client with a bounded pool, short timeouts, RESP2, and one immediate retry on a
        connection error only (a pooled connection Redis closed); made once per application."""
        from redis.asyncio import BlockingConnectionPool, Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError

        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=config.redis_max_connections,
            timeout=config.redis_timeout_s,  # waiting for a free connection of the pool
            socket_timeout=config.redis_timeout_s,
            socket_connect_timeout=config.redis_timeout_s,
            protocol=2,
            retry=Retry(NoBackoff(), 1, supported_errors=(ConnectionError,)),
            retry_on_error=[ConnectionError],  # what redis-py 5 asks too, besides the Retry
            health_check_interval=0,
        )
        client = Redis.from_pool(pool)  # closing the client closes its pool
        return cls(client, lock_s=config.redis_lock_s, retry_s=config.redis_retry_s, **options)

    @staticmethod
    def key_of(key: Hashable) -> str:
        """``orchestrator:v1:prices:<sha256>`` for ``("prices", source, ticker, ...)``: the first
        item of a key names its kind."""
        kind = key[0] if isinstance(key, tuple) and key else "value"
        digest = hashlib.sha256(orjson.dumps(key, default=str))
        return f"{NAMESPACE}:{kind}:{digest.hexdigest()}"

    # --- availability ----------------------------------------------------------------------------

    def available(self) -> bool:
        """False during an outage, except for one caller each ``retry_s``, who tries Redis again."""
        if self._retry_at is None:
            return True
        now = self.clock()
        if now < self._retry_at:
            return False
        self._retry_at = now + self.retry_s  # this caller probes; the others wait for its verdict
        return True

    def _failed(self, error: BaseException) -> None:
        if self._retry_at is None:
            log.warning(
                "shared_cache_unavailable",
                error=f"{type(error).__name__}: {error}",
                fallback="in-process cache",
                retry_in_s=self.retry_s,
            )
        self._retry_at = self.clock() + self.retry_s

    def _answered(self) -> None:
        if self._retry_at is not None:
            self._retry_at = None
            log.info("shared_cache_available")

    # --- the three operations --------------------------------------------------------------------

    async def claim(self, key: str) -> Claim:
        """The value kept under ``key``, or the lock to make the call, or leave to call anyway."""
        token = secrets.token_hex(16)
        lock_ms = max(1, int(self.lock_s * 1000))
        give_up_at = self.clock() + self.lock_s
        waited = False
        try:
            while True:
                answer = await self._claim(keys=[key, f"{key}:lock"], args=[token, lock_ms])
                self._answered()
                if isinstance(answer, list):
                    value, pttl = answer
                    return Claim(value=value, ttl_s=pttl / 1000 if pttl > 0 else None, waited=waited)
                if answer == 1:
                    return Claim(token=token, waited=waited)
                if self.clock() >= give_up_at:
                    return Claim(waited=True)
                waited = True
                await asyncio.sleep(self.poll_s)
        except asyncio.CancelledError:
            # every backtest waiting left: had the script just taken the lock, give it back
            self._background(self._release_now(key, token))
            raise
        except Exception as error:  # whatever Redis did, the in-process store serves
            self._failed(error)
            return UNAVAILABLE

    def unreadable(self, key: str, error: Exception) -> None:
        """A value that would not read back (kept by another version, or damaged): the caller
        calls for it, and its answer replaces it."""
        log.warning("shared_cache_unreadable", key=key, error=f"{type(error).__name__}: {error}"[:200])

    def keep(self, key: str, encode: Callable[[], bytes], ttl_s: float, token: str | None) -> None:
        """In the background: keep ``encode()`` for ``ttl_s`` (``SET PX``), then release the lock."""
        self._background(self._keep_now(key, encode, ttl_s, token))

    def release(self, key: str, token: str | None) -> None:
        """In the background: give the lock back, if it is still ours (the call failed or left)."""
        if token is not None:
            self._background(self._release_now(key, token))

    async def _keep_now(self, key: str, encode: Callable[[], bytes], ttl_s: float, token: str | None) -> None:
        try:
            value = encode()
        except Exception as error:  # never kept, then; the lock goes back at once
            log.warning("shared_cache_unencodable", key=key, error=f"{type(error).__name__}: {error}")
            await self._release_now(key, token)
            return
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.set(key, value, px=max(1, int(ttl_s * 1000)))
                if token is not None:
                    await self._release(keys=[f"{key}:lock"], args=[token], client=pipe)
                await pipe.execute()
        except Exception as error:
            self._failed(error)
        else:
            self._answered()

    async def _release_now(self, key: str, token: str | None) -> None:
        if token is None:
            return
        try:
            await self._release(keys=[f"{key}:lock"], args=[token])
        except Exception as error:
            self._failed(error)

    # --- background writes, and the end ----------------------------------------------------------

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Wait for the writes in the background (each bounded by the client's timeouts)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Finish the writes in the background, then close the client and its pool."""
        await self.flush()
        await self.client.aclose()
