"""Hypothesis against the running app: arbitrary bodies, headers, methods and paths.

The app is served on loopback from a thread (``tests.background``) with fake services behind it,
and spoken to with ``http.client``, which sends what it is given. Whatever comes in: never a 500,
always the error envelope when it is not a success, and never the input quoted back in an error.
``benchmarks.edges`` runs the same strategies for thousands of requests.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fakes
from fakes.services import fake_services
from orchestrator.registry import SERVICES
from orchestrator.web.app import create_app
from tests.background import BackgroundServers
from tests.orchestrator.conftest import make_settings

#: Put into fuzzed input wherever it could be echoed; an error answer must never contain it.
MARKER = "ZQXMARK"

METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH"]) | st.from_regex(
    r"[A-Z]{1,12}", fullmatch=True
)
PATH_CHARS = st.characters(codec="ascii", categories=("L", "N", "P", "S"), exclude_characters="?#% ")
PATHS = st.sampled_from(
    ["/api/backtest", "/api/health", "/health", "/", "/static/app.js", "/static/"]
) | st.builds(
    lambda base, tail: f"{base}{MARKER}{tail}",
    st.sampled_from(["/", "/api/", "/static/", "/api/backtest/"]),
    st.text(PATH_CHARS, max_size=40),
)
HEADER_NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True).filter(
    lambda name: (
        name.lower() not in {"content-length", "transfer-encoding", "host", "connection", "x-request-id"}
    )
)
HEADER_VALUES = st.text(st.characters(codec="ascii", min_codepoint=32, max_codepoint=126), max_size=60)
HEADERS = st.dictionaries(
    HEADER_NAMES, HEADER_VALUES.map(lambda value: MARKER + value), max_size=4
) | st.fixed_dictionaries(
    {
        "Content-Type": st.sampled_from(["application/json", "text/plain", "application/x-" + MARKER, ""]),
        "Accept": st.sampled_from(["application/json", "text/event-stream", "*/*"]),
    }
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20).map(lambda t: MARKER + t),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def _dumps(value: Any) -> bytes:
    """JSON as any client may send it: the standard library's (integers of any size included)."""
    return json.dumps(value).encode()


def mutated_request(path: str, value: Any) -> dict[str, Any]:
    """The fakes' valid request with the field at ``path`` replaced by ``value``."""
    return fakes.backtest_request(**{path: value})


FIELDS = [
    "market_params__ticker",
    "market_params__start_date",
    "market_params__end_date",
    "market_params__frequency",
    "strategy_params__strategy_type",
    "strategy_params__config",
    "portfolio_params__initial_capital",
    "portfolio_params__transaction_cost_pct",
    "baseline_params__reinvest_dividends",
    "include",
]
BODIES = (
    st.binary(max_size=200).map(lambda raw: MARKER.encode() + raw)
    | JSON_VALUES.map(_dumps)
    | st.builds(mutated_request, st.sampled_from(FIELDS), JSON_VALUES).map(_dumps)
    | st.just(_dumps(fakes.backtest_request()))
)


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    with BackgroundServers() as servers:
        services_url = servers.serve(fake_services())
        urls = {entry.url_setting: services_url for entry in SERVICES}
        yield servers.serve_orchestrator(create_app(make_settings(**urls)))


def send(
    url: str, method: str, path: str, headers: dict[str, str], body: bytes | None
) -> tuple[int, str, bytes]:
    where = urlsplit(url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.getheader("Content-Type") or "", answer.read()
    finally:
        connection.close()


def check(status: int, content_type: str, body: bytes, method: str) -> None:
    assert status < 500, (status, body[:300])
    if status < 400:
        return  # a success: a backtest, a stream, the page, a health check
    if method == "HEAD":
        return  # no body to look at
    assert content_type.startswith("application/json"), (status, content_type, body[:200])
    document = orjson.loads(body)
    assert document["success"] is False and set(document["error"]) == {"code", "message", "details"}
    assert MARKER.encode() not in body, body[:300]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=METHODS, path=PATHS, headers=HEADERS, body=BODIES)
def test_whatever_is_sent_the_answer_keeps_the_contract(app_url, method, path, headers, body):
    status, content_type, answer = send(app_url, method, path, headers, body)
    check(status, content_type, answer, method)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES, stream=st.booleans())
def test_whatever_body_is_posted_the_answer_keeps_the_contract(app_url, body, stream):
    headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream" if stream else "application/json",
    }
    status, content_type, answer = send(app_url, "POST", "/api/backtest", headers, body)
    check(status, content_type, answer, "POST")
