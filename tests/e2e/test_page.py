"""The page at ``/`` in headless Chromium: a backtest run from the form and watched live.

The numbers a run shows are checked against the JSON answer to the same request. The first two
tests drive the real platform (the session ``platform`` fixture). Two drive the real orchestrator
app in-process against the loopback fake services (its own aiohttp-sse stream and validation
answers, without the reference services). The rest drive the page against
:mod:`tests.e2e.fake_orchestrator`, which gives answers that are hard to provoke from healthy
services (an error mid-stream) and delivers events in awkward chunks.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import expect

from fakes import CALLS
from fakes.services import fake_services
from orchestrator.settings import Settings
from orchestrator.web.app import create_app
from tests.background import BackgroundServers
from tests.e2e.fake_orchestrator import VALIDATION_ERRORS, FakeOrchestrator, result

pytestmark = pytest.mark.browser

RESULT_TIMEOUT_MS = 30_000

#: Summary fields the page shows, and the decimals it shows them with.
SUMMARY = {
    "total_return_pct": 2,
    "annualized_return_pct": 2,
    "final_portfolio_value": 2,
    "total_capital_invested": 2,
    "max_drawdown_pct": 2,
    "volatility_annualized_pct": 2,
    "sharpe_ratio": 2,
    "total_trades": 0,
}
COMPARISON = ("excess_return_pct", "excess_sharpe", "reduced_drawdown_pct")


@pytest.fixture(scope="module")
def fake(servers: BackgroundServers) -> FakeOrchestrator:
    fake = FakeOrchestrator()
    fake.url = servers.serve(fake.app())
    return fake


@pytest.fixture(scope="module")
def orchestrator_url(servers: BackgroundServers) -> str:
    """The real orchestrator app, its services faked on loopback (slow enough to watch the stages)."""
    services = servers.serve(fake_services(delays={"/signals": 0.2, "/simulate": 0.2, "/calculate": 0.1}))
    urls = {
        f"{name}_url": services for name in ("market_data", "strategy", "portfolio", "metrics", "test_data")
    }
    return servers.serve_orchestrator(create_app(Settings(**urls, sse_heartbeat_s=0.05)))


def fill_form(page: Any, ticker: str = "TQQQ", threshold: str = "-5") -> None:
    page.get_by_label("Ticker").fill(ticker)
    page.get_by_label("Market type").select_option("ETF")
    page.get_by_label("Start date").fill("2020-01-01")
    page.get_by_label("End date").fill("2022-01-01")
    page.get_by_label("Strategy", exact=True).select_option("buy_the_dip")
    page.get_by_label("Dip threshold (%)").fill(threshold)
    page.get_by_label("Initial capital").fill("10000")
    page.get_by_label("Investment per trade").fill("100")


def run_and_capture_request(page: Any) -> dict[str, Any]:
    """Press Run; the JSON body the page posted to ``/api/backtest``."""
    with page.expect_request("**/api/backtest") as posted:
        page.get_by_role("button", name="Run").click()
    request = posted.value
    assert request.headers["accept"] == "text/event-stream"
    return request.post_data_json


def shown(page: Any, testid: str) -> float | None:
    """A number the page shows (``"12,345.68"``, ``"+6.70"``), or None for its ``"—"``."""
    text = page.get_by_test_id(testid).inner_text().strip()
    return None if text == "—" else float(text.replace(",", "").replace("+", ""))


def assert_shown(page: Any, testid: str, expected: float | None, decimals: int = 2) -> None:
    """The page's number equals ``expected`` to the precision it shows (half a unit of the last digit)."""
    value = shown(page, testid)
    if expected is None:
        assert value is None, f"{testid}: shown {value}, answer has null"
        return
    assert value is not None, f"{testid}: shown —, answer has {expected}"
    assert abs(value - expected) <= 0.5 * 10**-decimals + 1e-9, f"{testid}: shown {value}, answer {expected}"


def assert_summary_matches(page: Any, data: dict[str, Any]) -> None:
    for side, key in (("active", "active_strategy"), ("baseline", "baseline_strategy")):
        for field, decimals in SUMMARY.items():
            assert_shown(page, f"summary-{side}-{field}", data[key]["summary"].get(field), decimals)
    for field in COMPARISON:
        assert_shown(page, f"comparison-{field}", data["comparison"].get(field))


