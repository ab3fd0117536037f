"""API keys: made once, kept only as hashes, checked in constant time, revoked everywhere.

A key reads ``bto_<id>_<secret>``: the id (12 hex digits) finds its record without a search, the
secret is 32 random bytes. What is kept is the SHA-256 of the whole key (a keyed hash adds nothing
for a secret of 256 random bits: nobody can guess one to match), with the key's tenant, scopes and
optional quota. The key itself is printed once, by ``orchestrator keys create``, and never kept.

Records live in ``AUTH__API_KEYS_FILE`` (a JSON document, read again when it changes) and, when
``REDIS_URL`` is set, in a Redis hash every replica reads: each replica polls a version counter
every ``POLL_S`` and reads the hash again when it moved, so a revocation reaches every replica
within a second and checking a key costs no round trip.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.auth.caller import DEFAULT_SCOPES, Caller
from orchestrator.auth.config import Quota

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = structlog.get_logger("orchestrator.auth")

PREFIX = "bto_"
_KEY = re.compile(r"bto_([0-9a-f]{12})_[A-Za-z0-9_-]{43}")
#: The Redis hash of the records (field: key id) and the counter bumped on every change.
REDIS_KEYS = "orchestrator:v1:api_keys"
REDIS_VERSION = "orchestrator:v1:api_keys:version"
#: How often each replica looks for a change (the file's, Redis' counter).
POLL_S = 0.5


class KeyRecord(BaseModel):
    """What is kept of a key: never the key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[0-9a-f]{12}$")
    tenant: str = Field(min_length=1, max_length=200)
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    #: ``sha256:<hex>`` of the whole key.
    hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    quota: Quota | None = None
    created: str = ""
    name: str = ""

    def caller(self) -> Caller:
        return Caller(
            self.tenant, frozenset(self.scopes), "api_key", key_id=self.id, subject=self.id, quota=self.quota
        )


def looks_like_a_key(credential: str) -> bool:
    """Whether a bearer credential is one of our keys (else it may be a JWT)."""
    return credential.startswith(PREFIX)


def digest(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def new_key(
    tenant: str, scopes: Iterable[str] = DEFAULT_SCOPES, quota: Quota | None = None, name: str = ""
) -> tuple[str, KeyRecord]:
    """A new key (to print once) and its record (to keep)."""
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    created = datetime.now(UTC).isoformat(timespec="seconds")
    record = KeyRecord(
        id=key_id,
        tenant=tenant,
        scopes=tuple(scopes),
        hash=digest(key),
        quota=quota,
        created=created,
        name=name,
    )
    return key, record


def check(key: str, records: Mapping[str, KeyRecord]) -> KeyRecord | None:
    """The record of ``key`` if it is one we keep; the hashes compared in constant time."""
    match = _KEY.fullmatch(key)
    record = records.get(match.group(1)) if match else None
    # Hashed and compared even when nothing matched, so that the time says nothing either.
    kept = record.hash if record is not None else "sha256:" + "0" * 64
    return record if hmac.compare_digest(digest(key), kept) and record is not None else None


# --- the file ---------------------------------------------------------------------------------------


def read_file(path: Path) -> dict[str, KeyRecord]:
    """The records of a keys file (``{"keys": [...]}``); a missing file holds none."""
    try:
        document = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    records = [KeyRecord.model_validate(item) for item in document.get("keys", [])]
    return {record.id: record for record in records}


def write_file(path: Path, records: Mapping[str, KeyRecord]) -> None:
    """The records written whole, readable by the owner only, replacing the file at once."""
    document = {"keys": [record.model_dump(mode="json", exclude_none=True) for record in records.values()]}
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    temporary.replace(path)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


# --- the store the server reads -------------------------------------------------------------------


class KeyStore:
    """The records the server checks keys against: the file's and Redis', kept current by ``watch``."""

    def __init__(self, path: Path | None = None, redis: Redis | None = None) -> None:
        self.path, self.redis = path, redis
        self._from_file: dict[str, KeyRecord] = {}
        self._from_redis: dict[str, KeyRecord] = {}
        self.records: dict[str, KeyRecord] = {}
        self._file_stamp: tuple[int, int] | None = None
        self._redis_version: bytes | str | None = None
        self._redis_away = False
        #: When the records were last known current (monotonic).
        self.fresh_at = 0.0

    def check(self, key: str) -> Caller | None:
        record = check(key, self.records)
        return record.caller() if record is not None else None

    async def load(self) -> None:
        """Read the file and Redis now if they changed; a broken file keeps the records it replaced."""
        if self.path is not None:
            await self._load_file(self.path)
        if self.redis is not None:
            await self._load_redis(self.redis)
        self.records = {**self._from_file, **self._from_redis}
        self.fresh_at = time.monotonic()

    async def _load_file(self, path: Path) -> None:
        stamp = await asyncio.to_thread(_stamp, path)
        if stamp == self._file_stamp:
            return
        try:
            self._from_file = await asyncio.to_thread(read_file, path)
        except (OSError, ValueError, ValidationError) as error:  # orjson's errors are ValueErrors
            log.warning("api keys file unreadable; the keys read before are kept", error=type(error).__name__)
            return
        self._file_stamp = stamp
        log.info("api keys read", source="file", keys=len(self._from_file))

    async def _load_redis(self, redis: Redis) -> None:
        try:
            version = await redis.get(REDIS_VERSION)
            if version == self._redis_version and self._redis_version is not None:
                return
            held = await redis.hgetall(REDIS_KEYS)
        except Exception as error:  # Redis away: the keys read before are kept, and asked again
            if not self._redis_away:  # one warning for the outage, not one a poll
                log.warning("api keys unreadable from redis; the keys read before are kept", error=str(error))
            self._redis_away = True
            return
        if self._redis_away:
            log.info("api keys read from redis again")
        self._redis_away = False
        self._from_redis = _records(held)
        self._redis_version = version if version is not None else b"0"

    async def watch(self) -> None:
        """Keep the records current, every ``POLL_S``, until cancelled."""
        while True:
            await asyncio.sleep(POLL_S)
            await self.load()


def _records(held: Mapping[bytes | str, bytes | str]) -> dict[str, KeyRecord]:
    records = {}
    for value in held.values():
        try:
            record = KeyRecord.model_validate_json(value)
        except ValidationError:
            continue  # written by someone else than `orchestrator keys`: not a key of ours
        records[record.id] = record
    return records


# --- Redis, as `orchestrator keys` writes it (a plain client: the command line has no loop) --------


def redis_keep(client: Any, record: KeyRecord) -> None:
    pipe = client.pipeline()
    pipe.hset(REDIS_KEYS, record.id, record.model_dump_json(exclude_none=True))
    pipe.incr(REDIS_VERSION)
    pipe.execute()


def redis_forget(client: Any, key_id: str) -> bool:
    pipe = client.pipeline()
    pipe.hdel(REDIS_KEYS, key_id)
    pipe.incr(REDIS_VERSION)
    removed, _ = pipe.execute()
    return bool(removed)


def redis_records(client: Any) -> dict[str, KeyRecord]:
    return _records(client.hgetall(REDIS_KEYS))
