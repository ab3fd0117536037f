"""One canonical log line per request, with the request id bound; debug lines per downstream call."""

from __future__ import annotations

import io

import orjson
import pytest
import structlog
from structlog.testing import capture_logs

import fakes
from orchestrator.logs import configure_logging


@pytest.fixture
def logs():
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as captured:
        yield captured


async def test_one_canonical_line_per_backtest(client, happy, logs):
    await client.post("/api/backtest", json=fakes.backtest_request(), headers={"X-Request-ID": "rid-1"})
    [line] = [entry for entry in logs if entry["event"] == "backtest"]
    assert line["log_level"] == "info"
    assert (line["ticker"], line["strategy"], line["outcome"], line["status"]) == (
        "TQQQ",
        "buy_the_dip",
        "success",
        200,
    )
    assert set(line["calls_ms"]) == set(fakes.CALLS)
    assert all(ms >= 0 for ms in line["calls_ms"].values())


async def test_canonical_line_names_the_error(client, services, logs):
    await client.post("/api/backtest", json=fakes.backtest_request(market_params__ticker=""))
    [line] = [entry for entry in logs if entry["event"] == "backtest" or entry["event"] == "request"]
    assert (line["outcome"], line["status"]) == ("INVALID_REQUEST", 400)


async def test_request_id_bound_into_every_line(client, happy, logs):
    await client.post("/api/backtest", json=fakes.backtest_request(), headers={"X-Request-ID": "rid-2"})
    assert len(logs) > 7
    assert {entry.get("request_id") for entry in logs} == {"rid-2"}


async def test_debug_line_per_downstream_call(client, happy, logs):
    await client.post("/api/backtest", json=fakes.backtest_request())
    done = [
        entry["stage"] for entry in logs if entry["event"] == "downstream call" and entry["state"] == "done"
    ]
    assert len(done) == 7


async def test_unexpected_error_logged_with_its_stack(client, happy, logs, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("secret internals")

    monkeypatch.setattr("orchestrator.backtest.graph.assemble_answer", broken)
    response = await client.post("/api/backtest", json=fakes.backtest_request())
    assert response.status == 500
    [entry] = [entry for entry in logs if entry["event"] == "unexpected error"]
    assert entry["log_level"] == "error" and isinstance(entry["exc_info"], ZeroDivisionError)


async def test_canonical_line_times_each_call(start, logs):
    delays = {"/prices": 0.05, "/dividends": 0.05, "/signals": 0.05, "/simulate": 0.05, "/calculate": 0.05}
    client, _ = await start(delays)
    await client.post("/api/backtest", json=fakes.backtest_request())
    [line] = [entry for entry in logs if entry["event"] == "backtest"]
    assert len(line["calls_ms"]) == 7
    assert all(50 <= ms < 1000 for ms in line["calls_ms"].values()), line["calls_ms"]


def test_no_client_or_service_can_make_a_log_line_large():
    """A traceback without frame locals, every string cut: before, one 2.5 KB request made 7.5 MB of log."""
    buffer = io.BytesIO()
    configure_logging("INFO", "json", cache=False, max_chars=100, stream=buffer)
    try:
        body = "x" * 1_000_000  # a local of the failing frame, as a request body would be  # noqa: F841
        try:
            raise ValueError("boom " + "y" * 5000)
        except ValueError:
            structlog.get_logger("test").exception("unexpected error", path="/" + "p" * 10_000)
    finally:
        configure_logging("DEBUG", "console", cache=False)
    written = buffer.getvalue()
    assert written.count(b"\n") == 1  # one line per event
    assert len(written) < 10_000
    assert b"xxxxxxxx" not in written and b"locals" not in written
    line = orjson.loads(written)
    assert line["path"].endswith("…") and len(line["path"]) == 101
