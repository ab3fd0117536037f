"""Which failed calls are tried again, and how long to wait first.

Only failures the error tree marks ``retryable`` (timeouts, refused or reset connections, 5xx
answers, answers that are not JSON at all), at most ``max_attempts`` attempts in all, each wait
drawn with full jitter: uniform between 0 and ``min(max_backoff_s, base_backoff_s * 2**n)`` for
the n-th retry (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015: of the schemes
compared it does the least work for the same completion time). Whether the wait fits the
backtest's deadline, and whether the service's retry budget allows it, is the caller's to ask.

tenacity's ``wait_random_exponential`` computes the same expression, but it takes a tenacity
``RetryCallState``; one line here is clearer than an adapter to it, and the product needs nothing
else of tenacity.
"""

from __future__ import annotations

import random
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RetryConfig(BaseModel):
    """``RETRY__*``: how often and how patiently a failed call is tried again."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Attempts in all, the first included (gRPC's and the AWS SDKs' default is 3).
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    #: The first retry waits up to this long; each next one up to twice as long.
    base_backoff_s: Annotated[float, Field(gt=0, le=60)] = 0.025
    #: No wait is longer than this.
    max_backoff_s: Annotated[float, Field(gt=0, le=300)] = 1.0

    @model_validator(mode="after")
    def _base_within_max(self) -> RetryConfig:
        if self.base_backoff_s > self.max_backoff_s:
            raise ValueError("base_backoff_s must not exceed max_backoff_s")
        return self

    def backoff_s(self, retry: int, rng: random.Random) -> float:
        """The wait before the ``retry``-th retry (1 for the first), with full jitter."""
        return rng.uniform(0, min(self.max_backoff_s, self.base_backoff_s * 2 ** (retry - 1)))
