"""One service behind us, called through a transport.

Every call is a cold observable (nothing is sent until it is subscribed, and disposal aborts the
request), bounded by the service's timeout on the given scheduler, with failures mapped into the
error tree. The answer is unwrapped from its envelope and validated against the model of what the
service promises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import orjson
import structlog
from pydantic import BaseModel, ValidationError
from reactivex import Observable
from reactivex import operators as ops
from reactivex.abc import SchedulerBase

from orchestrator.clients.envelope import unwrap
from orchestrator.clients.transport import Answer, Request, Transport
from orchestrator.errors import ExternalApiError, ServiceTimeout, from_client_exception
from streams import map_error, timeout_after

M = TypeVar("M", bound=BaseModel)

log = structlog.get_logger("orchestrator.clients")


@dataclass(frozen=True, slots=True)
class ServiceClient:
    """How to reach one service: its name in errors and logs, where it is, how long to wait."""

    name: str
    base_url: str
    timeout_s: float
    transport: Transport
    scheduler: SchedulerBase

    def post(self, path: str, body: dict[str, Any], model: type[M], request_id: str) -> Observable[M]:
        """POST ``body`` to ``path``; emit the answer's ``data`` as ``model``, or one mapped error."""
        headers = {"Content-Type": "application/json", "X-Request-ID": request_id}
        request = Request("POST", self.base_url + path, orjson.dumps(body), headers)
        return self.transport.send(request).pipe(
            timeout_after(self.timeout_s, self.scheduler, lambda: ServiceTimeout(self.name, self.timeout_s)),
            ops.map(lambda answer: read_answer(self.name, path, answer, model)),
            map_error(lambda error: from_client_exception(self.name, self.timeout_s, error)),
        )

    async def health(self, path: str, timeout_s: float) -> str:
        """``healthy`` when ``GET path`` answers 200 with ``status: healthy``; else why not."""
        check = self.transport.send(Request("GET", self.base_url + path)).pipe(
            timeout_after(timeout_s, self.scheduler, TimeoutError),
            ops.map(_health_state),
        )
        try:
            return await check
        except TimeoutError:
            return "timeout"
        except aiohttp.ClientError:
            return "unreachable"


def read_answer(service: str, path: str, answer: Answer, model: type[M]) -> M:
    """The ``data`` of ``service``'s answer to ``path``, as ``model``; or the error it amounts to."""
    log.debug("downstream answer", service=service, path=path, status=answer.status, bytes=len(answer.body))
    data = unwrap(service, answer.status, answer.body)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ExternalApiError(
            service,
            answer.status,
            f"The {service} service answered {path} outside its contract",
            problems=[f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5]],
        ) from None


def _health_state(answer: Answer) -> str:
    try:
        healthy = answer.status == 200 and orjson.loads(answer.body).get("status") == "healthy"
    except (orjson.JSONDecodeError, AttributeError):
        healthy = False
    return "healthy" if healthy else "unhealthy"
