"""Real answers validate against the schemas the document gives them, read from the document served.

Each answer (the app in-process, the fake services behind it) is checked against the schema of its
path, method, status and media type, each event of a stream against the event schema (its ``data``
against the ``contentSchema`` its name selects), with jsonschema's Draft 2020-12 validator. The
answers are assembled as plain dicts, not dumped from the models: this is where the description and
the code are held together.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

import fakes
from orchestrator.client import sse
from orchestrator.clients.transport import Answer, Request
from orchestrator.web.keys import ADMISSION
from tests.orchestrator.conftest import STRATEGY, answer_every_call, answer_instead
from tests.services_table import body_of

STREAM = {"Accept": "text/event-stream"}
THRESHOLD = "strategy_params.config.price_change_threshold"
DIP = {"name": "dip 5%", "strategy_type": "buy_the_dip", "config": {"price_change_threshold": -0.05}}
DCA = {"name": "monthly", "strategy_type": "dollar_cost_average", "config": {}}


class Described:
    """The document's schema for each answer, and a check of an answer against it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def response(self, path: str, method: str, status: int) -> dict[str, Any]:
        response = self.document["paths"][path][method]["responses"][str(status)]
        if "$ref" in response:
            response = self.document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        return response

    def check(self, value: Any, schema: dict[str, Any]) -> None:
        # The document as the root, so that its "#/components/schemas/..." references resolve.
        root = {**schema, "components": self.document["components"]}
        errors = sorted(Draft202012Validator(root).iter_errors(value), key=str)
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])

    def check_json(self, path: str, method: str, status: int, body: Any) -> None:
        self.check(body, self.response(path, method, status)["content"]["application/json"]["schema"])

    def check_events(self, path: str, events: list[sse.Event]) -> None:
        schema = self.response(path, "post", 200)["content"]["text/event-stream"]["schema"]
        data_schemas = {
            branch["properties"]["event"]["const"]: branch["properties"]["data"]["contentSchema"]
            for branch in schema["oneOf"]
        }
        assert events
        for event in events:
            # jsonschema reads contentSchema as an annotation only: the data is checked on its own.
            self.check({"id": event.id, "event": event.event, "data": event.data}, schema)
            self.check(event.json(), data_schemas[event.event])


@pytest.fixture
async def described(client) -> Described:
    return Described(await (await client.get("/api/openapi.json")).json())


async def _answer(client, path: str, body: dict[str, Any], status: int = 200, **kwargs: Any) -> Any:
    response = await client.post(path, json=body, **kwargs)
    assert response.status == status, await response.text()
    return await response.json()


async def _events(client, path: str, body: dict[str, Any]) -> list[sse.Event]:
    response = await client.post(path, json=body, headers=STREAM)
    assert (response.status, response.content_type) == (200, "text/event-stream")
    return sse.parse(await response.text())


def sweep_request(grid: dict[str, list[Any]] | None = None, **options: Any) -> dict[str, Any]:
    return {**fakes.backtest_request(), "grid": grid or {THRESHOLD: [-0.03, -0.05]}, **options}


def compare_request() -> dict[str, Any]:
    body = {key: value for key, value in fakes.backtest_request().items() if key != "strategy_params"}
    return {**body, "strategies": [DIP, DCA]}


# --- backtest ---------------------------------------------------------------------------------------


async def test_a_backtest_with_its_extras(start, described):
    client, _ = await start()
    body = fakes.backtest_request(include=["market_data", "signals"])
    answer = await _answer(client, "/api/backtest", body)
    assert {"market_data", "signals"} <= answer["data"].keys()
    described.check_json("/api/backtest", "post", 200, answer)


async def test_a_backtests_stream(start, described):
    client, _ = await start()
    events = await _events(client, "/api/backtest", fakes.backtest_request())
    assert {event.event for event in events} == {"progress", "result"}
    described.check_events("/api/backtest", events)


async def test_a_backtests_csv_has_a_described_media_type(start, described):
    client, _ = await start()
    response = await client.post("/api/backtest?format=csv&table=trades", json=fakes.backtest_request())
    assert response.status == 200
    assert response.content_type in described.response("/api/backtest", "post", 200)["content"]
    assert response.headers["Content-Disposition"].startswith("attachment;")


