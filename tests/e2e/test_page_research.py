"""The page's sweep and compare views in headless Chromium.

The first tests drive the real platform (the session ``platform`` fixture): what a view shows is
checked against the JSON answer to the very request the page posted. The rest drive the page
against :class:`ScriptedApi`, which streams the events a test hands over one at a time, so what
the table shows between two events can be checked without racing the server.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import urllib.request
from typing import Any

import pytest
from aiohttp import web
from playwright.sync_api import expect

from orchestrator.web.routes import page as page_routes
from tests.background import BackgroundServers

pytestmark = pytest.mark.browser

RESULT_TIMEOUT_MS = 60_000
THRESHOLD = "strategy_params.config.price_change_threshold"
AMOUNT = "portfolio_params.investment_per_trade"
TICKER = "market_params.ticker"
#: Not test_page.py's TQQQ: the platform is the session's, and its first test expects a cold cache.
#: Volatile enough (synthetic prices) that every threshold swept buys some dips.
SYMBOL = "SOXL"


def post_json(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.load(answer)


# ---- Driving the views ------------------------------------------------------------------------


def fill_sweep(
    page: Any,
    *,
    tickers: str = SYMBOL,
    thresholds: str = "-3, -5, -7",
    amounts: str = "100, 200",
    rank_by: str = "sharpe_ratio",
) -> None:
    form = page.get_by_test_id("sweep-form")
    form.get_by_label("Symbols").fill(tickers)
    form.get_by_label("Dip thresholds (%)").fill(thresholds)
    form.get_by_label("Amounts per trade").fill(amounts)
    form.get_by_label("Rank by").select_option(rank_by)


def start_sweep(page: Any) -> dict[str, Any]:
    """Press Run sweep; the JSON body the page posted to ``/api/sweep``."""
    with page.expect_request("**/api/sweep") as posted:
        page.get_by_role("button", name="Run sweep").click()
    assert posted.value.headers["accept"] == "text/event-stream"
    return posted.value.post_data_json


def wait_until_done(page: Any, status: str) -> None:
    expect(page.get_by_test_id(status)).to_contain_text("Done:", timeout=RESULT_TIMEOUT_MS)


def shown_rows(page: Any, metric: str = "sharpe_ratio") -> list[dict[str, Any]]:
    """The sweep table, top to bottom: each row's index, rank, exact metric value and error."""
    return page.get_by_test_id("sweep-row").evaluate_all(
        """(rows, metric) => rows.map((row) => ({
            index: Number(row.dataset.index),
            rank: row.querySelector('[data-testid="sweep-rank"]').textContent,
            value: row.querySelector(`[data-field="${metric}"]`)?.dataset.value ?? null,
            error: row.querySelector('[data-testid="sweep-row-error"]')?.textContent ?? null,
        }))""",
        metric,
    )


def as_number(value: str | None) -> float | None:
    return None if value in (None, "") else float(value)


# ---- Against the real platform ----------------------------------------------------------------


def test_a_sweep_fills_one_row_per_combination_best_first(platform, page, tmp_path):
    page.goto(platform.url + "/#sweep")
    fill_sweep(page, thresholds="-3, -5, -7", amounts="100, 200")

    body = start_sweep(page)
    wait_until_done(page, "sweep-status")
    page.screenshot(path=tmp_path / "sweep-view.png", full_page=True)
    print(f"\nscreenshot: {tmp_path / 'sweep-view.png'}")

    assert body["grid"] == {THRESHOLD: [-0.03, -0.05, -0.07], AMOUNT: [100, 200]}
    answer = post_json(platform.url + "/api/sweep", body)["data"]
    rows = shown_rows(page)
    assert len(rows) == answer["metadata"]["combinations"] == 6
    assert [row["index"] for row in rows] == [row["index"] for row in answer["rows"]]
    best = max(
        row["summary"]["sharpe_ratio"] for row in answer["rows"] if row["summary"]["sharpe_ratio"] is not None
    )
    assert as_number(rows[0]["value"]) == best == answer["rows"][0]["summary"]["sharpe_ratio"]
    assert rows[0]["rank"] == "1"
    assert page.get_by_test_id("sweep-progress").inner_text() == "6 / 6"
    expect(page.get_by_test_id("sweep-data-note")).to_have_text(
        "Note: the prices are synthetic sample data (provider sample, XNYS sessions), not real market data."
    )


