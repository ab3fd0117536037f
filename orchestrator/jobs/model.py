"""What the engine's parts pass each other: job ids, shards, statuses, rows' places in the ranking."""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from orchestrator.research.ranking import LOWER_IS_BETTER, Row, metric_of
from orchestrator.research.sweep import MARKET_FIELDS

Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]
#: A job in one of these is over: nothing of it runs, and it expires after JOBS__TTL_S.
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})

#: 16 random bytes (128 bits), URL-safe base64 without padding: 22 characters.
_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")


def new_job_id() -> str:
    return secrets.token_urlsafe(16)


def is_job_id(text: str) -> bool:
    return bool(_ID.match(text))


@dataclass(frozen=True, slots=True)
class Shard:
    """Settings ``start`` to ``stop`` (excluded) of job ``job``; ``number`` counts it among the job's
    shards; ``entry`` is the queue's handle on it (a stream entry id)."""

    job: str
    number: int
    start: int
    stop: int
    entry: str = ""


def shards_of(total: int, shard_size: int) -> int:
    return math.ceil(total / shard_size)


def shard_range(number: int, total: int, shard_size: int) -> tuple[int, int]:
    start = number * shard_size
    return start, min(total, start + shard_size)


#: The score of a row whose metric is missing (after every value) and of a failed row (last).
MISSING_SCORE = 1e300
FAILED_SCORE = math.inf


def rank_score(row: Row, metric: str) -> float:
    """The row's place in the ranking as a number, lower first, as ``research/ranking.py`` orders
    rows: best first, a missing metric after every value, failures last (ties: by index)."""
    if "error" in row:
        return FAILED_SCORE
    value = metric_of(row, metric)
    if value is None:
        return MISSING_SCORE
    return float(value) if metric in LOWER_IS_BETTER else -float(value)


def now_iso(later_s: float = 0.0) -> str:
    """Now (or ``later_s`` from now), in UTC, to the millisecond: ``2026-12-07T03:21:39.123Z``."""
    moment = datetime.now(UTC) + timedelta(seconds=later_s)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_seconds(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def eta_s(record: dict[str, Any]) -> float | None:
    """Seconds left at the pace so far: None until a setting is done, 0 once the job is over."""
    if record["status"] in FINISHED:
        return 0.0
    began, done, total = iso_seconds(record.get("started_at")), int(record["done"]), int(record["total"])
    if began is None or done <= 0:
        return None
    elapsed = datetime.now(UTC).timestamp() - began
    return round(elapsed / done * (total - done), 1)


def source_key(source: dict[str, Any]) -> str:
    """What tells one market's data source from another's (``research/sweep.py``'s MARKET_FIELDS)."""
    return "|".join(str(source.get(name)) for name in MARKET_FIELDS)