# --- sweep and walk-forward -------------------------------------------------------------------------


async def test_a_sweep_with_time_series(start, described):
    client, _ = await start()
    answer = await _answer(client, "/api/sweep", sweep_request(include_time_series=True))
    assert all("time_series" in row for row in answer["data"]["rows"])
    described.check_json("/api/sweep", "post", 200, answer)


async def test_a_sweep_with_a_failed_row(client_for, services, described):
    answer_every_call(services)

    def signals(request: Request) -> Answer:
        body = body_of(request)
        if body["strategy_type"] == "nope":
            return Answer(400, orjson.dumps(fakes.error_envelope("STRATEGY_NOT_FOUND")))
        return Answer(200, orjson.dumps(fakes.answer("/signals", body)))

    answer_instead(services, STRATEGY + "/signals", reply=signals)
    client = await client_for()
    grid = {"strategy_params.strategy_type": ["buy_the_dip", "nope"]}
    answer = await _answer(client, "/api/sweep", sweep_request(grid))
    assert [row["rank"] for row in answer["data"]["rows"]] == [1, None]
    described.check_json("/api/sweep", "post", 200, answer)
    # A walk-forward whose every in-sample row fails: folds with errors, no out-of-sample record.
    walk = sweep_request(
        {"strategy_params.strategy_type": ["nope"]}, walk_forward={"split_date": "2020-01-06"}
    )
    answer = await _answer(client, "/api/sweep", walk)
    assert answer["data"]["walk_forward"]["out_of_sample"] is None
    described.check_json("/api/sweep", "post", 200, answer)


async def test_a_sweeps_stream(start, described):
    client, _ = await start(sweep={"progress_interval_s": 0})
    events = await _events(client, "/api/sweep", sweep_request())
    assert {event.event for event in events} == {"result", "progress", "summary"}
    described.check_events("/api/sweep", events)


@pytest.mark.parametrize(
    "walk_forward",
    [{"split_date": "2020-01-06"}, {"folds": 1, "in_sample_days": 2, "out_of_sample_days": 2}],
)
async def test_a_walk_forward_and_its_stream(start, described, walk_forward):
    client, _ = await start()
    body = sweep_request(walk_forward=walk_forward)
    answer = await _answer(client, "/api/sweep", body)
    assert answer["data"]["walk_forward"]["out_of_sample"] is not None
    described.check_json("/api/sweep", "post", 200, answer)
    events = await _events(client, "/api/sweep", body)
    assert {"result", "fold", "summary"} <= {event.event for event in events}
    described.check_events("/api/sweep", events)


# --- compare ----------------------------------------------------------------------------------------


async def test_a_comparison_and_its_stream(start, described):
    client, _ = await start()
    described.check_json(
        "/api/compare", "post", 200, await _answer(client, "/api/compare", compare_request())
    )
    described.check_events("/api/compare", await _events(client, "/api/compare", compare_request()))


# --- jobs -------------------------------------------------------------------------------------------

JOB = "/api/jobs/{id}"


async def _job_over(client, job: str) -> dict[str, Any]:
    events = sse.parse(await (await client.get(f"/api/jobs/{job}/events")).text())  # until the summary
    assert events[-1].event == "summary"
    return events


async def test_a_jobs_answers_and_its_stream(start, described):
    client, _ = await start(jobs={"progress_interval_s": 0.05})
    submitted = await _answer(client, "/api/jobs", {"kind": "sweep", **sweep_request()}, status=202)
    described.check_json("/api/jobs", "post", 202, submitted)
    job = submitted["data"]["id"]
    events = await _job_over(client, job)
    schema = described.response(f"{JOB}/events", "get", 200)["content"]["text/event-stream"]["schema"]
    data_schemas = {branch["properties"]["event"]["const"]: branch["properties"]["data"]["contentSchema"]
                    for branch in schema["oneOf"]}  # fmt: skip
    assert {event.event for event in events} == {"progress", "result", "summary"}
    for event in events:
        described.check(
            {"event": event.event, "data": event.data, **({"id": event.id} if event.id else {})}, schema
        )
        described.check(event.json(), data_schemas[event.event])
    for path, url in (
        (JOB, f"/api/jobs/{job}"),
        (f"{JOB}/results", f"/api/jobs/{job}/results"),
        ("/api/jobs", "/api/jobs"),
    ):
        described.check_json(path, "get", 200, await (await client.get(url)).json())
    described.check_json(JOB, "delete", 200, await (await client.delete(f"/api/jobs/{job}")).json())


