"""``JOBS__*``: how large a job may be, how it is cut and run, and how long it is kept."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class JobsConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Whether this process claims and runs shards (every process does by default; the API answers
    #: either way).
    worker: bool = True
    #: The most settings one job may have (its grid's product, or its strategies).
    max_settings: Annotated[int, Field(ge=1, le=100_000_000)] = 1_000_000
    #: Settings per shard: what a dead worker's successor runs again at most, and the grain at which
    #: jobs take turns.
    shard_size: Annotated[int, Field(ge=1, le=100_000)] = 25
    #: Settings one process runs at once over all jobs. The work waits on the services, not on the
    #: CPU: 8, as SWEEP__CONCURRENCY, keeps a process's share of a core small while the services answer.
    concurrency: Annotated[int, Field(ge=1, le=256)] = 8
    #: A shard claimed by a worker that has not said it is alive for this long is taken over.
    visibility_timeout_s: Annotated[float, Field(ge=0.5, le=3600)] = 30.0
    #: How long a finished (or cancelled) job and its results are kept.
    ttl_s: Annotated[float, Field(ge=1, le=30 * 86_400)] = 86_400.0
    #: Jobs queued or running at once per client address; past it, 429 TOO_MANY_JOBS. With
    #: ``AUTH__MODE`` on, the tenant's ``QUOTA__JOBS_ACTIVE`` applies instead.
    max_per_client: Annotated[int, Field(ge=1, le=10_000)] = 4
    #: The share of the admission limit and of each service's bulkhead that job work leaves free
    #: for interactive requests (at least one place of each).
    reserve: Annotated[float, Field(ge=0, lt=1)] = 0.25
    #: The least time between two ``progress`` events of a job's stream.
    progress_interval_s: Annotated[float, Field(ge=0.05, le=60)] = 1.0
    #: Timeouts of the jobs' Redis client (its blocking reads wait less than this).
    redis_timeout_s: Annotated[float, Field(gt=1, le=60)] = 5.0
    redis_max_connections: Annotated[int, Field(ge=4, le=10_000)] = 64
