"""Every setting, read from the environment (or a ``.env`` file) and validated at start-up.

Each downstream service's settings (``MARKET_DATA_URL``, ``MARKET_DATA_TIMEOUT_S``,
``MARKET_DATA_HEDGE``, ``MARKET_DATA_MAX_IN_FLIGHT``, ...) come from the service registry, so a
service is named in one place only. Each resilience mechanism has its own validated config, set
with a double underscore: ``RETRY__MAX_ATTEMPTS=2``, ``BREAKER__OPEN_S=10``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from orchestrator.cache.shared import RedisUrl
from orchestrator.cache.store import CacheConfig
from orchestrator.jobs.config import JobsConfig
from orchestrator.limits import EdgeConfig, RequestLimits
from orchestrator.registry import BY_NAME, ORCHESTRATOR_PORT, SERVICES
from orchestrator.research.config import CompareConfig, SweepConfig
from orchestrator.resilience.breaker import BreakerConfig
from orchestrator.resilience.budget import RetryBudgetConfig
from orchestrator.resilience.latency import HedgeConfig
from orchestrator.resilience.limit import AdmissionConfig
from orchestrator.resilience.retry import RetryConfig
from orchestrator.tracing import TracingConfig

Seconds = Annotated[float, Field(gt=0, le=3600)]
Count = Annotated[int, Field(ge=0, le=10_000_000)]


def _service_fields() -> dict[str, Any]:
    """``{name}_url`` and the timeout field of every registry entry, with the entry's defaults."""
    fields: dict[str, Any] = {}
    for entry in SERVICES:
        fields[entry.url_setting] = (AnyHttpUrl, AnyHttpUrl(entry.default_url))
        fields.setdefault(entry.timeout_field, (Seconds, entry.default_timeout_s))
        fields[entry.hedge_setting] = (bool, entry.hedged)
        fields[entry.max_in_flight_setting] = (Annotated[int, Field(ge=1, le=10_000)], entry.max_in_flight)
    return fields


_ServiceSettings = create_model("_ServiceSettings", __base__=BaseSettings, **_service_fields())


class DrainConfig(BaseModel):
    """``DRAIN__*``: what happens on SIGTERM."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: How long backtests in flight may take to finish; then they end with SERVICE_UNAVAILABLE.
    #: Kubernetes waits 30 s (terminationGracePeriodSeconds) before it kills the pod.
    grace_s: Annotated[float, Field(ge=0, le=3600)] = 20.0


# The base is a class made at import, from the registry (create_model): mypy sees a variable, not
# a class (valid-type), and so a base of type Any (misc).
class Settings(_ServiceSettings):  # type: ignore[misc, valid-type]
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True, env_nested_delimiter="__")

    host: str = "0.0.0.0"
    port: Annotated[int, Field(ge=1, le=65535)] = ORCHESTRATOR_PORT
    #: Worker processes of ``orchestrator serve``: 1 serves in this process; more run under gunicorn
    #: (``cli/workers.py``), each with its own cache, breakers and admission limit.
    workers: Annotated[int, Field(ge=1, le=64)] = 1

    #: The overall deadline of one backtest; a caller may ask for less with ``X-Request-Timeout-Ms``.
    backtest_deadline_s: Seconds = 30.0
    health_timeout_s: Annotated[float, Field(gt=0, le=10)] = 1.5

    risk_free_rate_annual: Annotated[float, Field(ge=-1, le=1)] = 0.0

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ("http://localhost:3000", "http://localhost:5173")

    max_body_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 64 * 1024
    sse_heartbeat_s: Annotated[float, Field(gt=0, le=300)] = 15.0

    edge: EdgeConfig = EdgeConfig()
    request_limits: RequestLimits = RequestLimits()
    #: The most a service's answer may hold; a longer one is read no further (a contract error).
    max_answer_bytes: Annotated[int, Field(ge=64 * 1024, le=1024**3)] = 32 * 1024 * 1024
    #: How long an idle pooled connection to a service is kept: less than the services' own
    #: keep-alive (uvicorn's is 5 s), so that we never send on a connection they just closed.
    upstream_keepalive_s: Annotated[float, Field(gt=0, le=300)] = 4.0
    #: Strings in log lines (paths, messages, whatever a client or a service sent) are cut to this.
    log_value_chars: Annotated[int, Field(ge=16, le=100_000)] = 256

    #: The garbage collector's thresholds for ``orchestrator serve`` (CPython's default: 700, 10, 10).
    gc_thresholds: Annotated[tuple[Count, Count, Count], NoDecode] = (50_000, 50, 100)

    retry: RetryConfig = RetryConfig()
    retry_budget: RetryBudgetConfig = RetryBudgetConfig()
    hedge: HedgeConfig = HedgeConfig()
    breaker: BreakerConfig = BreakerConfig()
    admission: AdmissionConfig = AdmissionConfig()
    drain: DrainConfig = DrainConfig()
    cache: CacheConfig = CacheConfig()
    #: Redis that replicas share market data through (``orchestrator/cache/shared.py``); unset: each
    #: process keeps its own only. Unreachable: each falls back to its own, and tries again.
    redis_url: RedisUrl = None
    sweep: SweepConfig = SweepConfig()
    compare: CompareConfig = CompareConfig()
    #: ``JOBS__*``: sweeps and comparisons as durable jobs (``orchestrator/jobs/``).
    jobs: JobsConfig = JobsConfig()
    #: ``TRACING__EXPORT``: ``off``, the only value (trace context is propagated and logged, not exported).
    tracing: TracingConfig = TracingConfig()

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("gc_thresholds", mode="before")
    @classmethod
    def _three_numbers(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(","))
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value

    def url(self, service: str) -> str:
        """The base URL of a service, without a trailing slash, ready for ``+ "/path"``."""
        return str(getattr(self, BY_NAME[service].url_setting)).rstrip("/")

    def timeout_s(self, service: str) -> float:
        """The per-attempt timeout of a service."""
        return float(getattr(self, BY_NAME[service].timeout_field))

    def hedged(self, service: str) -> bool:
        return bool(getattr(self, BY_NAME[service].hedge_setting))

    def max_in_flight(self, service: str) -> int:
        return int(getattr(self, BY_NAME[service].max_in_flight_setting))


class SettingsError(Exception):
    """Settings that cannot work, explained one line per problem."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as error:
        lines = [
            f"  {'.'.join(map(str, item['loc'])).upper()}: {item['msg']} (got {item.get('input')!r})"
            for item in error.errors(include_url=False)
        ]
        raise SettingsError("Invalid settings:\n" + "\n".join(lines)) from None