async def test_a_comparison_jobs_answers(start, described):
    client, _ = await start()
    submitted = await _answer(client, "/api/jobs", {"kind": "compare", **compare_request()}, status=202)
    job = submitted["data"]["id"]
    await _job_over(client, job)
    described.check_json(
        f"{JOB}/results", "get", 200, await (await client.get(f"/api/jobs/{job}/results")).json()
    )


async def test_a_jobs_refusals_are_their_statuses_envelopes(start, described):
    client, _ = await start(jobs={"max_per_client": 1})
    await _answer(
        client,
        "/api/jobs",
        {"kind": "sweep", **sweep_request()},
        status=202,
        headers={"Idempotency-Key": "k"},
    )
    other = {"kind": "sweep", **sweep_request(top_k=2)}
    described.check_json(
        "/api/jobs",
        "post",
        422,
        await _answer(client, "/api/jobs", other, 422, headers={"Idempotency-Key": "k"}),
    )
    described.check_json("/api/jobs", "post", 429, await _answer(client, "/api/jobs", other, 429))
    unknown = await client.get("/api/jobs/nothing")
    assert unknown.status == 404
    described.check_json(JOB, "get", 404, await unknown.json())


# --- health -----------------------------------------------------------------------------------------


async def test_health_and_liveness(start, described):
    client, _ = await start()
    for path, status in (("/api/health", 200), ("/health", 200)):
        response = await client.get(path)
        assert response.status == status
        described.check_json(path, "get", status, await response.json())


async def test_health_when_degraded_and_when_draining(start, described):
    client, _ = await start({"/health": 2}, health_timeout_s=0.05)
    response = await client.get("/api/health")
    assert response.status == 503
    described.check_json("/api/health", "get", 503, await response.json())
    client.app[ADMISSION].draining = True
    response = await client.get("/api/health")
    assert (response.status, (await response.json())["status"]) == (503, "draining")
    described.check_json("/api/health", "get", 503, await response.json())


async def test_readiness_when_ready_saturated_and_draining(start, described):
    client, _ = await start()
    gate = client.app[ADMISSION]
    response = await client.get("/ready")
    assert response.status == 200
    described.check_json("/ready", "get", 200, await response.json())
    for _ in range(gate.limit.limit):  # every slot taken
        gate.limit.try_acquire()
    response = await client.get("/ready")
    assert (response.status, (await response.json())["status"]) == (503, "saturated")
    described.check_json("/ready", "get", 503, await response.json())
    gate.draining = True
    response = await client.get("/ready")
    assert (response.status, (await response.json())["status"]) == (503, "draining")
    described.check_json("/ready", "get", 503, await response.json())
    for _ in range(gate.limit.limit):
        gate.done(None, dropped=False)


# --- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/backtest", "/api/sweep", "/api/compare"])
async def test_errors_are_their_statuses_envelopes(start, described, path):
    client, _ = await start()
    described.check_json(path, "post", 400, await _answer(client, path, {"market_params": 1}, 400))
    client.app[ADMISSION].draining = True
    refused = await client.post(path, json=fakes.backtest_request())
    assert (refused.status, refused.headers["Retry-After"]) == (503, "1")
    described.check_json(path, "post", 503, await refused.json())


async def test_an_error_of_another_status_does_not_pass_as_its_own(described):
    envelope = {"success": False, "error": {"code": "SERVICE_TIMEOUT", "message": "late", "details": {}}}
    described.check_json("/api/backtest", "post", 504, envelope)
    with pytest.raises(AssertionError):
        described.check_json("/api/backtest", "post", 400, envelope)
