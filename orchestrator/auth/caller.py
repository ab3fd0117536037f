"""The caller a credential proved, and the scopes each route asks of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from orchestrator.auth.config import Quota

#: Run or change something: backtests, sweeps, comparisons (every POST or DELETE under /api/).
BACKTEST = "backtest"
#: Read: ticker search, the services' health.
READ = "read"
#: Read ``/metrics``.
METRICS = "metrics"
#: See and cancel every tenant's jobs, and list them all.
JOBS_ADMIN = "jobs:admin"
#: What a new key may do unless told otherwise (``orchestrator keys create``).
DEFAULT_SCOPES = (BACKTEST, READ)
#: Every scope a route asks for.
SCOPES = frozenset({BACKTEST, READ, METRICS, JOBS_ADMIN})


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: its tenant, what proved it, and what it may do."""

    tenant: str
    scopes: frozenset[str]
    via: Literal["api_key", "jwt"]
    #: The API key's id; a token's signing key id (``kid``) for a JWT.
    key_id: str | None = None
    #: A token's ``sub``; an API key's id.
    subject: str | None = None
    #: The key's own quota, over its tenant's.
    quota: Quota | None = None

    def may(self, scope: str) -> bool:
        return scope in self.scopes

    def log_fields(self) -> dict[str, str]:
        """What the canonical log line and the span carry: never the credential itself."""
        fields = {"tenant": self.tenant, "auth": self.via}
        if self.key_id is not None:
            fields["key_id"] = self.key_id
        return fields


def scopes_of(claims: dict[str, object]) -> frozenset[str]:
    """A token's scopes: ``scope`` (space-separated, RFC 8693) or ``scp`` (a list, or a string)."""
    found: set[str] = set()
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            found.update(value.split())
        elif isinstance(value, list):
            found.update(item for item in value if isinstance(item, str))
    return frozenset(found)
