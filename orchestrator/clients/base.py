"""One service behind us, called over the application's pooled HTTP session.

Every call is a cold observable (nothing is sent until it is subscribed, and disposal aborts the
request), bounded by the service's timeout, with failures mapped into the error tree. The answer
is unwrapped from its envelope and validated against the model of what the service promises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import orjson
import structlog
from pydantic import BaseModel, ValidationError
from reactivex import Observable
from reactivex.abc import SchedulerBase

from orchestrator.clients.envelope import unwrap
from orchestrator.errors import ExternalApiError, ServiceTimeout, from_exception
from streams import from_coroutine, map_error, timeout_after

M = TypeVar("M", bound=BaseModel)

log = structlog.get_logger("orchestrator.clients")


@dataclass(frozen=True, slots=True)
class ServiceClient:
    """How to reach one service: its name in errors and logs, where it is, how long to wait."""

    name: str
    base_url: str
    timeout_s: float
    session: aiohttp.ClientSession
    scheduler: SchedulerBase

    def post(self, path: str, body: dict[str, Any], model: type[M], request_id: str) -> Observable[M]:
        """POST ``body`` to ``path``; emit the answer's ``data`` as ``model``, or one mapped error."""
        return from_coroutine(lambda: self._post(path, body, model, request_id)).pipe(
            timeout_after(self.timeout_s, self.scheduler, lambda: ServiceTimeout(self.name, self.timeout_s)),
            map_error(lambda error: from_exception(self.name, self.timeout_s, error)),
        )

    async def _post(self, path: str, body: dict[str, Any], model: type[M], request_id: str) -> M:
        headers = {"Content-Type": "application/json", "X-Request-ID": request_id}
        async with self.session.post(
            self.base_url + path, data=orjson.dumps(body), headers=headers
        ) as answer:
            raw = await answer.read()
        log.debug("downstream answer", service=self.name, path=path, status=answer.status, bytes=len(raw))
        data = unwrap(self.name, answer.status, raw)
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise ExternalApiError(
                self.name,
                answer.status,
                f"The {self.name} service answered {path} outside its contract",
                problems=[f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5]],
            ) from None

    async def health(self, timeout_s: float) -> str:
        """``healthy`` when ``GET /health`` answers 200 with ``status: healthy``; else why not."""
        try:
            async with self.session.get(
                self.base_url + "/health", timeout=aiohttp.ClientTimeout(total=timeout_s)
            ) as answer:
                raw = await answer.read()
        except TimeoutError:
            return "timeout"
        except aiohttp.ClientError:
            return "unreachable"
        try:
            healthy = answer.status == 200 and orjson.loads(raw).get("status") == "healthy"
        except (orjson.JSONDecodeError, AttributeError):
            healthy = False
        return "healthy" if healthy else "unhealthy"
