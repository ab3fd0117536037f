"""JSON over HTTP: reading a request body and writing an answer, with orjson."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import hdrs, web
from pydantic import BaseModel

from orchestrator.errors import InvalidRequest, PayloadTooLarge, RequestTimeout, UnsupportedMediaType
from orchestrator.limits import EdgeConfig, RequestLimits

JSON_CONTENT_TYPE = "application/json"


def dump(payload: BaseModel | dict[str, Any]) -> bytes:
    """Serialize an answer; the bytes are the JSON body and, unchanged, a stream's result event."""
    if isinstance(payload, BaseModel):
        payload = payload.model_dump()
    return orjson.dumps(payload)


def json_response(payload: BaseModel | dict[str, Any] | bytes, status: int = 200) -> web.Response:
    body = payload if isinstance(payload, bytes) else dump(payload)
    return web.Response(body=body, status=status, content_type=JSON_CONTENT_TYPE)


async def read_json(request: web.Request, edge: EdgeConfig, limits: RequestLimits) -> Any:
    """The decoded body, within every limit, refused before it is read wherever it can be.

    - a media type that is not JSON, or a compressed body (``Content-Encoding``): 415, unread; a
      compressed body is never inflated, so no compression bomb can go off here;
    - a declared length over the limit: 413, unread; a body sent in chunks makes aiohttp raise its
      413 once past the limit, which the error table maps the same way;
    - a body that does not arrive within ``edge.body_timeout_s``: 408;
    - JSON nested deeper, or holding more values, than ``limits`` allow: 400.
    """
    if hdrs.CONTENT_TYPE in request.headers and not _is_json(request.content_type):
        raise UnsupportedMediaType(f"Send the body as {JSON_CONTENT_TYPE}", {})
    if request.headers.get(hdrs.CONTENT_ENCODING, "identity").strip().lower() != "identity":
        raise UnsupportedMediaType("Send the body uncompressed (no Content-Encoding)", {})
    if (request.content_length or 0) > request.client_max_size:
        raise PayloadTooLarge("The request body is too large", {"max_bytes": request.client_max_size})
    try:
        async with asyncio.timeout(edge.body_timeout_s):
            body = await request.read()
    except TimeoutError:
        raise RequestTimeout("The request body took too long to arrive", {}) from None
    if not body.strip():
        raise InvalidRequest("The request body is empty; send a JSON object", {"errors": []})
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidRequest(
            f"The request body is not valid JSON (line {error.lineno}, column {error.colno})",
            {"errors": [{"field": "body", "message": "not valid JSON"}]},
        ) from None
    check_shape(document, limits)
    return document


def check_shape(document: Any, limits: RequestLimits) -> None:
    """INVALID_REQUEST for JSON nested deeper, or holding more values, than ``limits`` allow."""
    values, pending = 0, [(document, 1)]
    while pending:
        value, depth = pending.pop()
        values += 1
        if depth > limits.max_json_depth or values > limits.max_json_values:
            what = "nested deeper than" if depth > limits.max_json_depth else "holds more values than"
            limit = limits.max_json_depth if depth > limits.max_json_depth else limits.max_json_values
            raise InvalidRequest(
                f"The request body {what} {limit}",
                {"errors": [{"field": "body", "message": f"{what} {limit}"}]},
            )
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        pending.extend((child, depth + 1) for child in children)


def _is_json(content_type: str) -> bool:
    return content_type == JSON_CONTENT_TYPE or content_type.endswith("+json")
