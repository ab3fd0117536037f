"""schemathesis against the running app: requests generated from /api/openapi.json, answers checked.

schemathesis has no aiohttp loader, so the app is served on a real loopback port from a thread
(``tests.background``), the fake services behind it, and schemathesis loads the document from the
live URL as any client would. For every operation, with valid and invalid requests (a bounded number
of each), and for each example body of the document in each of its forms (JSON, stream, CSV), every
check schemathesis has (the CLI's ``--checks all``): never a 500, only documented statuses, media
types and headers, every JSON answer within the schema of its status, an invalid request refused, a
valid one accepted, a missing required header refused, a method the path does not have a 405.
(502, 503 and 504 are answers of a gateway, documented: a generated ``X-Request-Timeout-Ms: 1``
rightly ends in a 504.)

A request valid by the document may still be refused by a rule JSON Schema cannot carry, one field
against another, or by what its data holds (docs/operations.md, "API description", lists them):
:func:`cross_field_refusal` tells those refusals by what their envelope names, and a valid request
refused for anything else fails as schemathesis' ``positive_data_acceptance`` would have it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS, CheckContext, load_all_checks
from schemathesis.core.transport import Response
from schemathesis.generation import GenerationMode

# Where it is defined, since 4.0 (later versions also export it from schemathesis.checks).
from schemathesis.specs.openapi.checks import positive_data_acceptance

from fakes.services import fake_services
from orchestrator.registry import SERVICES
from orchestrator.web import openapi
from orchestrator.web.app import create_app
from tests.background import BackgroundServers
from tests.orchestrator.conftest import make_settings


def cross_field_refusal(response: Response) -> bool:
    """Whether a 400 refused the request for a rule between fields, or for what its data holds."""
    if response.status_code != 400:
        return False
    error = response.json()["error"]
    code, details = error["code"], error["details"]
    if code == "INSUFFICIENT_DATA" or "service" in details:
        return True  # the data's verdict (too few bars for the folds) or a service's (an unknown strategy)
    if {"combination", "combinations", "settings"} & details.keys():
        return True  # a grid's values, each checked as the field its path names; a sweep's or a job's size
    if code == "INVALID_DATE_RANGE":
        return "field" not in details  # the dates' order or the range's length, not a malformed date
    problems = details.get("errors", [])
    return bool(problems) and all(CROSS_FIELD.search(problem["field"]) for problem in problems)


def key_reused(response: Response) -> bool:
    return response.status_code == 422 and response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


#: The fields a rule between fields names: a walk-forward's grid varying the market, the strategies'
#: distinct names, a sweep's CSV table (``folds`` for a walk-forward only, ``rows`` for the others);
#: and the whole body's (how deep it nests, how many values it holds).
CROSS_FIELD = re.compile(r"^(grid\.market_params\.|strategies$|query table$|body$)")


def valid_data_is_accepted_but_for_rules_between_fields(
    ctx: CheckContext, response: Response, case: schemathesis.Case
) -> bool | None:
    """schemathesis' ``positive_data_acceptance``, but for :func:`cross_field_refusal` and a job's
    ``Idempotency-Key`` sent again with another body (422: what was sent before decides it)."""
    if cross_field_refusal(response) or key_reused(response):
        return None
    return positive_data_acceptance(ctx, response, case)


load_all_checks()
#: Every check (``--checks all``), with positive_data_acceptance as above.
EVERY_CHECK = [
    valid_data_is_accepted_but_for_rules_between_fields if check is positive_data_acceptance else check
    for check in CHECKS.get_all()
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
        case.call_and_validate(checks=EVERY_CHECK, timeout=10)

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
    response = case.call_and_validate(checks=EVERY_CHECK, timeout=10)
    # The fakes' prices are four days: too few for the walk-forward example's folds, a documented 400
    # (in a stream, which starts once the request is valid, its error event).
    assert response.status_code == (400 if name == "walk_forward" and form != "stream" else 200)
