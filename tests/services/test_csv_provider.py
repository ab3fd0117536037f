"""The csv provider: Yahoo-style files, bad rows skipped, an optional dividends file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.market_data.app import create_app
from services.market_data.providers import CsvProvider, SampleProvider, UnknownTicker, make_provider
from tests.services.asgi import post

PRICES = """Date,Open,High,Low,Close,Adj Close,Volume
2020-01-06,10,11,9,10.5,10.4,1000
2020-01-02,9,10,8,9.5,9.4,900
2020-01-03,null,null,null,null,null,null
2020-01-07,abc,11,9,10,10,100
2020-01-08,10,11,9,10
not-a-date,1,1,1,1,1,1
2020-02-30,1,1,1,1,1,1
2020-01-09,10,11,9,-1,1,1
2020-01-14,10,11,9,nan,10,1

2020-01-10,10,11,9,10.2,10.1,1200
2020-01-10,10,11,9,10.3,10.2,1300
2020-01-13 00:00:00-05:00,10,11,9,10.6,10.5,1.4e3
"""

DIVIDENDS = """Date,Dividends
2020-01-08,0.25
2020-01-09,oops
2020-01-02,0.2
,0.1
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "AAPL.csv").write_text(PRICES)
    (tmp_path / "AAPL_dividends.csv").write_text(DIVIDENDS)
    (tmp_path / "msft.csv").write_text("Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,1.5\n")
    return tmp_path


def test_bad_rows_are_skipped_and_rows_sorted(data_dir):
    bars = CsvProvider(data_dir).daily_bars("AAPL", date(2020, 1, 1), date(2020, 12, 31))
    assert [bar.date for bar in bars] == [
        date(2020, 1, 2),
        date(2020, 1, 6),
        date(2020, 1, 10),
        date(2020, 1, 13),
    ]
    first = bars[0]
    assert (first.open, first.high, first.low, first.close, first.adjusted_close, first.volume) == (
        9.0,
        10.0,
        8.0,
        9.5,
        9.4,
        900,
    )
    assert bars[2].close == 10.3  # of two rows for one day, the last wins
    assert bars[3].volume == 1400


def test_the_range_filters_both_ends_inclusively(data_dir):
    bars = CsvProvider(data_dir).daily_bars("AAPL", date(2020, 1, 6), date(2020, 1, 10))
    assert [bar.date.day for bar in bars] == [6, 10]


def test_adjusted_close_and_volume_may_be_absent(data_dir):
    (bar,) = CsvProvider(data_dir).daily_bars("MSFT", date(2020, 1, 1), date(2020, 2, 1))
    assert (bar.close, bar.adjusted_close, bar.volume) == (1.5, 1.5, 0)


def test_dividends_file_with_bad_rows(data_dir):
    dividends = CsvProvider(data_dir).dividends("aapl", date(2020, 1, 1), date(2020, 12, 31))
    assert [(d.ex_date, d.amount_per_share, d.payment_date) for d in dividends] == [
        (date(2020, 1, 2), 0.2, None),
        (date(2020, 1, 8), 0.25, None),
    ]


def test_a_missing_dividends_file_means_no_dividends(data_dir):
    assert CsvProvider(data_dir).dividends("MSFT", date(2020, 1, 1), date(2020, 12, 31)) == []


def test_a_missing_prices_file_is_an_unknown_ticker(data_dir):
    with pytest.raises(UnknownTicker):
        CsvProvider(data_dir).daily_bars("TSLA", date(2020, 1, 1), date(2020, 2, 1))
    with pytest.raises(UnknownTicker):
        CsvProvider(data_dir).dividends("TSLA", date(2020, 1, 1), date(2020, 2, 1))


def test_a_changed_file_is_read_again(data_dir):
    provider = CsvProvider(data_dir)
    assert len(provider.daily_bars("MSFT", date(2020, 1, 1), date(2020, 2, 1))) == 1
    (data_dir / "msft.csv").write_text(
        "Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,1.5\n2020-01-03,1,2,0.5,1.75\n"
    )
    assert len(provider.daily_bars("MSFT", date(2020, 1, 1), date(2020, 2, 1))) == 2


async def test_through_the_api(data_dir):
    app = create_app(CsvProvider(data_dir))
    body = {"ticker": "AAPL", "market_type": "Stock", "start_date": "2020-01-01", "end_date": "2020-02-01"}
    data = (await post(app, "/prices", json=body)).data
    assert [bar["date"] for bar in data["prices"]] == ["2020-01-02", "2020-01-06", "2020-01-10", "2020-01-13"]
    assert data["metadata"]["provider"] == "csv" and data["metadata"]["synthetic"] is False
    missing = await post(app, "/prices", json={**body, "ticker": "TSLA"})
    assert missing.status == 404 and missing.error["code"] == "INVALID_TICKER"


def test_the_provider_is_chosen_by_setting(data_dir, monkeypatch):
    monkeypatch.delenv("MARKET_DATA_PROVIDER", raising=False)
    monkeypatch.delenv("MARKET_DATA_DIR", raising=False)
    assert isinstance(make_provider(), SampleProvider)
    with pytest.raises(ValueError, match="MARKET_DATA_DIR"):
        make_provider("csv")
    with pytest.raises(ValueError, match="not found"):
        make_provider("csv", str(data_dir / "nowhere"))
    with pytest.raises(ValueError, match="unknown market data provider"):
        make_provider("bloomberg")
    monkeypatch.setenv("MARKET_DATA_PROVIDER", "csv")
    monkeypatch.setenv("MARKET_DATA_DIR", str(data_dir))
    assert isinstance(make_provider(), CsvProvider)
    assert isinstance(make_provider("sample"), SampleProvider)  # the flag wins over the environment
