"""The API's OpenAPI 3.1 document at /api/openapi.json, and Swagger UI at /api/docs.

The document is valid OpenAPI 3.1 (openapi-spec-validator), covers every route the app has and
nothing else, and gives every error code of the error tree its status; the page loads only its own
assets, each served from here. What the app answers is checked against the document in
``test_openapi_answers.py`` (real answers) and ``test_schemathesis.py`` (generated requests).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator

import orchestrator
from orchestrator import errors
from orchestrator.errors import ApiError, InvalidRequest
from orchestrator.limits import RequestLimits
from orchestrator.research.compare import plan_compare
from orchestrator.research.config import CompareConfig, SweepConfig
from orchestrator.research.grid import path_pattern
from orchestrator.research.plan import plan_sweep
from orchestrator.schemas.requests import parse_backtest
from orchestrator.web import middlewares, openapi
from orchestrator.web.keys import ADMISSION
from orchestrator.web.routes import api_docs

#: The page at / and its files: outside the API's contract (docs/contract.md, section 4).
UNDOCUMENTED = {("GET", "/"), ("GET", "/static/{name}")}


@pytest.fixture
async def document(client) -> dict:
    response = await client.get("/api/openapi.json")
    assert (response.status, response.content_type) == (200, "application/json")
    return await response.json()


async def test_the_document_is_valid_openapi_3_1(document):
    OpenAPIV31SpecValidator(document).validate()  # raises on the first problem
    assert document["openapi"].startswith("3.1.")


async def test_the_documents_version_is_the_packages(document):
    assert document["info"]["version"] == orchestrator.__version__


async def test_it_has_every_route_of_the_app_and_no_other(client, document):
    routes = {
        (route.method, route.resource.canonical)
        for route in client.app.router.routes()
        if route.method not in ("HEAD", "OPTIONS") and route.resource is not None
    }
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert routes - UNDOCUMENTED == documented


async def test_every_error_code_has_its_status_and_every_error_answer_is_the_envelope(document):
    described = {
        status: response["content"]["application/json"]["schema"]["allOf"][1]["properties"]["error"][
            "properties"
        ]["code"]["enum"]
        for status, response in (
            (int(name.removeprefix("Error")), response)
            for name, response in document["components"]["responses"].items()
        )
    }
    codes = openapi.codes_by_status()
    # FORBIDDEN (403) answers a CORS preflight, an OPTIONS the document does not list.
    assert {status: codes[status] for status in codes if status != 403} == described
    for response in document["components"]["responses"].values():
        schema = response["content"]["application/json"]["schema"]["allOf"][0]
        assert schema == {"$ref": "#/components/schemas/ErrorResponse"}


async def test_post_routes_list_each_error_a_run_can_end_with(document):
    for path in ("/api/backtest", "/api/sweep", "/api/compare"):
        responses = document["paths"][path]["post"]["responses"]
        statuses = {int(status) for status in responses if status != "200"}
        assert statuses == {400, 404, 405, 408, 411, 413, 415, 431, 500, 502, 503, 504}, path


async def test_json_sse_and_csv_forms_are_described(document):
    backtest = document["paths"]["/api/backtest"]["post"]["responses"]["200"]["content"]
    assert set(backtest) == {"application/json", "text/event-stream", "text/csv"}
    assert _events(backtest) == {"progress", "result", "error"}
    sweep = document["paths"]["/api/sweep"]["post"]["responses"]["200"]["content"]
    assert _events(sweep) == {"result", "progress", "fold", "summary", "error"}
    compare = document["paths"]["/api/compare"]["post"]["responses"]["200"]["content"]
    assert set(compare) == {"application/json", "text/event-stream"}
    assert _events(compare) == {"progress", "result", "error"}


def _events(content: dict) -> set[str]:
    """The events a stream's schema names, each with the schema of its data."""
    schema = content["text/event-stream"]["schema"]
    branches = {branch["properties"]["event"]["const"]: branch for branch in schema["oneOf"]}
    assert set(branches) == set(schema["properties"]["event"]["enum"])
    for branch in branches.values():
        assert branch["properties"]["data"]["contentMediaType"] == "application/json"
        assert branch["properties"]["data"]["contentSchema"]["$ref"].startswith("#/components/schemas/")
    return set(branches)