def test_a_two_dimension_sweep_shows_a_heatmap_of_the_rank_metric(platform, page):
    page.goto(platform.url + "/#sweep")
    fill_sweep(page, thresholds="-3, -5, -7", amounts="100, 200")

    body = start_sweep(page)
    wait_until_done(page, "sweep-status")

    heatmap = page.get_by_test_id("sweep-heatmap")
    expect(heatmap).to_be_visible()
    lines = heatmap.locator("tr").all_inner_texts()
    assert lines[0].split() == ["Amounts", "per", "trade"]  # the columns' axis, then their values
    assert lines[1].split("\t") == ["Dip thresholds (%)", "100", "200"]
    assert [line.split("\t")[0] for line in lines[2:]] == ["-3", "-5", "-7"]
    cells = heatmap.get_by_test_id("heatmap-cell")
    expect(cells).to_have_count(6)
    answer = post_json(platform.url + "/api/sweep", body)["data"]
    by_index = {row["index"]: row["summary"]["sharpe_ratio"] for row in answer["rows"]}
    # Row i, column j is the combination i * 2 + j: the grid's last key varies fastest.
    shown = [as_number(cell.get_attribute("data-value")) for cell in cells.all()]
    assert shown == [by_index[i] for i in range(6)]


def test_a_failing_combination_shows_its_error_below_every_result(platform, page):
    page.goto(platform.url + "/#sweep")
    fill_sweep(page, tickers=f"{SYMBOL}, ZZZZ", thresholds="-3, -5", amounts="100")

    body = start_sweep(page)
    wait_until_done(page, "sweep-status")

    assert body["grid"] == {TICKER: [SYMBOL, "ZZZZ"], THRESHOLD: [-0.03, -0.05]}
    rows = shown_rows(page)
    assert [row["error"] is None for row in rows] == [True, True, False, False]
    assert all(row["error"].startswith("INVALID_TICKER: ") for row in rows[2:])
    assert [row["rank"] for row in rows] == ["1", "2", "—", "—"]
    expect(page.get_by_test_id("sweep-status")).to_contain_text("2 succeeded, 2 failed")


def test_a_comparison_draws_one_curve_per_strategy_and_the_baseline(platform, page):
    page.goto(platform.url + "/#compare")
    page.get_by_test_id("compare-form").get_by_label("Symbol", exact=True).fill(SYMBOL)

    page.get_by_role("button", name="Compare", exact=True).click()
    chart = page.get_by_test_id("compare-equity-chart")
    chart.wait_for(timeout=RESULT_TIMEOUT_MS)

    curves = chart.locator("path.line")
    expect(curves).to_have_count(4)
    assert [curve.get_attribute("data-testid") for curve in curves.all()] == [
        "compare-line-0",
        "compare-line-1",
        "compare-line-2",
        "compare-line-baseline",
    ]
    assert all(curve.get_attribute("d").count("L") >= 100 for curve in curves.all())
    legend = chart.locator(".legend-entry text").all_text_contents()
    assert legend == ["dip 5%", "dip 10%", "monthly", "Baseline (buy and hold)"]


def test_the_comparison_table_shows_each_strategys_summary_from_the_json_answer(platform, page):
    page.goto(platform.url + "/#compare")
    page.get_by_test_id("compare-form").get_by_label("Symbol", exact=True).fill(SYMBOL)
    page.get_by_role("button", name="Remove strategy 2").click()  # two strategies are enough

    with page.expect_request("**/api/compare") as posted:
        page.get_by_role("button", name="Compare", exact=True).click()
    wait_until_done(page, "compare-status")

    answer = post_json(platform.url + "/api/compare", posted.value.post_data_json)["data"]
    rows = page.get_by_test_id("compare-row")
    expect(rows).to_have_count(2)
    summaries = [strategy["summary"] for strategy in answer["strategies"]]
    for row, strategy, summary in zip(rows.all(), answer["strategies"], summaries, strict=True):
        assert row.locator("th").inner_text() == strategy["name"]
        assert_cells_match(row, summary)
    assert_cells_match(page.get_by_test_id("compare-row-baseline"), answer["baseline_strategy"]["summary"])


def assert_cells_match(row: Any, summary: dict[str, Any]) -> None:
    """Each metric cell of ``row`` shows the summary's value to the decimals it shows."""
    for cell in row.locator("td[data-field]").all():
        field, text = cell.get_attribute("data-field"), cell.inner_text()
        expected = summary[field]
        if expected is None:
            assert text == "—", field
        else:
            decimals = 0 if field == "total_trades" else 2
            assert abs(float(text.replace(",", "")) - expected) <= 0.5 * 10**-decimals + 1e-9, field


# ---- Against a scripted API ------------------------------------------------------------------


