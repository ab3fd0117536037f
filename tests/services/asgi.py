"""Call an ASGI app in-process, without a network or an HTTP client library (httpx is not installed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def data(self) -> Any:
        document = self.json()
        assert document["success"] is True, document
        return document["data"]

    @property
    def error(self) -> dict[str, Any]:
        document = self.json()
        assert document["success"] is False, document
        assert set(document) == {"success", "error"}
        assert set(document["error"]) == {"code", "message", "details"}
        return document["error"]


async def call(app: Any, method: str, path: str, json: Any = None, body: bytes | None = None) -> Answer:
    """Send one request to ``app`` and collect its answer; ``path`` may end with a ``?query``."""
    payload = body if body is not None else (b"" if json is None else orjson.dumps(json))
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ],
        "client": ("127.0.0.1", 12345),
        "server": ("testserver", 80),
    }
    sent = False
    status, headers, chunks = 0, {}, []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": payload, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            headers.update({k.decode().lower(): v.decode() for k, v in message.get("headers", [])})
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return Answer(status, headers, b"".join(chunks))


async def post(app: Any, path: str, json: Any = None, body: bytes | None = None) -> Answer:
    return await call(app, "POST", path, json=json, body=body)


async def get(app: Any, path: str) -> Answer:
    """``path`` with its query string already encoded, e.g. ``/tickers/search?q=S%26P``."""
    return await call(app, "GET", path)