async def test_request_bodies_are_the_models_schemas(document):
    bodies = {
        path: item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        for path, item in document["paths"].items()
        if "post" in item
    }
    assert bodies == {
        "/api/backtest": "#/components/schemas/BacktestRequest",
        "/api/sweep": "#/components/schemas/SweepRequest",
        "/api/compare": "#/components/schemas/CompareRequest",
        "/api/jobs": "#/components/schemas/JobRequest",
    }
    schemas = document["components"]["schemas"]
    assert {"grid", "market_params", "walk_forward"} <= set(schemas["SweepRequest"]["properties"])
    assert "strategy_params" not in schemas["CompareRequest"]["properties"]


async def test_the_document_gives_this_servers_bounds(client_for):
    client = await client_for(
        request_limits={"max_amount": 5000, "max_percent": 10}, compare={"max_strategies": 3}
    )
    schemas = (await (await client.get("/api/openapi.json")).json())["components"]["schemas"]
    for fields, bound in ((openapi.AMOUNTS, 5000), (openapi.PERCENTS, 10)):
        for model, name in fields:
            assert schemas[model]["properties"][name]["maximum"] == bound
    assert schemas["CompareRequest"]["properties"]["strategies"]["maxItems"] == 3


@pytest.mark.parametrize(("model", "name"), [*openapi.AMOUNTS, *openapi.PERCENTS])
def test_each_bound_is_one_validation_enforces(model, name):
    limits = RequestLimits(max_amount=50_000, max_percent=10)
    bound = limits.max_amount if (model, name) in openapi.AMOUNTS else limits.max_percent
    part = {"PortfolioParams": "portfolio_params", "BaselineParams": "baseline_params"}[model]
    body = openapi.BACKTEST_EXAMPLE | {part: {**openapi.BACKTEST_EXAMPLE[part], name: bound}}
    parse_backtest(body, limits)  # at the bound: valid
    body[part][name] = bound * 1.001
    with pytest.raises(InvalidRequest) as refused:
        parse_backtest(body, limits)
    assert refused.value.details["errors"] == [
        {"field": f"{part}.{name}", "message": f"must be at most {bound:g}"}
    ]


def _valid(document: dict[str, Any], model: str, body: Any) -> bool:
    # The document as the root, so that its "#/components/schemas/..." references resolve.
    root = {"$ref": f"#/components/schemas/{model}", "components": document["components"]}
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER).is_valid(body)


def _refused(plan: Callable[[Any], Any], body: Any) -> bool:
    try:
        plan(body)
    except ApiError:
        return True
    return False


def _config(strategy_type: str, **config: Any) -> dict[str, Any]:
    return {**openapi.BACKTEST_EXAMPLE, "strategy_params": {"strategy_type": strategy_type, "config": config}}


def _dates(start: str, end: str = "2022-01-01") -> dict[str, Any]:
    market = {**openapi.BACKTEST_EXAMPLE["market_params"], "start_date": start, "end_date": end}
    return {**openapi.BACKTEST_EXAMPLE, "market_params": market}


def _ticker(ticker: str) -> dict[str, Any]:
    market = {**openapi.BACKTEST_EXAMPLE["market_params"], "ticker": ticker}
    return {**openapi.BACKTEST_EXAMPLE, "market_params": market}


def _sweep(grid: dict[str, list[Any]]) -> dict[str, Any]:
    return {**openapi.BACKTEST_EXAMPLE, "grid": grid}


