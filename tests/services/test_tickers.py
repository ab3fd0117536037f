"""The bundled ticker list, the ranking of a search, and each provider's ``search``."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from services.market_data import tickers
from services.market_data.providers import CsvProvider, FixtureProvider, SampleProvider
from services.market_data.providers.base import TickerMatch
from services.market_data.providers.sample_profile import kind_of
from services.market_data.schemas import TICKER

DATA = Path(tickers.__file__).with_name(tickers.DATA_FILE)
#: What the sample provider makes of a ticker (``sample_profile.kind_of``), as the API's kind.
SAMPLE_KINDS = {"stock": "Stock", "etf": "ETF", "leveraged_etf": "ETF", "index": "Index", "crypto": "Crypto"}


def symbols(matches: list[TickerMatch]) -> list[str]:
    return [match.symbol for match in matches]


def universe(*rows: tuple[str, str]) -> list[TickerMatch]:
    return [TickerMatch(symbol, name, "Stock") for symbol, name in rows]


# --- the data file ---------------------------------------------------------------------------------


def test_the_data_file_has_a_header_and_four_filled_fields_a_row():
    with DATA.open(newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["symbol", "name", "kind", "exchange"]
    for row in rows[1:]:
        assert len(row) == 4, row
        assert all(cell == cell.strip() for cell in row), row
        assert row[0] and row[1] and row[2], row


def test_every_symbol_is_a_valid_ticker_and_appears_once():
    listed = symbols(list(tickers.bundled()))
    assert all(TICKER.fullmatch(symbol) for symbol in listed), [s for s in listed if not TICKER.fullmatch(s)]
    assert all(symbol == symbol.upper() for symbol in listed)
    assert len(set(listed)) == len(listed)


def test_the_list_is_of_common_size_and_has_every_kind():
    listed = tickers.bundled()
    assert 150 <= len(listed) <= 250
    assert {match.kind for match in listed} == set(tickers.KINDS)


@pytest.mark.parametrize(
    ("symbol", "name", "kind"),
    [
        ("AAPL", "Apple Inc.", "Stock"),
        ("BRK-B", "Berkshire Hathaway Inc. Class B", "Stock"),
        ("SPY", "SPDR S&P 500 ETF Trust", "ETF"),
        ("TQQQ", "ProShares UltraPro QQQ", "ETF"),
        ("^GSPC", "S&P 500", "Index"),
        ("BTC-USD", "Bitcoin USD", "Crypto"),
    ],
)
def test_well_known_tickers_are_listed_with_their_names_and_kinds(symbol, name, kind):
    found = tickers.known(symbol)
    assert found is not None
    assert (found.symbol, found.name, found.kind) == (symbol, name, kind)


def test_each_kind_is_the_one_the_sample_data_gives_the_ticker():
    """A suggestion's kind sets the page's market type: it must be what the sample series is made as."""
    wrong = [m.symbol for m in tickers.bundled() if SAMPLE_KINDS[kind_of(m.symbol)] != m.kind]
    assert wrong == []


def test_the_list_is_read_once():
    assert tickers.bundled() is tickers.bundled()


# --- ranking ---------------------------------------------------------------------------------------


def test_an_exact_symbol_comes_before_symbols_starting_with_it():
    found = tickers.search("SP", 10, universe(("SPY", "Zed"), ("SP", "Zed"), ("SPXL", "Zed")))
    assert symbols(found) == ["SP", "SPXL", "SPY"]


def test_symbols_starting_with_the_query_come_before_names():
    found = tickers.search("ab", 10, universe(("AAA", "Abacus"), ("ABX", "Zed")))
    assert symbols(found) == ["ABX", "AAA"]


def test_a_name_starting_with_the_query_comes_before_a_later_word_starting_with_it():
    found = tickers.search("s&p", 10, universe(("AAA", "SPDR S&P 500"), ("ZZZ", "S&P 500")))
    assert symbols(found) == ["ZZZ", "AAA"]


def test_a_word_of_the_name_starting_with_the_query_comes_before_any_other_substring():
    rows = universe(("AAA", "Grapple Corp"), ("BBB", "Big Apple Inc."), ("XAPPX", "Zed"))
    assert symbols(tickers.search("app", 10, rows)) == ["BBB", "AAA", "XAPPX"]


def test_ties_within_a_tier_are_ordered_by_symbol():
    rows = universe(("QID", "UltraShort QQQ"), ("AQQ", "Ultra QQQ"), ("MQQ", "UltraPro QQQ"))
    assert symbols(tickers.search("ultra", 10, rows)) == ["AQQ", "MQQ", "QID"]


def test_search_is_case_insensitive():
    assert symbols(tickers.search("tqqq", 5)) == symbols(tickers.search("TQQQ", 5)) == ["TQQQ"]
    assert symbols(tickers.search("APPLE", 5)) == ["AAPL"]


def test_a_dot_in_a_symbol_finds_its_dash_form():
    assert symbols(tickers.search("brk.b", 5)) == ["BRK-B"]


def test_the_limit_cuts_the_ranked_list():
    assert len(tickers.search("a", 50)) == 50
    assert tickers.search("a", 3) == tickers.search("a", 50)[:3]


def test_a_query_matching_nothing_or_blank_finds_nothing():
    assert tickers.search("qwxz", 10) == []
    assert tickers.search("   ", 10) == []


def test_the_bundled_ranking_of_qqq():
    assert symbols(tickers.search("qqq", 10)) == ["QQQ", "QID", "QLD", "SQQQ", "TQQQ"]


# --- the providers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", [SampleProvider(), FixtureProvider()], ids=["sample", "fixture"])
def test_the_sample_and_fixture_providers_search_the_bundled_list(provider):
    assert provider.search("TQ", 10) == [TickerMatch("TQQQ", "ProShares UltraPro QQQ", "ETF", "NASDAQ")]


def test_the_csv_provider_finds_only_tickers_with_a_prices_file(tmp_path: Path):
    for name in ("AAPL.csv", "aapl_dividends.csv", "MSFT_dividends.csv", "notes.txt"):
        (tmp_path / name).write_text("Date,Close\n")
    assert symbols(CsvProvider(tmp_path).search("a", 10)) == ["AAPL"]
    assert CsvProvider(tmp_path).search("microsoft", 10) == []


def test_the_csv_provider_names_known_tickers_and_keeps_the_files_symbol(tmp_path: Path):
    (tmp_path / "brk.b.csv").write_text("Date,Close\n")
    (tmp_path / "MYFUND.csv").write_text("Date,Close\n")
    provider = CsvProvider(tmp_path)
    assert provider.search("berkshire", 5) == [
        TickerMatch("BRK.B", "Berkshire Hathaway Inc. Class B", "Stock", "NYSE")
    ]
    assert provider.search("myf", 5) == [TickerMatch("MYFUND", "MYFUND", "Stock", None)]


def test_the_csv_provider_sees_a_file_added_after_its_first_search(tmp_path: Path):
    provider = CsvProvider(tmp_path)
    assert provider.search("nvda", 5) == []
    (tmp_path / "NVDA.csv").write_text("Date,Close\n")
    assert symbols(provider.search("nvda", 5)) == ["NVDA"]


@pytest.mark.parametrize(
    ("symbol", "kind"),
    [("^FOO", "Index"), ("DOGE-USD", "Crypto"), ("EURUSD=X", "FX"), ("ES=F", "Future"), ("ACME", "Stock")],
)
def test_a_symbol_the_list_lacks_gets_the_kind_the_sample_data_gives_it(symbol, kind):
    assert tickers.guess_kind(symbol) == kind