class ScriptedApi:
    """The real page; ``POST /api/sweep`` streams the events :meth:`send` hands over, one at a time,
    until a ``summary`` or ``error``; ``POST /api/compare`` refuses a duplicate strategy name."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[dict[str, Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._events: asyncio.Queue[tuple[str, Any]] | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(page_routes.routes)
        app.router.add_post("/api/sweep", self._sweep)
        app.router.add_post("/api/compare", self._compare)
        app.on_startup.append(self._started)
        return app

    async def _started(self, _app: web.Application) -> None:
        self._loop, self._events = asyncio.get_running_loop(), asyncio.Queue()

    def send(self, event: str, data: Any) -> None:
        """Called from the test's thread: the event goes out on the server's loop."""
        assert self._loop is not None and self._events is not None
        self._loop.call_soon_threadsafe(self._events.put_nowait, (event, data))

    async def _sweep(self, request: web.Request) -> web.StreamResponse:
        assert self._events is not None
        self.requests.append(await request.json())
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        event = ""
        while event not in ("summary", "error"):  # a test that fails stops sending: give up then
            event, data = await asyncio.wait_for(self._events.get(), timeout=15)
            await response.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
        await response.write_eof()
        return response

    async def _compare(self, request: web.Request) -> web.Response:
        self.requests.append(await request.json())
        problem = {"field": "strategies.1.name", "message": "names must be distinct"}
        error = {"code": "INVALID_REQUEST", "message": "Invalid request: 1 problem(s) found"}
        envelope = {"success": False, "error": error | {"details": {"errors": [problem]}}}
        return web.json_response(envelope, status=400)


@pytest.fixture
def scripted(servers: BackgroundServers) -> ScriptedApi:
    api = ScriptedApi()
    api.url = servers.serve(api.app())
    return api


def result_row(grid: dict[str, list[Any]], index: int, **summary: float | None) -> dict[str, Any]:
    """A ``result`` event's row: the grid's combination ``index``, with these summary metrics."""
    params = dict(zip(grid, list(itertools.product(*grid.values()))[index], strict=True))
    base = {"total_return_pct": 1.5, "sharpe_ratio": 0.5, "max_drawdown_pct": -10.0, "total_trades": 3}
    return {"index": index, "params": params, "summary": base | summary, "comparison": {}}


def failed_row(grid: dict[str, list[Any]], index: int) -> dict[str, Any]:
    row = result_row(grid, index)
    del row["summary"], row["comparison"]
    return row | {"error": {"code": "INVALID_TICKER", "message": "No data for this ticker", "details": {}}}


def summary(rows: list[dict[str, Any]], failed: int = 0) -> dict[str, Any]:
    metadata = {
        "combinations": len(rows),
        "succeeded": len(rows) - failed,
        "failed": failed,
        "execution_time_ms": 12,
    }
    return {"success": True, "data": {"metadata": metadata, "rows": rows}}


def test_the_table_reranks_as_each_result_arrives_with_null_and_failed_rows_last(scripted, page):
    page.goto(scripted.url + "/#sweep")
    fill_sweep(page, thresholds="-3, -5", amounts="100, 200")
    grid = start_sweep(page)["grid"]

    scripted.send("result", result_row(grid, 0, sharpe_ratio=0.5))
    expect(page.get_by_test_id("sweep-row")).to_have_count(1)
    scripted.send("result", result_row(grid, 3, sharpe_ratio=1.2))
    expect(page.get_by_test_id("sweep-row").first).to_have_attribute("data-index", "3")
    scripted.send("result", failed_row(grid, 1))
    scripted.send("result", result_row(grid, 2, sharpe_ratio=None))
    expect(page.get_by_test_id("sweep-row")).to_have_count(4)

    rows = shown_rows(page)
    assert [row["index"] for row in rows] == [3, 0, 2, 1]
    assert [row["rank"] for row in rows] == ["1", "2", "3", "—"]
    assert rows[3]["error"] == "INVALID_TICKER: No data for this ticker"
    scripted.send("summary", summary([], failed=1))  # ends the stream


def test_progress_events_show_done_of_total(scripted, page):
    page.goto(scripted.url + "/#sweep")
    fill_sweep(page, thresholds="-3, -5", amounts="100, 200")
    grid = start_sweep(page)["grid"]
    expect(page.get_by_test_id("sweep-progress")).to_have_text("0 / 4")  # the plan's size, at once

    scripted.send("result", result_row(grid, 0))
    scripted.send("progress", {"done": 1, "total": 4, "failed": 0, "elapsed_ms": 5, "top": []})
    expect(page.get_by_test_id("sweep-progress")).to_have_text("1 / 4")
    scripted.send("progress", {"done": 3, "total": 4, "failed": 1, "elapsed_ms": 9, "top": []})
    expect(page.get_by_test_id("sweep-progress")).to_have_text("3 / 4")
    expect(page.get_by_test_id("sweep-status")).to_have_text("Running: 3 of 4 done, 1 failed.")
    scripted.send("summary", summary([]))


def test_the_summary_ranking_replaces_the_pages_own(scripted, page):
    page.goto(scripted.url + "/#sweep")
    fill_sweep(page, thresholds="-3, -5", amounts="100")
    grid = start_sweep(page)["grid"]
    first, second = result_row(grid, 0, sharpe_ratio=0.8), result_row(grid, 1, sharpe_ratio=0.8)
    scripted.send("result", first)
    scripted.send("result", second)
    expect(page.get_by_test_id("sweep-row")).to_have_count(2)
    assert [row["index"] for row in shown_rows(page)] == [0, 1]  # a tie: the page keeps grid order

    scripted.send("summary", summary([second | {"rank": 1}, first | {"rank": 2}]))  # the server's order
    wait_until_done(page, "sweep-status")

    assert [(row["index"], row["rank"]) for row in shown_rows(page)] == [(1, "1"), (0, "2")]
    expect(page.get_by_test_id("sweep-status")).to_have_text(
        "Done: 2 combinations, 2 succeeded, 0 failed, in 12 ms."
    )


def test_a_metric_where_lower_is_better_ranks_lowest_first(scripted, page):
    page.goto(scripted.url + "/#sweep")
    fill_sweep(page, thresholds="-3, -5", amounts="100, 200", rank_by="volatility_annualized_pct")
    grid = start_sweep(page)["grid"]

    for index, volatility in enumerate([30.0, 10.0, None, 20.0]):
        scripted.send("result", result_row(grid, index, volatility_annualized_pct=volatility))
    expect(page.get_by_test_id("sweep-row")).to_have_count(4)

    assert [row["index"] for row in shown_rows(page, "volatility_annualized_pct")] == [1, 3, 0, 2]
    ranked = page.get_by_test_id("sweep-table").locator("th[aria-sort]")
    expect(ranked).to_have_text("Volatility (%)")
    expect(ranked).to_have_attribute("aria-sort", "ascending")
    scripted.send("summary", summary([]))


def test_a_list_of_one_value_is_no_dimension_and_one_dimension_has_no_heatmap(scripted, page):
    page.goto(scripted.url + "/#sweep")
    fill_sweep(page, thresholds="-3, -5, -7", amounts="250")
    body = start_sweep(page)

    assert body["grid"] == {THRESHOLD: [-0.03, -0.05, -0.07]}
    assert body["portfolio_params"]["investment_per_trade"] == 250
    for index in range(3):
        scripted.send("result", result_row(body["grid"], index))
    scripted.send("summary", summary([result_row(body["grid"], i) | {"rank": i + 1} for i in range(3)]))
    wait_until_done(page, "sweep-status")
    expect(page.get_by_test_id("sweep-row")).to_have_count(3)
    expect(page.get_by_test_id("sweep-heatmap")).to_be_hidden()


def test_the_tabs_show_one_view_at_a_time_by_mouse_keyboard_or_address(scripted, page):
    page.goto(scripted.url + "/")
    tabs = {name: page.get_by_role("tab", name=name) for name in ("Backtest", "Sweep", "Compare")}
    views = {name: page.get_by_test_id(f"view-{name.lower()}") for name in tabs}

    def assert_shown(selected: str) -> None:
        for name in tabs:
            expect(tabs[name]).to_have_attribute("aria-selected", str(name == selected).lower())
            if name == selected:
                expect(views[name]).to_be_visible()
            else:
                expect(views[name]).to_be_hidden()

    assert_shown("Backtest")
    tabs["Sweep"].click()
    assert_shown("Sweep")
    page.keyboard.press("ArrowRight")
    assert_shown("Compare")
    expect(tabs["Compare"]).to_be_focused()
    page.reload()
    assert_shown("Compare")


def test_the_compare_form_posts_its_rows_in_order_and_marks_a_named_field(scripted, page):
    page.goto(scripted.url + "/#compare")
    page.get_by_role("button", name="Add a strategy").click()
    page.get_by_label("Strategy 4 type").select_option("momentum")
    page.get_by_role("button", name="Remove strategy 2").click()
    expect(page.get_by_label("Strategy 3 dip (%)")).to_be_disabled()  # only buy the dip takes one

    with page.expect_request("**/api/compare") as posted:
        page.get_by_role("button", name="Compare", exact=True).click()

    assert posted.value.post_data_json["strategies"] == [
        {"name": "dip 5%", "strategy_type": "buy_the_dip", "config": {"price_change_threshold": -0.05}},
        {"name": "monthly", "strategy_type": "dollar_cost_average", "config": {}},
        {"name": "strategy 4", "strategy_type": "momentum", "config": {}},
    ]
    expect(page.get_by_test_id("compare-error")).to_contain_text("strategies.1.name: names must be distinct")
    expect(page.get_by_label("Strategy 2 name")).to_have_attribute("aria-invalid", "true")
