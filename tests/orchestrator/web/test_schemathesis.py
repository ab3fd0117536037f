"""schemathesis against the running app: requests generated from /api/openapi.json, answers checked.

schemathesis has no aiohttp loader, so the app is served on a real loopback port from a thread
(``tests.background``), the fake services behind it, and schemathesis loads the document from the
live URL as any client would. For every operation, with valid and invalid requests (a bounded number
of each), and for each example body of the document in each of its forms (JSON, stream, CSV): never
a 500, only documented statuses and media types, every JSON answer within the schema of its status,
and the headers the document requires. (502, 503 and 504 are answers of a gateway, documented: a
generated ``X-Request-Timeout-Ms: 1`` rightly ends in a 504.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

# Where these are defined, since 4.0 (later versions also export them from schemathesis.checks).
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from orchestrator.registry import SERVICES
from orchestrator.web import openapi
from orchestrator.web.app import create_app
from tests.background import BackgroundServers
from tests.loopback import fake_services
from tests.orchestrator.conftest import make_settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
#: not_a_server_error's "server error": only a 500, a bug of ours.
CONFIG = {
    "checks": {"not_a_server_error": {"expected-statuses": ["1xx", "2xx", "3xx", "4xx", "502", "503", "504"]}}
}
#: Per operation and generation mode: about 30 s for the whole API on loopback.
EXAMPLES = 80
#: The query parameters that are an operation's input (not a choice of form, as ``format`` is).
QUERY_INPUTS = {"TickerQuery", "TickerLimit"}
#: Each operation of the document (from the table it is made from, ``web/openapi/``) with valid
#: requests, and with invalid ones where it takes anything that can be invalid (a body, a path, a query).
RUNS = [
    pytest.param(operation.method.upper(), operation.path, mode, id=f"{operation.path}-{mode.value}")
    for operation in openapi.OPERATIONS
    for mode in GenerationMode
    if mode is GenerationMode.POSITIVE
    or operation.request is not None
    or "{" in operation.path
    or QUERY_INPUTS & set(operation.parameters)
]
BODIES = [
    pytest.param(operation.path, name, id=f"{operation.path}:{name}")
    for operation in openapi.OPERATIONS
    for name in operation.examples
]
FORMS = {
    "json": ({}, {}),
    "stream": ({"Accept": "text/event-stream"}, {}),
    "csv": ({}, {"format": "csv"}),
}


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    with BackgroundServers() as servers:
        services_url = servers.serve(fake_services())
        urls = {entry.url_setting: services_url for entry in SERVICES}
        # No cache: every generated backtest goes through the services; a generated grid of a
        # thousand valid combinations would take seconds, so fewer are allowed (more: a 400).
        # Jobs likewise: each generated job runs in the background while the others are tried.
        settings = make_settings(
            **urls, cache={"enabled": False}, sweep={"max_combinations": 64}, jobs={"max_settings": 64}
        )
        yield servers.serve_orchestrator(create_app(settings))


@pytest.fixture(scope="module")
def api_schema(app_url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(
        f"{app_url}/api/openapi.json", config=schemathesis.Config.from_dict(CONFIG)
    )


# schemathesis' own pytest loader (``schemathesis.pytest.from_fixture``) fails on pytest 9 (it reads
# ``request.node._nodeid``); an operation's hypothesis strategy is all it takes.
@pytest.mark.parametrize(("method", "path", "mode"), RUNS)
def test_generated_requests_are_answered_within_the_document(
    api_schema: schemathesis.BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def answered_within_the_document(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS, timeout=10)

    answered_within_the_document()


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("path", "name"), BODIES)
def test_each_example_is_answered_within_the_document_in_each_form(
    api_schema: schemathesis.BaseSchema, path: str, name: str, form: str
) -> None:
    operation = api_schema[path]["POST"]
    body = api_schema.raw_schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    headers, query = FORMS[form]
    case = operation.Case(
        body=body["examples"][name]["value"], media_type="application/json", headers=headers, query=query
    )
    response = case.call_and_validate(checks=CHECKS, timeout=10)
    # The fakes' prices are four days: too few for the walk-forward example's folds, a documented 400
    # (in a stream, which starts once the request is valid, its error event).
    assert response.status_code == (400 if name == "walk_forward" and form != "stream" else 200)
