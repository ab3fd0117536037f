"""W3C Trace Context (https://www.w3.org/TR/trace-context/), propagated by hand.

A request that comes with a valid ``traceparent`` continues the caller's trace; one without, or
with one that breaks the rules, starts a new trace (never an error). Either way the request gets a
span id of its own, bound with the trace id into every log line (``web/middlewares.py``), and each
exchange with a service (each attempt, each hedged copy) is sent as a child span of its own::

    traceparent: 00-<the trace id>-<a new span id per exchange>-<the trace's flags>

``tracestate`` is passed on as it came (when it parses), with the traceparent it belongs to.

OpenTelemetry's aiohttp instrumentation is not used (docs/operations.md, "Tracing", says why). With
``TRACING__EXPORT=otlp`` each request is also exported as a span, with these very ids, through
OpenTelemetry's SDK (``span_export.py``, the ``tracing`` extra).
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
#: Our span, told to the caller (W3C Trace Context Level 2, a draft: ``traceresponse``).
TRACERESPONSE = "traceresponse"

VERSION = "00"
#: The flags of a trace we start: sampled, as every request of ours is recorded (in its log lines).
SAMPLED = "01"
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16

# version 00 is exactly this; a later version starts with it (the spec's rule for what it cannot know)
_V00 = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
# tracestate: list members ``key=value``, at most 32, keys unique (section 3.3.1 of the spec)
_KEY = r"(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})"
_VALUE = r"[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"
_MEMBER = re.compile(f"({_KEY})=({_VALUE})")
MAX_TRACESTATE_MEMBERS = 32
#: The spec asks to pass on at least 512 characters; a longer one is cut as it says (long members first).
MAX_TRACESTATE_CHARS = 512


#: What ``TRACING__EXPORT=otlp`` needs: the ``tracing`` extra (OpenTelemetry's SDK and OTLP/HTTP exporter).
OTLP_MODULE = "opentelemetry.exporter.otlp.proto.http.trace_exporter"
TRACING_EXTRA = "pip install 'backtest-orchestrator[tracing]'"

#: A span's attributes, as a request's span is exported with them (``span_export.py``).
Attributes = Mapping[str, str | int]


class TracingConfig(BaseModel):
    """``TRACING__*``. ``off``: trace context is propagated and logged only. ``otlp``: each request is
    also a span sent over OTLP/HTTP where OpenTelemetry's own variables say
    (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_ENDPOINT``, docs/operations.md);
    it needs the ``tracing`` extra, and without it the settings are refused, so start-up stops."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    export: Literal["off", "otlp"] = "off"

    @field_validator("export", mode="before")
    @classmethod
    def _known(cls, value: object) -> object:
        given = value.strip().lower() if isinstance(value, str) else value
        if given not in ("off", "otlp"):
            raise ValueError("must be 'off' or 'otlp' (docs/operations.md, Tracing)")
        if given == "otlp" and not _installed(OTLP_MODULE):
            raise ValueError(f"'otlp' needs OpenTelemetry's SDK and OTLP exporter: {TRACING_EXTRA}")
        return given


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


@dataclass(frozen=True, slots=True)
class TraceContext:
    """The trace one request belongs to, and the span that request is.

    ``span_id`` is ours (the request's); ``parent_id`` is the caller's span, when it sent one.
    """

    trace_id: str
    span_id: str
    flags: str = SAMPLED
    parent_id: str | None = None
    tracestate: str | None = None

    @classmethod
    def start(cls) -> TraceContext:
        """A new trace, with this as its first span."""
        return cls(new_trace_id(), new_span_id())

    @classmethod
    def incoming(cls, traceparent: Iterable[str] = (), tracestate: Iterable[str] = ()) -> TraceContext:
        """Continue the caller's trace from its headers (every value of each), or start a new one.

        More than one ``traceparent`` is invalid; several ``tracestate`` headers are one list.
        """
        parents = list(traceparent)
        parsed = parse_traceparent(parents[0]) if len(parents) == 1 else None
        if parsed is None:
            return cls.start()  # and its tracestate is not read: it belonged to that traceparent
        trace_id, parent_id, flags = parsed
        return cls(trace_id, new_span_id(), flags, parent_id, parse_tracestate(",".join(tracestate)))

    @property
    def traceparent(self) -> str:
        """Our own span as a ``traceparent`` value (what ``traceresponse`` carries)."""
        return f"{VERSION}-{self.trace_id}-{self.span_id}-{self.flags}"

    def child_headers(self) -> dict[str, str]:
        """The headers of one exchange with a service: a new span, child of ours, in this trace."""
        headers = {TRACEPARENT: f"{VERSION}-{self.trace_id}-{new_span_id()}-{self.flags}"}
        if self.tracestate:
            headers[TRACESTATE] = self.tracestate
        return headers

    def log_fields(self) -> dict[str, str]:
        """Bound into every log line of the request."""
        return {"trace_id": self.trace_id, "span_id": self.span_id}

    def caller_fields(self) -> dict[str, str]:
        """For the canonical line: the caller's span, when there was one."""
        return {} if self.parent_id is None else {"parent_span_id": self.parent_id}


def parse_traceparent(value: str) -> tuple[str, str, str] | None:
    """``(trace id, parent id, flags)`` of a valid ``traceparent``, else None.

    Version 00 is exactly ``00-<32 hex>-<16 hex>-<2 hex>``, lowercase, ids not all zeros; ``ff`` is
    no version. A later version is read as far as version 00 goes, if what follows starts with a
    dash, and only its sampled flag is kept (we pass the trace on as version 00).
    """
    value = value.strip()
    found = _V00.match(value)
    if found is None:
        return None
    version, trace_id, parent_id, flags = found.groups()
    if version == "ff" or trace_id == _ZERO_TRACE or parent_id == _ZERO_SPAN:
        return None
    if version == VERSION:
        return (trace_id, parent_id, flags) if len(value) == found.end() else None
    if len(value) > found.end() and value[found.end()] != "-":
        return None
    return trace_id, parent_id, f"{int(flags, 16) & 1:02x}"


def parse_tracestate(value: str) -> str | None:
    """The list, normalised (``key=value`` joined by commas), or None if empty or invalid; cut to
    ``MAX_TRACESTATE_CHARS`` as the spec says: members over 128 characters go first, then the last."""
    members = [member.strip() for member in value.split(",")]
    members = [member for member in members if member]
    keys = []
    for member in members:
        found = _MEMBER.fullmatch(member)
        if found is None:
            return None
        keys.append(found.group(1))
    if not members or len(members) > MAX_TRACESTATE_MEMBERS or len(set(keys)) != len(keys):
        return None
    while len(",".join(members)) > MAX_TRACESTATE_CHARS:
        long = next((member for member in members if len(member) > 128), None)
        if long is None:
            members.pop()
        else:
            members.remove(long)
    return ",".join(members) or None


def new_trace_id() -> str:
    while (trace_id := os.urandom(16).hex()) == _ZERO_TRACE:
        pass  # pragma: no cover - one chance in 2**128
    return trace_id


def new_span_id() -> str:
    while (span_id := os.urandom(8).hex()) == _ZERO_SPAN:
        pass  # pragma: no cover - one chance in 2**64
    return span_id
