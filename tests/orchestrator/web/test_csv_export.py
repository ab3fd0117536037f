"""CSV answers (``?format=csv`` or ``Accept: text/csv``): the JSON answer's numbers, as tables."""

from __future__ import annotations

import csv
import io

import fakes
from tests.orchestrator.web.test_sweep import THRESHOLD, sweep_request


def _table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _json_cell(value) -> str:
    return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


async def test_a_backtests_time_series_as_csv_equal_the_json(start):
    client, _ = await start()
    response = await client.post("/api/backtest?format=csv", json=fakes.backtest_request())
    answer = await (await client.post("/api/backtest", json=fakes.backtest_request())).json()
    rows = _table(await response.text())
    assert response.content_type == "text/csv"
    series = answer["data"]["active_strategy"]["time_series"]
    baseline = answer["data"]["baseline_strategy"]["time_series"]
    assert [row["date"] for row in rows] == series["dates"]
    for i, row in enumerate(rows):
        assert row["active_portfolio_value"] == _json_cell(series["portfolio_value"][i])
        assert row["baseline_cash_balance"] == _json_cell(baseline["cash_balance"][i])


async def test_a_backtests_trades_as_csv_equal_the_json(start):
    client, _ = await start()
    response = await client.post(
        "/api/backtest?table=trades", json=fakes.backtest_request(), headers={"Accept": "text/csv"}
    )
    answer = await (await client.post("/api/backtest", json=fakes.backtest_request())).json()
    rows = _table(await response.text())
    trades = answer["data"]["active_strategy"]["trades"]
    assert [{key: row[key] for key in ("date", "shares", "price", "trigger")} for row in rows] == [
        {key: _json_cell(trade[key]) for key in ("date", "shares", "price", "trigger")} for trade in trades
    ]
    assert 'filename="backtest-TQQQ-trades.csv"' in response.headers["Content-Disposition"]


async def test_a_sweeps_rows_as_csv_equal_the_json_best_first(start):
    client, _ = await start()
    response = await client.post("/api/sweep?format=csv", json=sweep_request())
    answer = await (await client.post("/api/sweep", json=sweep_request())).json()
    rows = _table(await response.text())
    assert [(row["rank"], row[THRESHOLD], row["sharpe_ratio"]) for row in rows] == [
        (str(row["rank"]), str(row["params"][THRESHOLD]), _json_cell(row["summary"]["sharpe_ratio"]))
        for row in answer["data"]["rows"]
    ]


async def test_lines_end_with_crlf(start):
    client, _ = await start()
    text = await (await client.post("/api/backtest?format=csv", json=fakes.backtest_request())).text()
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")


async def test_an_unknown_format_or_table_is_a_400_envelope(start):
    client, log = await start()
    for query in ("format=xml", "format=csv&table=nope"):
        response = await client.post(f"/api/backtest?{query}", json=fakes.backtest_request())
        assert (response.status, (await response.json())["error"]["code"]) == (400, "INVALID_REQUEST")
    assert log.started == {}


async def test_an_unknown_table_is_a_400_envelope_though_the_answer_is_json(start):
    client, log = await start()
    response = await client.post("/api/backtest?table=AAA", json=fakes.backtest_request())
    error = (await response.json())["error"]
    assert (response.status, error["code"], error["details"]["errors"][0]["field"]) == (
        400,
        "INVALID_REQUEST",
        "query table",
    )
    assert log.started == {}


async def test_an_unknown_sweep_table_is_a_400_envelope_though_the_answer_is_json(start):
    client, log = await start()
    response = await client.post("/api/sweep?table=AAA", json=sweep_request())
    error = (await response.json())["error"]
    assert (response.status, error["code"], error["details"]["errors"][0]["field"]) == (
        400,
        "INVALID_REQUEST",
        "query table",
    )
    assert log.started == {}


async def test_a_sweeps_other_table_is_read_only_for_csv(start):
    client, _ = await start()
    answered = await client.post("/api/sweep?table=folds", json=sweep_request())
    refused = await client.post("/api/sweep?table=folds&format=csv", json=sweep_request())
    assert answered.status == 200
    assert (refused.status, (await refused.json())["error"]["details"]["errors"][0]["message"]) == (
        400,
        "must be one of rows",
    )


async def test_format_json_wins_over_an_accept_of_csv(start):
    client, _ = await start()
    response = await client.post(
        "/api/backtest?format=json", json=fakes.backtest_request(), headers={"Accept": "text/csv"}
    )
    assert response.content_type == "application/json"


async def test_errors_stay_json_when_csv_was_asked(start):
    client, _ = await start()
    response = await client.post("/api/backtest?format=csv", json={"nope": 1})
    assert (response.status, response.content_type) == (400, "application/json")
