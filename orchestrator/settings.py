"""Every setting, read from the environment (or a ``.env`` file) and validated at start-up.

Each downstream service's URL (``MARKET_DATA_URL``, ...) comes from the service registry, so a
service is named in one place only. Each group of settings has its own validated config, set with a
double underscore: ``RETRY__MAX_ATTEMPTS=2``, ``BREAKER__OPEN_S=10``.

Each service has one named policy (``resilience/policy.py``'s ``PolicyConfig``: timeouts, retries,
retry budget, hedging, breaker, bulkhead), layered like resilience4j's instances over its default
config: the policy's own defaults, then its registry entry's, then the environment's for every
service (``RETRY__MAX_ATTEMPTS=2``), then the environment's for that service alone, the same name
after ``SERVICES__{NAME}__`` (``SERVICES__METRICS__RETRY__MAX_ATTEMPTS=1``). The later layer wins,
field by field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from orchestrator.cache.shared import RedisUrl
from orchestrator.cache.store import CacheConfig
from orchestrator.jobs.config import JobsConfig
from orchestrator.limits import EdgeConfig, RequestLimits
from orchestrator.registry import BY_NAME, ORCHESTRATOR_PORT, SERVICES
from orchestrator.research.config import CompareConfig, SweepConfig
from orchestrator.resilience.breaker import BreakerConfig
from orchestrator.resilience.budget import RetryBudgetConfig
from orchestrator.resilience.bulkhead import BulkheadConfig
from orchestrator.resilience.latency import HedgeConfig
from orchestrator.resilience.limit import AdmissionConfig
from orchestrator.resilience.policy import PolicyConfig, TimeoutConfig
from orchestrator.resilience.retry import RetryConfig
from orchestrator.tracing import TracingConfig

Seconds = Annotated[float, Field(gt=0, le=3600)]
Count = Annotated[int, Field(ge=0, le=10_000_000)]

#: The groups of a service's policy (``timeout``, ``retry``, ...), each also a setting of its own.
POLICY_GROUPS: dict[str, type[BaseModel]] = {
    name: field.annotation
    for name, field in PolicyConfig.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
}


def _given(value: object) -> object:
    """What was set of a group or a policy: a model's own fields (not its defaults), a mapping as is."""
    if isinstance(value, BaseModel):
        return value.model_dump(include=value.model_fields_set)
    return value


def layer_policy(*layers: object) -> object:
    """One service's policy, as the input of ``PolicyConfig``: each layer ``{group: {field: value}}``
    over the ones before it, field by field. A layer that is not a mapping is passed on as it is,
    for validation to name."""
    merged: dict[str, object] = {}
    for layer in layers:
        layer = _given(layer)
        if not isinstance(layer, Mapping):
            return layer
        for group, values in layer.items():
            below, values = merged.get(group, {}), _given(values)
            both = isinstance(below, Mapping) and isinstance(values, Mapping)
            merged[group] = {**below, **values} if both else values  # type: ignore[dict-item]
    return merged


def _shared(data: Mapping[str, object]) -> dict[str, object]:
    """The environment's defaults for every service: each policy group's setting as given, unless
    it is invalid (then its own error says so, once, rather than once per service too)."""
    shared: dict[str, object] = {}
    for group, config in POLICY_GROUPS.items():
        given = _given(data.get(group, {}))
        try:
            config.model_validate(given)
        except ValidationError:
            continue
        shared[group] = given
    return shared


def _service_fields() -> dict[str, Any]:
    """``{name}_url`` of every registry entry, with the entry's default."""
    return {entry.url_setting: (AnyHttpUrl, AnyHttpUrl(entry.default_url)) for entry in SERVICES}


_ServiceSettings = create_model("_ServiceSettings", __base__=BaseSettings, **_service_fields())


def _policy_fields() -> dict[str, Any]:
    """A field per registry entry: its policy, by default its entry's defaults over the policy's."""
    return {
        entry.name: (PolicyConfig, PolicyConfig.model_validate(layer_policy(entry.policy)))
        for entry in SERVICES
    }


#: ``SERVICES__{NAME}__*``: one field per registry entry, its effective policy.
ServicePolicies = create_model(
    "ServicePolicies", __config__=ConfigDict(frozen=True, extra="forbid"), **_policy_fields()
)


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

    #: The defaults of every service's policy: read them per service, with :meth:`policy`.
    timeout: TimeoutConfig = TimeoutConfig()
    retry: RetryConfig = RetryConfig()
    retry_budget: RetryBudgetConfig = RetryBudgetConfig()
    hedge: HedgeConfig = HedgeConfig()
    breaker: BreakerConfig = BreakerConfig()
    bulkhead: BulkheadConfig = BulkheadConfig()
    #: Each service's effective policy, from the layers above and its own ``SERVICES__{NAME}__*``.
    # A class made at import (create_model): mypy sees a variable, not a type.
    services: ServicePolicies = ServicePolicies()  # type: ignore[valid-type]
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

    @model_validator(mode="before")
    @classmethod
    def _layer_policies(cls, data: Any) -> Any:
        """Each service's policy: its registry entry's defaults, then the environment's for every
        service, then the environment's for this one (``services``, as given)."""
        if not isinstance(data, Mapping):
            return data
        own = _given(data.get("services", {}))
        if not isinstance(own, Mapping):
            return data  # validation says what is wrong with it
        shared = _shared(data)
        layered = {
            **own,  # unknown names too, for validation to refuse
            **{entry.name: layer_policy(entry.policy, shared, own.get(entry.name, {})) for entry in SERVICES},
        }
        return {**data, "services": layered}

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

    def policy(self, service: str) -> PolicyConfig:
        """The effective policy of a service: its timeouts, retries, budget, hedging, breaker and
        bulkhead."""
        policy: PolicyConfig = getattr(self.services, BY_NAME[service].name)
        return policy


class SettingsError(Exception):
    """Settings that cannot work, explained one line per problem."""


#: The per-service variables before each service had one policy, and what replaced each: set,
#: they would otherwise be ignored without a word, and the service called otherwise than meant.
RENAMED = {
    f"{entry.name.upper()}_{old}": f"{entry.policy_prefix}{new}"
    for entry in SERVICES
    for old, new in (
        ("TIMEOUT_S", "TIMEOUT__ATTEMPT_S"),
        ("HEDGE", "HEDGE__ENABLED"),
        ("MAX_IN_FLIGHT", "BULKHEAD__MAX_IN_FLIGHT"),
    )
}


def load_settings(**overrides: object) -> Settings:
    """The settings, from the environment (and ``.env``) and ``overrides``; or a SettingsError
    naming each bad variable."""
    lines = [f"  {old}: no longer read; set {new}" for old, new in RENAMED.items() if old in os.environ]
    try:
        settings = Settings(**overrides)
    except SourceError as error:  # read before validation: a group given whole that is not JSON
        lines.append(f"  {error}: a group, or a service's policy, given whole must be JSON")
    except ValidationError as error:
        # Each problem named as its environment variable: RETRY__MAX_ATTEMPTS, SERVICES__METRICS__...
        lines += [
            f"  {'__'.join(map(str, item['loc'])).upper()}: {item['msg']} (got {item.get('input')!r})"
            for item in error.errors(include_url=False)
        ]
    if lines:
        raise SettingsError("Invalid settings:\n" + "\n".join(lines))
    return settings
