"""Yahoo Finance, replayed: a curl_cffi session that answers yfinance from recorded exchanges.

Each file of ``recordings/yahoo/`` is one exchange: the request (method, URL, the query parameters
that identify it) and Yahoo's answer (status, headers, body). They were written to the shape of
Yahoo's answers (the v8 chart, v10 quote summary and v1 search APIs) rather than captured, as no
network is reached from here; SPY's prices are its December 2023 ones, to the cent or so.
:class:`Replay` is a real ``curl_cffi.requests.Session`` (yfinance accepts no other), so yfinance
runs as it does against
Yahoo: the cookie and crumb requests first, its time zone lookup, then the chart or the search, all
parsed by its own code. Only the network is replaced. A request no recording matches is answered
404 with an empty body and kept in :attr:`Replay.unmatched`, so a test can see what it did not expect.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from curl_cffi.requests import Response, Session
from curl_cffi.requests.headers import Headers

RECORDINGS = Path(__file__).parent / "recordings" / "yahoo"
#: What yfinance asks before any data: a cookie, then a crumb.
HANDSHAKE = ("fc_cookie", "crumb")


def recording(name: str) -> dict[str, Any]:
    return json.loads((RECORDINGS / f"{name}.json").read_text())


def _where(url: str) -> tuple[str, str]:
    """Host and path, Yahoo's two query hosts taken as one (yfinance uses either)."""
    parts = urlsplit(url)
    return (parts.hostname or "").replace("query1.", "query2."), parts.path.rstrip("/")


class Replay(Session):
    """Answers each request with the first recording that matches it, in the order given.

    ``exchanges`` are recording names or recordings (dicts, e.g. one loaded and changed by a test);
    ``failures`` maps a URL path to the exception a request for it raises (no answer at all).
    """

    def __init__(self, *exchanges: str | dict[str, Any], failures: dict[str, BaseException] | None = None):
        super().__init__()
        loaded = [recording(item) if isinstance(item, str) else item for item in (*exchanges, *HANDSHAKE)]
        self.exchanges = loaded
        self.failures = failures or {}
        #: every request made: (method, URL without its query, parameters)
        self.sent: list[tuple[str, str, dict[str, str]]] = []
        self.unmatched: list[tuple[str, str, dict[str, str]]] = []

    def request(self, method: str, url: str, params: Any = None, **_: Any) -> Response:  # type: ignore[override]
        query = {**dict(parse_qsl(urlsplit(url).query)), **{k: str(v) for k, v in dict(params or {}).items()}}
        base = url.split("?", 1)[0]
        self.sent.append((method, base, query))
        host, path = _where(url)
        if path in self.failures:
            raise self.failures[path]
        for exchange in self.exchanges:
            asked = exchange["request"]
            same = asked["method"] == method and _where(asked["url"]) == (host, path)
            if same and all(query.get(k) == str(v) for k, v in asked["params"].items()):
                return _response(url, exchange["response"])
        self.unmatched.append((method, base, query))
        return _response(url, {"status": 404, "headers": {}, "body": ""})

    def data_requests(self) -> list[tuple[str, str, dict[str, str]]]:
        """The requests for data (charts, searches, summaries), not for the cookie or the crumb."""
        return [sent for sent in self.sent if "/finance/" in sent[1]]


def _response(url: str, recorded: dict[str, Any]) -> Response:
    body = recorded["body"]
    answer = Response()
    answer.url = url
    answer.status_code = recorded["status"]
    answer.ok = answer.status_code < 400
    answer.reason = "OK" if answer.ok else "Error"
    answer.headers = Headers(recorded["headers"])
    answer.content = (body if isinstance(body, str) else json.dumps(body)).encode()
    return answer