def _compare(*names: str) -> dict[str, Any]:
    body = {key: value for key, value in openapi.BACKTEST_EXAMPLE.items() if key != "strategy_params"}
    return {**body, "strategies": [{"name": name, "strategy_type": "buy_the_dip"} for name in names]}


def _plan_sweep(body: Any) -> Any:
    return plan_sweep(body, RequestLimits(), SweepConfig())


def _plan_compare(body: Any) -> Any:
    return plan_compare(body, RequestLimits(), CompareConfig().max_strategies)


#: Bodies at the edges of a rule the document carries as well as the server, each with whether
#: both take it: a date (real, no year 0000), a ticker, a buy_the_dip config's fields (its other
#: keys and other strategies' configs pass on), a grid's paths, an integer (``3.0`` is one, as JSON
#: Schema counts), the baseline's reserved name.
BOTH_SAY = [
    ("BacktestRequest", parse_backtest, _dates("2020-02-29"), True),
    ("BacktestRequest", parse_backtest, _dates("2021-02-29"), False),
    ("BacktestRequest", parse_backtest, _dates("0000-01-01"), False),
    ("BacktestRequest", parse_backtest, _dates("2020-01-01\n"), False),
    ("BacktestRequest", parse_backtest, _dates("2020-1-01"), False),
    ("BacktestRequest", parse_backtest, _ticker("^GSPC"), True),
    ("BacktestRequest", parse_backtest, _ticker("TQQQ\n"), False),
    ("BacktestRequest", parse_backtest, _config("buy_the_dip", price_change_threshold=-0.05), True),
    ("BacktestRequest", parse_backtest, _config("buy_the_dip", price_change_threshold=0.05), False),
    ("BacktestRequest", parse_backtest, _config("buy_the_dip", lookback_period="hourly"), False),
    ("BacktestRequest", parse_backtest, _config("buy_the_dip", anything="else"), True),
    ("BacktestRequest", parse_backtest, _config("dollar_cost_average", price_change_threshold=0.05), True),
    ("SweepRequest", _plan_sweep, _sweep({"strategy_params.config.price_change_threshold": [-0.05]}), True),
    ("SweepRequest", _plan_sweep, _sweep({"": [1]}), False),
    ("SweepRequest", _plan_sweep, {**_sweep({"use_test_data": [True]}), "top_k": 3.0}, True),
    ("SweepRequest", _plan_sweep, {**_sweep({"use_test_data": [True]}), "top_k": 3.5}, False),
    ("SweepRequest", _plan_sweep, {**_sweep({"use_test_data": [True]}), "top_k": "3"}, False),
    ("SweepRequest", _plan_sweep, _sweep({"use_test_data\n": [True]}), False),
    ("SweepRequest", _plan_sweep, _sweep({"strategy_params.config": [{}]}), False),
    ("CompareRequest", _plan_compare, _compare("dip", "baseline"), False),
    ("CompareRequest", _plan_compare, _compare("dip", "baseline 2"), True),
]


@pytest.mark.parametrize(("model", "plan", "body", "taken"), BOTH_SAY)
def test_the_document_and_the_server_take_the_same_bodies_at_each_rules_edges(model, plan, body, taken):
    assert (_valid(openapi.document(), model, body), not _refused(plan, body)) == (taken, taken)


def test_the_grids_keys_are_the_servers_path_pattern():
    grid = openapi.document()["components"]["schemas"]["SweepRequest"]["properties"]["grid"]
    assert grid["propertyNames"] == {"pattern": path_pattern()}


def test_the_examples_are_valid_requests():
    for operation in openapi.OPERATIONS:
        for example in operation.examples.values():
            assert operation.request is not None
            operation.request.model_validate(example)
    parse_backtest(openapi.BACKTEST_EXAMPLE)


def test_the_request_id_pattern_is_the_one_the_middleware_takes():
    assert f"^{middlewares._VALID_REQUEST_ID.pattern}$" == openapi.REQUEST_ID_PATTERN


