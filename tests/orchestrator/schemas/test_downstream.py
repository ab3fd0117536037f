"""What the services answer, read in one pass and made compact: each kind's reading, one rule each."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
import pytest

import fakes
from orchestrator.schemas.downstream import (
    DIVIDENDS,
    METRICS,
    PRICES,
    SIGNALS,
    SIMULATION,
    AnswerKind,
    NotSuccess,
    OutsideContract,
    problem,
)


def read(kind: AnswerKind[Any], answer: dict[str, Any], status: int = 200) -> Any:
    return kind.read(orjson.dumps(answer), status)


def test_price_points_are_the_bars_date_and_adjusted_close_serialized_once():
    prices = read(PRICES, fakes.prices())
    expected = [{"date": d, "adjusted_close": c} for d, c in zip(fakes.DATES, fakes.CLOSES, strict=True)]
    assert (prices.count, orjson.loads(orjson.dumps(prices.points))) == (4, expected)


def test_a_bar_without_adjusted_close_is_priced_at_its_close():
    answer = fakes.prices()
    del answer["data"]["prices"][1]["adjusted_close"]
    points = orjson.loads(orjson.dumps(read(PRICES, answer).points))
    assert [point["adjusted_close"] for point in points] == fakes.CLOSES


def test_a_bar_with_neither_price_is_outside_the_contract_and_named():
    answer = fakes.prices()
    del answer["data"]["prices"][2]["adjusted_close"], answer["data"]["prices"][2]["close"]
    with pytest.raises(OutsideContract, match=r"^prices\.2: neither adjusted_close nor close$"):
        read(PRICES, answer)


def test_bars_are_read_again_only_when_asked_with_missing_fields_null_and_extras_kept():
    answer = fakes.prices()
    del answer["data"]["prices"][0]["open"]
    bars = read(PRICES, answer).bars()
    assert (bars[0]["open"], bars[0]["vwap"], bars[0]["date"]) == (None, 100.0, fakes.DATES[0])


def test_a_time_series_passes_on_as_sent_with_the_optional_series_null_when_left_out():
    answer = fakes.simulation()
    answer["data"]["time_series"].pop("shares_held", None)
    answer["data"]["time_series"].pop("cumulative_dividends", None)
    answer["data"]["time_series"]["drawdown"] = [0, 0, 0, 0]
    series = orjson.loads(orjson.dumps(read(SIMULATION, answer).time_series))
    assert (series["shares_held"], series["cumulative_dividends"], series["drawdown"]) == (
        None,
        None,
        [0, 0, 0, 0],
    )


def test_what_metrics_is_sent_of_a_simulation_is_its_values_by_date_and_final_state():
    simulation = read(SIMULATION, fakes.simulation())
    sent = orjson.loads(orjson.dumps(simulation.for_metrics))
    assert set(sent) == {"time_series", "final_state"}
    assert set(sent["time_series"]) == {"dates", "portfolio_value"}


def test_a_time_series_that_is_not_numbers_is_named_by_its_path():
    answer = fakes.simulation()
    answer["data"]["time_series"]["cash_balance"][1] = "lots"
    with pytest.raises(OutsideContract, match=r"^time_series\.cash_balance\.1: Expected `float`"):
        read(SIMULATION, answer)


def test_signals_keep_their_extra_fields_and_get_null_for_missing_optional_ones():
    answer = fakes.signals()
    answer["data"]["signals"][0] = {"date": fakes.DATES[1], "action": "BUY", "confidence": 0.9}
    item = read(SIGNALS, answer).items[0]
    assert item == {
        "date": fakes.DATES[1],
        "action": "BUY",
        "confidence": 0.9,
        "price": None,
        "trigger_details": None,
    }


def test_dividends_missing_entirely_are_none():
    dividends = read(DIVIDENDS, fakes.envelope({"ticker": "TQQQ"}))
    assert (dividends.items, orjson.dumps(dividends.dividend_data)) == ([], b"[]")


def test_metrics_read_ints_as_floats():
    metrics = read(METRICS, fakes.metrics())
    assert isinstance(metrics.active.total_return_pct, float | type(None))


@pytest.mark.parametrize(
    ("answer", "status"),
    [(fakes.error_envelope("INVALID_TICKER"), 200), (fakes.dividends(), 500)],
    ids=["error-envelope", "success-with-a-5xx"],
)
def test_anything_but_a_success_envelope_with_a_2xx_is_not_read(answer, status):
    with pytest.raises((NotSuccess, msgspec.ValidationError)):
        read(DIVIDENDS, answer, status)


def test_a_problem_is_reported_with_a_dotted_path_relative_to_the_data():
    answer = fakes.prices()
    answer["data"]["prices"][3]["date"] = 20200107
    with pytest.raises(msgspec.ValidationError) as caught:
        read(PRICES, answer)
    assert problem(caught.value) == "prices.3.date: Expected `str`, got `int`"


def test_a_problem_in_a_checked_list_is_named_the_same_way():
    answer = fakes.envelope({"dividends": [{"ex_date": 20200106, "amount_per_share": 0.5}]})
    with pytest.raises(OutsideContract, match=r"^dividends\.0\.ex_date: Expected `str`, got `int`$"):
        read(DIVIDENDS, answer)
