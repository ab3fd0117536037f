"""Who is calling, what it may do, and how much: the ``authenticate`` and ``quotas`` middlewares.

With ``AUTH__MODE`` on, every ``/api/`` route needs a caller (``/metrics`` one with the ``metrics``
scope); ``/health``, ``/ready``, the page, and the API's description (``/api/docs``,
``/api/openapi.json``, which Swagger UI needs before it can offer to authorise) stay open, and so
does a CORS preflight, which never carries a credential. A caller that is missing or not taken gets
401 ``UNAUTHORIZED`` with ``WWW-Authenticate`` (one body, whatever was wrong); one without the
route's scope 403 ``FORBIDDEN``. Then ``quotas`` takes a token of the caller's tenant (and, on the
routes that run backtests, holds one of its backtests in flight until the answer ends; on ``POST
/api/jobs``, one of its jobs queued or running, under the new job's id, kept until the job ends):
over a quota, 429 ``RATE_LIMITED`` with ``Retry-After``. Every answer to a caller carries the IETF draft's
``RateLimit-Policy`` and ``RateLimit``.

The canonical log line, the log context and the span carry the tenant and the key id; the
credential never reaches a log line.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

import aiohttp
import structlog
from aiohttp import web

from orchestrator import metrics
from orchestrator.auth.api_keys import KeyStore
from orchestrator.auth.caller import BACKTEST, METRICS, READ, Caller
from orchestrator.auth.identify import Authenticator
from orchestrator.auth.quota import Decision, Hold, Quotas
from orchestrator.auth.tokens import Verifier
from orchestrator.errors import Forbidden, RateLimited, Unauthorized
from orchestrator.jobs.backend import Record
from orchestrator.jobs.model import new_job_id
from orchestrator.web.admission import ADMITTED
from orchestrator.web.keys import AUTHENTICATOR, JOBS, QUOTAS, SETTINGS, request_key
from orchestrator.web.middlewares import LOG_FIELDS
from orchestrator.web.trace_context import SPAN_ATTRIBUTES

if TYPE_CHECKING:
    from redis.asyncio import Redis

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The request's caller, once known.
CALLER = request_key("caller", Caller)
#: What its quota said, for the ``RateLimit`` headers.
RATE_LIMIT = request_key("rate_limit", Decision)
#: The place of the tenant's jobs held for the job a ``POST /api/jobs`` makes (its member the
#: job's id), and whether the job was made and keeps it until it ends.
JOB_HOLD = request_key("job_hold", Hold)
JOB_HOLD_KEPT = request_key("job_hold_kept", bool)
#: Open whatever the mode: liveness, readiness, the page and the API's description.
OPEN_PATHS = frozenset({"/health", "/ready", "/", "/api/docs", "/api/openapi.json"})
OPEN_PREFIXES = ("/static/", "/api/docs/static/")
WWW_AUTHENTICATE = 'Bearer realm="orchestrator"'
#: What a browser on another origin may send, and read back (CORS).
CREDENTIAL_HEADERS = ("Authorization", "X-API-Key")
RATE_LIMIT_HEADERS = ("RateLimit", "RateLimit-Policy", "WWW-Authenticate")
#: The least time a 401 takes (a token's check takes well under a millisecond; see docs/security.md).
FAILURE_FLOOR_S = 0.025
#: How long a hold on a backtest in flight lasts if its replica dies before giving it back: the
#: longest a run may take (a sweep's deadline), and a margin.
HOLD_MARGIN_S = 30.0
#: How long a job's hold lasts should the replica ending the job fail to give it back (Redis away
#: at that moment): a job running longer stops counting after it.
JOB_HOLD_S = 86_400.0


def scope_needed(request: web.Request) -> str | None:
    """The scope a request needs, or None when it is open to anyone."""
    path = request.path
    if request.method == "OPTIONS" or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
        return None
    if path == "/metrics":
        return METRICS
    if not path.startswith("/api/"):
        return None  # nothing else is served: a 404 for anyone
    # What runs or changes something (a backtest, a sweep, a job made or cancelled) needs more than
    # reading; by method, so that a route added later is never readable-only by mistake.
    return BACKTEST if request.method in ("POST", "DELETE", "PUT", "PATCH") else READ


def _runs_backtests(request: web.Request) -> bool:
    resource = request.match_info.route.resource
    return request.method == "POST" and resource is not None and resource.canonical in ADMITTED


def _makes_job(request: web.Request) -> bool:
    resource = request.match_info.route.resource
    return request.method == "POST" and resource is not None and resource.canonical == "/api/jobs"


def _hold_of(request: web.Request) -> Hold | None:
    """What the request holds of its tenant's while it runs: a backtest in flight, or a job."""
    if _makes_job(request):
        request[JOB_HOLD] = hold = Hold("jobs", new_job_id(), JOB_HOLD_S)
        return hold
    if _runs_backtests(request):
        settings = request.app[SETTINGS]
        ttl_s = max(settings.backtest_deadline_s, settings.sweep.deadline_s) + HOLD_MARGIN_S
        return Hold("backtests", uuid.uuid4().hex, ttl_s)
    return None


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    authenticator = request.app[AUTHENTICATOR]
    scope = scope_needed(request)
    if not authenticator.enabled or scope is None:
        return await handler(request)
    began = asyncio.get_running_loop().time()
    headers = request.headers
    found = await authenticator.identify(
        headers.get("Authorization"), headers.get("X-API-Key"), frozenset(k.lower() for k in request.query)
    )
    caller = found.caller
    if caller is None:
        request[LOG_FIELDS]["auth_failure"] = found.reason
        metrics.child(metrics.AUTH, "unauthorized", found.via).inc()
        # Every refusal answered no sooner than the floor: a malformed token (refused at once) and a
        # forged one (refused after its signature is checked) take the same time to the caller.
        await asyncio.sleep(max(0.0, began + FAILURE_FLOOR_S - asyncio.get_running_loop().time()))
        raise Unauthorized()
    request[CALLER] = caller
    request[LOG_FIELDS].update(caller.log_fields())
    structlog.contextvars.bind_contextvars(**caller.log_fields())
    request[SPAN_ATTRIBUTES] = {f"orchestrator.{name}": value for name, value in caller.log_fields().items()}
    if not caller.may(scope):
        metrics.child(metrics.AUTH, "forbidden", caller.via).inc()
        raise Forbidden(f"This caller lacks the {scope} scope this route needs", {"scope": scope})
    metrics.child(metrics.AUTH, "ok", caller.via).inc()
    return await handler(request)


