"""``AUTH__*`` and ``QUOTA__*``: who may call, and how much each tenant may ask.

Read by ``orchestrator.settings`` as two groups; ``docs/security.md`` explains the model and
``docs/configuration.md`` lists each setting. ``AUTH__MODE=none`` (the default) keeps the offline
platform and ``make run`` working without a credential.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import NoDecode

Mode = Literal["api_key", "jwt"]
#: Requests per second, and counts of things, a quota may allow.
Rate = Annotated[float, Field(gt=0, le=1_000_000)]
Amount = Annotated[int, Field(ge=1, le=100_000_000)]


class AuthConfig(BaseModel):
    """``AUTH__*``: how a caller proves who it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: ``none``, ``api_key``, ``jwt`` or ``api_key,jwt``: the credentials taken (none: no caller needed).
    mode: Annotated[tuple[Mode, ...], NoDecode] = ()
    #: Where the identity provider publishes its keys (a JWKS document), or, offline, a file holding one.
    jwks_url: AnyHttpUrl | None = None
    jwks_file: Path | None = None
    #: A token's ``iss`` and ``aud`` must be these; both required when ``jwt`` is on.
    issuer: str | None = None
    audience: str | None = None
    #: Clock skew allowed on a token's ``exp`` and ``nbf``.
    leeway_s: Annotated[float, Field(ge=0, le=300)] = 30.0
    #: An unknown ``kid`` fetches the keys again at most this often (a stream of forged kids cannot
    #: make us hammer the key server); the keys are also fetched again this often when asked for.
    jwks_refresh_s: Annotated[float, Field(ge=1, le=86_400)] = 300.0
    #: The claim naming the caller's tenant.
    tenant_claim: Annotated[str, Field(min_length=1, max_length=100)] = "tenant"
    #: The API keys' file (hashes only: ``orchestrator keys create``), read again when it changes.
    api_keys_file: Path | None = None

    @field_validator("mode", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip().lower() for part in value.split(",") if part.strip()]
            return () if parts == ["none"] else tuple(dict.fromkeys(parts))
        return value

    @model_validator(mode="after")
    def _jwt_needs_its_keys(self) -> AuthConfig:
        if "jwt" in self.mode:
            if (self.jwks_url is None) == (self.jwks_file is None):
                raise ValueError("AUTH__MODE=jwt needs one of AUTH__JWKS_URL or AUTH__JWKS_FILE")
            if not self.issuer or not self.audience:
                raise ValueError("AUTH__MODE=jwt needs AUTH__ISSUER and AUTH__AUDIENCE")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.mode)


class Quota(BaseModel):
    """What one tenant (or one key) may ask; each field unset takes the level below's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests_per_s: Rate | None = None
    burst: Amount | None = None
    backtests_in_flight: Amount | None = None
    jobs_active: Amount | None = None
    settings_per_day: Amount | None = None


class Limits(BaseModel):
    """One caller's effective quota, every field set."""

    model_config = ConfigDict(frozen=True)

    requests_per_s: float
    burst: int
    backtests_in_flight: int
    jobs_active: int
    settings_per_day: int


class QuotaConfig(BaseModel):
    """``QUOTA__*``: each tenant's share, with overrides per tenant (and per key, in its record).

    Applied when ``AUTH__MODE`` is on: without callers there are no tenants to share between (the
    per-address share of ``EDGE__*`` still holds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The token bucket: requests per second sustained, and the most at once.
    requests_per_s: Rate = 20.0
    burst: Amount = 40
    #: Backtests (and sweeps, compares) one tenant may have running at once, across replicas.
    backtests_in_flight: Amount = 16
    #: Jobs one tenant may have queued or running (held by ``web/auth.py`` until the job ends).
    jobs_active: Amount = 100
    #: Parameter settings one tenant's jobs may have per UTC day (``web/routes/jobs.py``).
    settings_per_day: Amount = 100_000
    #: ``QUOTA__TENANTS__{TENANT}__REQUESTS_PER_S`` and so on: one tenant's own. Tenants named here
    #: are also the only ones named in metrics' labels (the rest are ``other``).
    tenants: dict[str, Quota] = {}

    def limits(self, tenant: str, own: Quota | None = None) -> Limits:
        """``tenant``'s quota: a key's ``own`` over the tenant's over the defaults, field by field."""
        layers = [self.tenants.get(tenant.lower()), own]
        values = {name: getattr(self, name) for name in Limits.model_fields}
        for layer in layers:
            if layer is not None:
                values.update(layer.model_dump(exclude_none=True))
        return Limits(**values)

    @field_validator("tenants", mode="after")
    @classmethod
    def _lower_case(cls, value: dict[str, Quota]) -> dict[str, Quota]:
        # the environment's names come in lower case: a tenant is matched without case
        return {name.lower(): quota for name, quota in value.items()}

    def tenant_label(self, tenant: str) -> str:
        """The tenant as a metric's label: named only if configured here, so the set stays bounded."""
        return tenant.lower() if tenant.lower() in self.tenants else "other"
