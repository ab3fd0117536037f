"""Prometheus metrics: what operators graph and alert on, served at ``/metrics``.

Names follow Prometheus' conventions (``orchestrator_`` prefix, base units, ``_total`` for
counters). Labels are bounded: a route's canonical path (never the path asked for), a method from a
short list, a status, a service from the registry, a setting of a service's policy, an error code
from the contract's table, a kind of cached answer. Never a ticker or a request id.

Each process counts its own. Under several worker processes (``orchestrator serve --workers N``)
``PROMETHEUS_MULTIPROC_DIR`` is set before this module is imported and ``/metrics`` reads every
worker's files, so counters and histograms are the sum of all workers; each gauge says how its
workers' values combine (``multiprocess_mode``).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.registry import REGISTRY

from orchestrator.build_info import BuildInfo, build_info

#: Seconds: from a fast health check to a slow backtest past its deadline.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
METHODS = frozenset({"GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})

REQUESTS = Counter(
    "orchestrator_http_requests_total",
    "HTTP requests answered, by route, method and status",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "orchestrator_http_request_duration_seconds",
    "Time to answer an HTTP request (a stream: to its end)",
    ["route", "method"],
    buckets=BUCKETS,
)
CALLS = Counter(
    "orchestrator_downstream_calls_total",
    "Downstream calls ended, by service and outcome: ok, cancelled, or the error code",
    ["service", "outcome"],
)
CALL_SECONDS = Histogram(
    "orchestrator_downstream_call_duration_seconds",
    "Time a downstream call took, retries included",
    ["service"],
    buckets=BUCKETS,
)
#: What a call went through, counted as it happens (``clients.context.CallStats``).
CALL_EVENTS = {
    "attempts": Counter(
        "orchestrator_downstream_attempts_total", "Attempts sent, hedges included", ["service"]
    ),
    "retries": Counter("orchestrator_downstream_retries_total", "Attempts that were retries", ["service"]),
    "hedges": Counter("orchestrator_downstream_hedges_total", "Hedged second attempts", ["service"]),
    "budget_exhausted": Counter(
        "orchestrator_retry_budget_exhausted_total", "Retries refused by the retry budget", ["service"]
    ),
    "circuit_open": Counter(
        "orchestrator_circuit_open_refusals_total", "Calls refused because the circuit was open", ["service"]
    ),
    "bulkhead_full": Counter(
        "orchestrator_bulkhead_full_refusals_total",
        "Calls refused because the bulkhead was full",
        ["service"],
    ),
}
CIRCUIT_STATE = Gauge(
    "orchestrator_circuit_breaker_state",
    "Each service's breaker: 0 closed, 1 half-open, 2 open (the worst of the workers)",
    ["service"],
    multiprocess_mode="livemax",
)
CIRCUIT_STATES = {"closed": 0, "half_open": 1, "open": 2}
#: Each service's effective policy, one series per setting (``retry.max_attempts``,
#: ``hedge.enabled`` as 0 or 1, ...; ``resilience/policy.py``): what the environment made of it,
#: for checking an override took and for dividing by (calls in flight over ``bulkhead.max_in_flight``).
#: Every worker reads the same settings: the highest of the live ones is it.
POLICY = Gauge(
    "orchestrator_service_policy",
    "Each service's effective policy: one series per setting, named group.field (a switch is 0 or 1)",
    ["service", "setting"],
    multiprocess_mode="livemax",
)
IN_FLIGHT = Gauge(
    "orchestrator_in_flight_requests",
    "Backtests, sweeps and comparisons running",
    ["kind"],
    multiprocess_mode="livesum",
)
SHED = Counter("orchestrator_shed_requests_total", "Requests refused before running, by reason", ["reason"])
ADMISSION_LIMIT = Gauge(
    "orchestrator_admission_limit",
    "How many backtests may run at once (summed over workers)",
    multiprocess_mode="livesum",
)
ADMISSION_IN_FLIGHT = Gauge(
    "orchestrator_admission_in_flight",
    "Backtests holding an admission slot",
    multiprocess_mode="livesum",
)
CACHE = Counter(
    "orchestrator_cache_lookups_total",
    "Answers asked of the cache, by kind and outcome",
    ["kind", "outcome"],
)
CACHE_ENTRIES = Gauge("orchestrator_cache_entries", "Answers kept", multiprocess_mode="livesum")
CACHE_BYTES = Gauge(
    "orchestrator_cache_bytes", "Estimated size of the answers kept", multiprocess_mode="livesum"
)
CACHE_OUTCOMES = {"cache_hits": "hit", "cache_misses": "miss", "cache_coalesced": "coalesced"}
#: Always 1: which build this process runs, in its labels (Prometheus' ``_build_info`` convention),
#: for joining with other series (``* on (instance) group_left(version)``) and following a rollout.
#: Every worker of a process runs the same build: the highest of the live ones is it.
BUILD_INFO = Gauge(
    "orchestrator_build_info",
    "Always 1: the version, commit (unknown where the build did not say) and Python running",
    ["version", "commit", "python"],
    multiprocess_mode="livemax",
)


_CHILDREN: dict[tuple[int, tuple[str, ...]], Any] = {}


def child(metric: Any, *values: str) -> Any:
    """``metric.labels(*values)``, made once: prometheus_client's ``labels`` checks its arguments and
    takes a lock on every call, and a backtest asks for about twenty children. The labels are
    bounded (see above), so this is too."""
    key = (id(metric), values)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN[key] = metric.labels(*values)
    return found


def count_call_event(event: str, name: str) -> None:
    """One thing a call went through (``event`` as ``CallStats`` names it), for ``name``: a service,
    or for the cache's events the kind of answer."""
    if event in CACHE_OUTCOMES:
        child(CACHE, name, CACHE_OUTCOMES[event]).inc()
    elif event in CALL_EVENTS:
        child(CALL_EVENTS[event], name).inc()


def circuit_changed(service: str, _was: str, now: str) -> None:
    child(CIRCUIT_STATE, service).set(CIRCUIT_STATES[now])


def record_policy(service: str, settings: dict[str, float]) -> None:
    """The effective policy of ``service``, each setting (``group.field``) a series of its own."""
    for name, value in settings.items():
        POLICY.labels(service, name).set(value)


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def record_build(build: BuildInfo) -> None:
    BUILD_INFO.labels(build.version, build.commit or "unknown", build.python).set(1)


record_build(build_info())


def registry() -> CollectorRegistry:
    """What ``/metrics`` reads: this process's metrics, or every worker's in multiprocess mode."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)
    return collected