@web.middleware
async def quotas(request: web.Request, handler: Handler) -> web.StreamResponse:
    caller = request.get(CALLER)
    if not isinstance(caller, Caller):
        return await handler(request)
    limiter = request.app[QUOTAS]
    hold = _hold_of(request)
    decision = await limiter.take(caller, hold)
    request[RATE_LIMIT] = decision
    if not decision.allowed:
        over = decision.over or "rate"
        label = limiter.config.tenant_label(caller.tenant)
        metrics.child(metrics.QUOTA_REFUSED, label, over).inc()
        request[LOG_FIELDS]["quota"] = over
        raise RateLimited(over, decision.retry_after_s)
    if hold is None:
        return await handler(request)
    try:
        return await handler(request)
    finally:
        if not request.get(JOB_HOLD_KEPT, False):  # a job made keeps its hold until it ends
            limiter.release(caller, hold)


def release_job_hold(limiter: Quotas, record: Record) -> None:
    """A job ended: its tenant's hold on it given back (``record["quota"]`` says whose it is)."""
    subject = record.get("quota")
    if subject:
        limiter.release_of(subject, Hold("jobs", record["id"], JOB_HOLD_S))


async def add_auth_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: ``WWW-Authenticate`` on a 401, the ``RateLimit`` fields to a caller."""
    if response.status == 401:
        response.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    decision = request.get(RATE_LIMIT)
    if isinstance(decision, Decision):
        response.headers.update(decision.headers())


async def callers(app: web.Application) -> AsyncIterator[None]:
    """The cleanup context of the modes on: the key store (kept current in the background), the
    verifier (its own session for the key server), the quotas (with Redis when ``REDIS_URL`` is set)."""
    settings = app[SETTINGS]
    config = settings.auth
    redis = _redis(settings.redis_url, settings.cache.redis_timeout_s) if config.enabled else None
    keys = KeyStore(config.api_keys_file, redis) if "api_key" in config.mode else None
    session = aiohttp.ClientSession() if config.jwks_url is not None and "jwt" in config.mode else None
    verifier = Verifier(config, session) if "jwt" in config.mode else None
    app[AUTHENTICATOR] = Authenticator(config, keys, verifier)
    app[QUOTAS] = limiter = Quotas(settings.quota, redis)
    app[JOBS].on_end = lambda record: release_job_hold(limiter, record)
    watching = None
    if keys is not None:
        await keys.load()
        watching = asyncio.get_running_loop().create_task(keys.watch())
    if verifier is not None:
        await verifier.refresh()
    try:
        yield
    finally:
        if watching is not None:
            watching.cancel()
        await limiter.close()
        if session is not None:
            await session.close()
        if redis is not None:
            await redis.aclose()


def _redis(url: str | None, timeout_s: float) -> Redis | None:
    if not url:
        return None
    from redis.asyncio import Redis

    # Its own small pool: the keys' poll and the quotas' one script a request.
    return Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, protocol=2)