def assert_all_stages_done(page: Any) -> None:
    for stage in CALLS:
        row = page.get_by_test_id(f"stage-{stage}")
        assert row.get_attribute("data-state") == "done", f"{stage}: {row.inner_text()}"
        assert "done" in row.inner_text()
    assert page.get_by_test_id("progress-count").inner_text() == f"{len(CALLS)} / {len(CALLS)}"


def post_json(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.headers.get_content_type() == "application/json"
        return json.load(answer)


# ---- Against the real platform ----------------------------------------------------------------


def test_a_backtest_run_from_the_page_shows_the_json_answers_numbers(platform, page, tmp_path):
    page.goto(platform.url + "/")
    fill_form(page)

    body = run_and_capture_request(page)
    page.get_by_test_id("equity-chart").wait_for(timeout=RESULT_TIMEOUT_MS)
    page.screenshot(path=tmp_path / "backtest-page.png", full_page=True)
    print(f"\nscreenshot: {tmp_path / 'backtest-page.png'}")
    print(page.get_by_test_id("results").inner_text())

    assert body["market_params"] == {
        "ticker": "TQQQ",
        "market_type": "ETF",
        "start_date": "2020-01-01",
        "end_date": "2022-01-01",
        "frequency": "daily",
    }
    assert body["strategy_params"]["config"]["price_change_threshold"] == -0.05
    answer = post_json(platform.url + "/api/backtest", body)
    assert answer["success"] is True
    assert_summary_matches(page, answer["data"])
    assert_all_stages_done(page)
    assert page.get_by_test_id("error-box").is_hidden()
    expect(page.get_by_test_id("data-note")).to_have_text(
        "Note: the prices are synthetic sample data (provider sample, XNYS sessions), not real market data."
    )
    assert page.get_by_test_id("line-active").get_attribute("d").count("L") >= 100
    assert page.get_by_test_id("line-baseline").get_attribute("d").count("L") >= 100
    expect(page.get_by_role("button", name="Run")).to_be_enabled()


def test_an_unknown_ticker_shows_invalid_ticker_in_the_error_box(platform, page):
    page.goto(platform.url + "/")
    fill_form(page, ticker="ZZZZ")
    page.get_by_role("button", name="Run").click()

    error_box = page.get_by_test_id("error-box")
    error_box.wait_for(timeout=RESULT_TIMEOUT_MS)
    assert page.get_by_test_id("error-code").inner_text() == "INVALID_TICKER"
    assert page.get_by_test_id("error-message").inner_text()
    assert page.get_by_test_id("results").is_hidden()


# ---- Against the orchestrator app, its services faked ----------------------------------------


def test_the_page_follows_the_orchestrators_own_stream(orchestrator_url, page):
    page.goto(orchestrator_url + "/")
    fill_form(page)

    body = run_and_capture_request(page)
    expect(page.get_by_role("button", name="Run")).to_be_disabled()  # the services take ~0.5 s
    page.get_by_test_id("equity-chart").wait_for(timeout=RESULT_TIMEOUT_MS)

    expect(page.get_by_test_id("status")).to_contain_text("Done: TQQQ buy_the_dip")
    answer = post_json(orchestrator_url + "/api/backtest", body)
    assert_summary_matches(page, answer["data"])
    assert_all_stages_done(page)


def test_the_orchestrators_field_errors_are_listed_by_the_inputs(orchestrator_url, page):
    page.goto(orchestrator_url + "/")
    fill_form(page, threshold="5")
    page.get_by_label("Initial capital").fill("-3")
    page.get_by_role("button", name="Run").click()

    page.get_by_test_id("error-box").wait_for(timeout=RESULT_TIMEOUT_MS)
    assert page.get_by_test_id("error-code").inner_text() == "INVALID_REQUEST"
    listed = page.get_by_test_id("field-error").all_inner_texts()
    assert "portfolio_params.initial_capital: Input should be greater than 0" in listed
    assert any(item.startswith("strategy_params.config.price_change_threshold: ") for item in listed)
    assert page.get_by_label("Initial capital").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Dip threshold (%)").get_attribute("aria-invalid") == "true"


# ---- Against the fake ----------------------------------------------------------------------


def test_the_page_posts_the_form_and_follows_a_stream_cut_into_awkward_chunks(fake, page):
    page.goto(fake.url + "/")
    fill_form(page, ticker="FAKE")
    page.get_by_label("Reinvest dividends").uncheck()

    body = run_and_capture_request(page)
    page.get_by_test_id("equity-chart").wait_for(timeout=RESULT_TIMEOUT_MS)

    assert (
        body
        == fake.requests[-1]
        == {
            "market_params": {
                "ticker": "FAKE",
                "market_type": "ETF",
                "start_date": "2020-01-01",
                "end_date": "2022-01-01",
                "frequency": "daily",
            },
            "strategy_params": {
                "strategy_type": "buy_the_dip",
                "config": {"price_change_threshold": -0.05, "lookback_period": "daily"},
            },
            "portfolio_params": {
                "initial_capital": 10000,
                "investment_per_trade": 100,
                "reinvest_dividends": False,
            },
            "baseline_params": {"initial_capital": 10000, "reinvest_dividends": False},
            "use_test_data": False,
        }
    )
    assert_all_stages_done(page)
    assert "prices: 504" in page.get_by_test_id("stage-market_data.prices").inner_text()
    assert page.get_by_test_id("data-note").is_hidden()  # the answer says nothing of synthetic data
    assert_summary_matches(page, result()["data"])
    assert page.get_by_test_id("summary-active-final_portfolio_value").inner_text() == "12,345.68"
    assert page.get_by_test_id("summary-active-sharpe_ratio").inner_text() == "—"
    assert page.get_by_test_id("comparison-reduced_drawdown_pct").inner_text() == "+28.08"


def test_other_strategies_send_no_dip_options(fake, page):
    page.goto(fake.url + "/")
    page.get_by_label("Strategy", exact=True).select_option("buy_and_hold")
    assert page.get_by_label("Dip threshold (%)").is_disabled()

    body = run_and_capture_request(page)
    assert body["strategy_params"] == {"strategy_type": "buy_and_hold", "config": {}}
    page.get_by_test_id("equity-chart").wait_for(timeout=RESULT_TIMEOUT_MS)


def test_a_validation_error_lists_each_field(fake, page):
    page.goto(fake.url + "/")
    fill_form(page, ticker="BADREQ")
    page.get_by_role("button", name="Run").click()

    page.get_by_test_id("error-box").wait_for(timeout=RESULT_TIMEOUT_MS)
    assert page.get_by_test_id("error-code").inner_text() == "INVALID_REQUEST"
    listed = page.get_by_test_id("field-error").all_inner_texts()
    assert listed == [f"{error['field']}: {error['message']}" for error in VALIDATION_ERRORS]
    assert page.get_by_label("Initial capital").get_attribute("aria-invalid") == "true"
    assert page.get_by_test_id("stages").is_hidden()  # no stream, so no stages to tick off
    expect(page.get_by_role("button", name="Run")).to_be_enabled()


def test_an_error_mid_stream_shows_the_failed_stage_and_the_envelope(fake, page):
    page.goto(fake.url + "/")
    fill_form(page, ticker="MIDERR")
    page.get_by_role("button", name="Run").click()

    page.get_by_test_id("error-box").wait_for(timeout=RESULT_TIMEOUT_MS)
    assert page.get_by_test_id("error-code").inner_text() == "SERVICE_TIMEOUT"
    assert "did not answer in time" in page.get_by_test_id("error-message").inner_text()
    assert page.get_by_test_id("stage-market_data.prices").get_attribute("data-state") == "done"
    failed = page.get_by_test_id("stage-signals.active")
    assert failed.get_attribute("data-state") == "failed"
    assert "SERVICE_TIMEOUT" in failed.inner_text()
    # A stage gets its row when an event first names it: the page keeps no list of its own.
    assert page.get_by_test_id("stage-metrics").count() == 0
    assert page.get_by_test_id("stages").locator("li").count() == 3
    assert page.get_by_test_id("progress-count").inner_text() == "2 / 7"
    assert page.get_by_test_id("results").is_hidden()