def test_the_document_and_the_error_tree_agree_on_statuses():
    for status, codes in openapi.codes_by_status().items():
        assert status in openapi.STATUS_MEANINGS
        for code in codes:
            assert any(
                getattr(cls, "code", None) == code and cls.status == status
                for cls in _classes(errors.ApiError)
            )


def _classes(base: type) -> list[type]:
    return [base, *(cls for sub in base.__subclasses__() for cls in _classes(sub))]


# --- the page ----------------------------------------------------------------------------------------


async def test_the_page_is_swagger_ui_on_our_document_with_only_local_assets(client):
    response = await client.get("/api/docs")
    assert (response.status, response.content_type) == (200, "text/html")
    page = await response.text()
    assert 'url: "/api/openapi.json"' in page
    assert "validatorUrl: null" in page  # else the UI loads a badge from validator.swagger.io
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page, flags=re.IGNORECASE), "no outside URL"
    referenced = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert referenced and all(ref.startswith("/api/docs/static/") for ref in referenced)
    for ref in referenced:
        asset = await client.get(ref)
        assert asset.status == 200, ref
        assert asset.content_type == api_docs.ASSETS[ref.rsplit("/", 1)[1]]
        assert len(await asset.read()) > 0


async def test_the_assets_are_swagger_ui_5_which_renders_openapi_3_1(client):
    bundle = await (await client.get("/api/docs/static/swagger-ui-bundle.js")).text()
    version = re.search(r'PACKAGE_VERSION:"([0-9.]+)"', bundle)
    assert version is not None and version.group(1) == api_docs.SWAGGER_UI
    assert int(api_docs.SWAGGER_UI.split(".")[0]) >= 5


async def test_the_served_assets_are_the_vendored_files_byte_for_byte(client):
    for name in api_docs.ASSETS:
        served = await (await client.get(f"/api/docs/static/{name}")).read()
        assert served == (api_docs.ASSETS_DIR / name).read_bytes(), name


def test_the_vendored_files_are_swagger_ui_dists_unchanged():
    """Their digests are those of the release README.md names (SHA256SUMS), and nothing more is served."""
    listed = dict(
        reversed(line.split()) for line in (api_docs.ASSETS_DIR / "SHA256SUMS").read_text().splitlines()
    )
    assert set(listed) == set(api_docs.ASSETS)
    for name, digest in listed.items():
        assert hashlib.sha256((api_docs.ASSETS_DIR / name).read_bytes()).hexdigest() == digest, name
    assert f"swagger-ui-dist {api_docs.SWAGGER_UI}" in (api_docs.ASSETS_DIR / "README.md").read_text()
    assert {"LICENSE", "NOTICE"} <= {path.name for path in api_docs.ASSETS_DIR.iterdir()}


#: Beside the vendored files, or swagger-ui-dist's but not vendored, or not a file at all.
NOT_SERVED = ["LICENSE", "NOTICE", "README.md", "SHA256SUMS", "index.css", "favicon-32x32.png"]


@pytest.mark.parametrize("name", [*NOT_SERVED, "..%2Fapi_docs.py", "nope.css"])
async def test_only_the_pages_assets_are_served(client, name):
    response = await client.get(f"/api/docs/static/{name}")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "NOT_FOUND"


async def test_the_docs_are_never_refused_for_overload_or_shutdown(client):
    client.app[ADMISSION].draining = True
    for path in ("/api/openapi.json", "/api/docs", "/api/docs/static/swagger-ui.css"):
        assert (await client.get(path)).status == 200, path


async def test_other_origins_allowed_by_cors_can_read_the_document(client_for):
    client = await client_for(cors_origins="http://localhost:5173")
    response = await client.get("/api/openapi.json", headers={"Origin": "http://localhost:5173"})
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    response = await client.get("/api/openapi.json", headers={"Origin": "http://elsewhere.example"})
    assert (response.status, "Access-Control-Allow-Origin" in response.headers) == (200, False)
