"""GET /metrics: Prometheus names, values that move as requests pass, and bounded labels."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

import fakes
import orchestrator
from orchestrator import metrics
from orchestrator.build_info import BuildInfo, build_info
from orchestrator.web.keys import ADMISSION
from tests.orchestrator.conftest import MARKET, answer_instead


async def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(await response.text())
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_backtest_counts_its_request_and_each_services_calls(start):
    client, _ = await start()
    before = await scrape(client)
    await client.post("/api/backtest", json=fakes.backtest_request())
    after = await scrape(client)
    route = {"route": "/api/backtest", "method": "POST", "status": "200"}
    assert (
        value(after, "orchestrator_http_requests_total", **route)
        - value(before, "orchestrator_http_requests_total", **route)
        == 1
    )
    for service, calls in (("market_data", 2), ("strategy", 2), ("portfolio", 2), ("metrics", 1)):
        moved = value(after, "orchestrator_downstream_calls_total", service=service, outcome="ok") - value(
            before, "orchestrator_downstream_calls_total", service=service, outcome="ok"
        )
        assert moved == calls, service
    attempts = value(after, "orchestrator_downstream_attempts_total", service="portfolio") - value(
        before, "orchestrator_downstream_attempts_total", service="portfolio"
    )
    assert attempts == 2


async def test_a_failed_call_is_counted_by_its_error_code(client_for, happy):
    answer_instead(happy, MARKET + "/prices", status=400, payload=fakes.error_envelope("INVALID_TICKER"))
    client = await client_for()
    before = await scrape(client)
    await client.post("/api/backtest", json=fakes.backtest_request())
    after = await scrape(client)
    labels = {"service": "market_data", "outcome": "INVALID_TICKER"}
    assert (
        value(after, "orchestrator_downstream_calls_total", **labels)
        - value(before, "orchestrator_downstream_calls_total", **labels)
        == 1
    )


async def test_the_cache_counts_hits_and_misses_by_kind(start):
    client, _ = await start()
    before = await scrape(client)
    for _ in range(2):
        await client.post("/api/backtest", json=fakes.backtest_request())
    after = await scrape(client)

    def moved(outcome: str) -> float:
        labels = {"kind": "prices", "outcome": outcome}
        return value(after, "orchestrator_cache_lookups_total", **labels) - value(
            before, "orchestrator_cache_lookups_total", **labels
        )

    assert (moved("miss"), moved("hit")) == (1, 1)
    assert value(after, "orchestrator_cache_entries") >= 3


async def test_breakers_and_the_admission_limit_are_gauges_from_the_start(start):
    client, _ = await start()
    samples = await scrape(client)
    assert ("orchestrator_circuit_breaker_state", (("service", "portfolio"),)) in samples
    assert value(samples, "orchestrator_circuit_breaker_state", service="portfolio") == 0
    assert value(samples, "orchestrator_admission_limit") > 0


async def test_in_flight_rises_while_a_backtest_runs_and_falls_after(start):
    client, log = await start({"/calculate": 0.3})
    running = asyncio.ensure_future(client.post("/api/backtest", json=fakes.backtest_request()))
    while "/calculate" not in log.started:  # noqa: ASYNC110 - the fakes' log has no event for it
        await asyncio.sleep(0.01)
    during = await scrape(client)
    await running
    after = await scrape(client)
    assert (
        value(during, "orchestrator_in_flight_requests", kind="backtest")
        - value(after, "orchestrator_in_flight_requests", kind="backtest")
        == 1
    )


async def test_admission_in_flight_counts_the_slots_held_while_a_backtest_runs(start):
    client, log = await start({"/calculate": 0.3})
    assert value(await scrape(client), "orchestrator_admission_in_flight") == 0
    running = asyncio.ensure_future(client.post("/api/backtest", json=fakes.backtest_request()))
    while "/calculate" not in log.started:  # noqa: ASYNC110 - the fakes' log has no event for it
        await asyncio.sleep(0.01)
    during = await scrape(client)
    await running
    after = await scrape(client)
    assert (
        value(during, "orchestrator_admission_in_flight"),
        value(after, "orchestrator_admission_in_flight"),
    ) == (
        1,
        0,
    )
    assert value(during, "orchestrator_admission_limit") > 0


async def test_admission_in_flight_counts_the_slots_a_sweep_takes_as_it_runs(start):
    """A sweep holds one slot for its request and one more for each combination run beside the
    first: what saturates the process, though it is one request in flight."""
    client, log = await start({"/calculate": 0.3})
    body = {
        **fakes.backtest_request(),
        "grid": {"strategy_params.config.price_change_threshold": [-0.03, -0.05, -0.07]},
    }
    running = asyncio.ensure_future(client.post("/api/sweep", json=body))
    while len(log.started.get("/calculate", [])) < 3:  # noqa: ASYNC110 - the fakes' log has no event for it
        await asyncio.sleep(0.01)
    during = await scrape(client)
    assert (await running).status == 200
    after = await scrape(client)
    assert value(during, "orchestrator_in_flight_requests", kind="sweep") == 1
    assert value(during, "orchestrator_admission_in_flight") == 3  # its request's, and two combinations'
    assert value(after, "orchestrator_admission_in_flight") == 0


async def test_a_shed_request_is_counted_by_reason(start):
    client, _ = await start(admission={"min_limit": 1, "max_limit": 1, "initial_limit": 1})
    gate = client.server.app[ADMISSION]
    gate.limit.try_acquire()  # the one slot taken
    before = await scrape(client)
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    after = await scrape(client)
    gate.done(None, dropped=False)
    assert response.status == 503
    assert (
        value(after, "orchestrator_shed_requests_total", reason="overloaded")
        - value(before, "orchestrator_shed_requests_total", reason="overloaded")
        == 1
    )


async def test_labels_are_canonical_routes_never_the_path_asked(start):
    client, _ = await start()
    await client.get("/no/such/TQQQ/path")
    await client.request("PROPFIND", "/api/backtest")
    samples = await scrape(client)
    routes = {
        dict(labels).get("route") for name, labels in samples if name == "orchestrator_http_requests_total"
    }
    methods = {
        dict(labels).get("method") for name, labels in samples if name == "orchestrator_http_requests_total"
    }
    assert "unmatched" in routes and not any("TQQQ" in route for route in routes)
    assert "PROPFIND" not in methods and "other" in methods


async def test_names_follow_prometheus_conventions(start):
    client, _ = await start()
    await client.post("/api/backtest", json=fakes.backtest_request())
    names = {name for name, _ in await scrape(client) if name.startswith("orchestrator_")}
    counters = {name for name in names if name.endswith("_total")}
    assert {
        "orchestrator_http_requests_total",
        "orchestrator_downstream_calls_total",
        "orchestrator_downstream_attempts_total",
        "orchestrator_cache_lookups_total",
    } <= counters
    assert "orchestrator_http_request_duration_seconds_bucket" in names
    assert "orchestrator_downstream_call_duration_seconds_count" in names


async def test_the_build_is_a_gauge_at_1_labelled_with_version_commit_and_python(client):
    samples = await scrape(client)
    build = build_info()  # what the module read when it was imported: the same environment
    labels = {
        "version": orchestrator.__version__,
        "commit": build.commit or "unknown",
        "python": build.python,
    }
    assert value(samples, "orchestrator_build_info", **labels) == 1
    assert [name for name, _ in samples if name == "orchestrator_build_info"] == ["orchestrator_build_info"]


def test_a_build_with_no_commit_is_labelled_unknown():
    """A label cannot be null: ``unknown`` where /health says ``"commit": null``."""
    metrics.record_build(BuildInfo("9.9.9", None, "3.11.0"))
    try:
        samples = {
            tuple(sorted(sample.labels.items())): sample.value
            for family in metrics.BUILD_INFO.collect()
            for sample in family.samples
        }
        assert samples[(("commit", "unknown"), ("python", "3.11.0"), ("version", "9.9.9"))] == 1
    finally:
        metrics.BUILD_INFO.remove("9.9.9", "unknown", "3.11.0")


async def test_each_services_effective_policy_is_a_series_per_setting(client_for, happy, monkeypatch):
    monkeypatch.setenv("SERVICES__METRICS__RETRY__MAX_ATTEMPTS", "1")
    monkeypatch.setenv("SERVICES__METRICS__HEDGE__ENABLED", "false")
    samples = await scrape(await client_for())
    policy = "orchestrator_service_policy"
    assert value(samples, policy, service="metrics", setting="retry.max_attempts") == 1
    assert value(samples, policy, service="market_data", setting="retry.max_attempts") == 3
    assert value(samples, policy, service="metrics", setting="hedge.enabled") == 0
    assert value(samples, policy, service="market_data", setting="hedge.enabled") == 1
    assert value(samples, policy, service="portfolio", setting="bulkhead.max_in_flight") == 250
