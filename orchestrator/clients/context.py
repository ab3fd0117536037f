"""What every call of one backtest shares: its request id, its deadline, its trace, and what its calls
went through."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from orchestrator import metrics
from orchestrator.resilience.deadline import Deadline
from orchestrator.tracing import TraceContext

#: What a call can go through besides its first attempt, counted per service for the canonical line;
#: and how the cache served what it keeps, counted per kind of answer (``prices``, ``baseline``...).
Event = Literal[
    "attempts",
    "retries",
    "hedges",
    "circuit_open",
    "bulkhead_full",
    "budget_exhausted",
    "cache_hits",
    "cache_misses",
    "cache_coalesced",
]


@dataclass
class CallStats:
    """Per event, per service: how many times (``{"retries": {"portfolio": 1}}``)."""

    counts: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))

    def add(self, event: Event, name: str) -> None:
        self.counts[event][name] += 1
        metrics.count_call_event(event, name)

    def total(self, event: Event) -> int:
        return sum(self.counts.get(event, {}).values())

    def log_fields(self) -> dict[str, object]:
        """For the canonical line: the number of attempts, and each other event that happened."""
        fields: dict[str, object] = {"attempts": self.total("attempts")}
        fields.update(
            {event: dict(by_service) for event, by_service in self.counts.items() if event != "attempts"}
        )
        return fields


@dataclass(frozen=True, slots=True)
class CallContext:
    request_id: str
    deadline: Deadline
    stats: CallStats = field(default_factory=CallStats)
    #: The request's trace: each exchange with a service is sent as a child span of it. A context
    #: made outside a request (a test, a benchmark) starts a trace of its own.
    trace: TraceContext = field(default_factory=TraceContext.start)
