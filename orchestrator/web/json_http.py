"""JSON over HTTP: reading a request body and writing an answer, with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import hdrs, web
from pydantic import BaseModel

from orchestrator.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType

JSON_CONTENT_TYPE = "application/json"


def dump(payload: BaseModel | dict[str, Any]) -> bytes:
    """Serialize an answer; the bytes are the JSON body and, unchanged, a stream's result event."""
    if isinstance(payload, BaseModel):
        payload = payload.model_dump()
    return orjson.dumps(payload)


def json_response(payload: BaseModel | dict[str, Any] | bytes, status: int = 200) -> web.Response:
    body = payload if isinstance(payload, bytes) else dump(payload)
    return web.Response(body=body, status=status, content_type=JSON_CONTENT_TYPE)


async def read_json(request: web.Request) -> Any:
    """The decoded body.

    A body that declares a length over the limit is refused before it is read (naming the limit);
    one sent in chunks makes aiohttp raise its 413 once past the limit, which the error table maps
    to the same PAYLOAD_TOO_LARGE.
    """
    if hdrs.CONTENT_TYPE in request.headers and not _is_json(request.content_type):
        raise UnsupportedMediaType(
            f"Send the body as {JSON_CONTENT_TYPE}, not {request.content_type}",
            {"content_type": request.content_type},
        )
    if (request.content_length or 0) > request.client_max_size:
        raise PayloadTooLarge("The request body is too large", {"max_bytes": request.client_max_size})
    body = await request.read()
    if not body.strip():
        raise InvalidRequest("The request body is empty; send a JSON object", {"errors": []})
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidRequest(
            f"The request body is not valid JSON (line {error.lineno}, column {error.colno})",
            {"errors": [{"field": "body", "message": "not valid JSON"}]},
        ) from None


def _is_json(content_type: str) -> bool:
    return content_type == JSON_CONTENT_TYPE or content_type.endswith("+json")
