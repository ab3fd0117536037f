"""The page's ticker fields suggest tickers as one types, in headless Chromium against the real platform
(the session ``platform`` fixture: the reference market-data service searches its bundled list)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SEARCH = "**/api/tickers/search?*"


def ticker_field(page: Any, label: str = "Ticker") -> Any:
    return page.get_by_role("combobox", name=label, exact=True)


def suggestions(page: Any) -> Any:
    """The list shown (only one at a time: each closes when its field loses the focus)."""
    return page.get_by_role("listbox", name="Suggestions")


def type_into(field: Any, text: str) -> None:
    field.fill("")
    field.press_sequentially(text, delay=20)


def test_typing_tq_suggests_tqqq_with_its_name_and_kind(platform, page):
    page.goto(platform.url + "/")
    field = ticker_field(page)
    type_into(field, "TQ")
    option = suggestions(page).get_by_role("option").filter(has_text="TQQQ")
    expect(option).to_contain_text("ProShares UltraPro QQQ")
    expect(option).to_contain_text("ETF")
    expect(field).to_have_attribute("aria-expanded", "true")
    expect(field).to_have_attribute("aria-controls", "ticker-suggestions")


def test_arrow_down_then_enter_fills_the_field_and_sets_the_market_type(platform, page):
    page.goto(platform.url + "/")
    page.get_by_label("Market type").select_option("Stock")
    field = ticker_field(page)
    type_into(field, "TQ")
    expect(suggestions(page)).to_be_visible()
    field.press("ArrowDown")
    first = suggestions(page).get_by_role("option").first
    expect(first).to_have_attribute("aria-selected", "true")
    expect(field).to_have_attribute("aria-activedescendant", "ticker-suggestions-0")
    field.press("Enter")
    expect(field).to_have_value("TQQQ")
    expect(suggestions(page)).to_be_hidden()
    expect(field).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_label("Market type")).to_have_value("ETF")
    expect(page.get_by_test_id("status")).to_have_text("Fill in the form and press Run.")  # not submitted


def test_clicking_a_suggestion_chooses_it(platform, page):
    page.goto(platform.url + "/")
    field = ticker_field(page)
    type_into(field, "apple")
    suggestions(page).get_by_role("option").filter(has_text="AAPL").click()
    expect(field).to_have_value("AAPL")
    expect(page.get_by_label("Market type")).to_have_value("Stock")
    expect(field).to_be_focused()


def test_escape_closes_the_suggestions_and_keeps_the_text(platform, page):
    page.goto(platform.url + "/")
    field = ticker_field(page)
    type_into(field, "TQ")
    expect(suggestions(page)).to_be_visible()
    field.press("Escape")
    expect(suggestions(page)).to_be_hidden()
    expect(field).to_have_value("TQ")


def test_typing_quickly_searches_less_often_than_once_a_key(platform, page):
    searched: list[str] = []
    page.on(
        "request",
        lambda request: searched.append(request.url) if "/api/tickers/search" in request.url else None,
    )
    page.goto(platform.url + "/")
    type_into(ticker_field(page), "ProShares")
    expect(suggestions(page)).to_be_visible()
    assert 1 <= len(searched) < len("ProShares")
    assert searched[-1].endswith("q=ProShares&limit=8")


def test_a_failing_search_shows_nothing_and_the_field_still_works(platform, page):
    page.route(SEARCH, lambda route: route.fulfill(status=503, body="down"))
    page.goto(platform.url + "/")
    field = ticker_field(page)
    with page.expect_response(SEARCH):
        type_into(field, "TQ")
    expect(suggestions(page)).to_be_hidden()
    expect(field).to_have_attribute("aria-expanded", "false")
    expect(field).to_have_value("TQ")


def test_arrow_down_on_a_closed_list_opens_it_on_its_first_option(platform, page):
    page.goto(platform.url + "/")
    field = ticker_field(page)
    type_into(field, "TQ")
    field.press("Escape")
    expect(suggestions(page)).to_be_hidden()
    field.press("ArrowDown")
    expect(suggestions(page).get_by_role("option").first).to_have_attribute("aria-selected", "true")


def test_the_compare_view_suggests_too(platform, page):
    page.goto(platform.url + "/#compare")
    field = ticker_field(page, "Symbol")
    type_into(field, "spy")
    suggestions(page).get_by_role("option").filter(has_text="SPDR S&P 500 ETF Trust").click()
    expect(field).to_have_value("SPY")


def test_the_sweep_view_completes_the_last_ticker_of_its_list(platform, page):
    page.goto(platform.url + "/#sweep")
    market = page.get_by_test_id("sweep-form").get_by_label("Market", exact=True)
    market.select_option("Index")
    field = ticker_field(page, "Symbols")
    type_into(field, "TQQQ, appl")
    expect(suggestions(page)).to_be_visible()
    field.press("ArrowDown")
    field.press("Enter")
    expect(field).to_have_value("TQQQ, AAPL")
    expect(market).to_have_value("Index")  # two tickers: left as it was
