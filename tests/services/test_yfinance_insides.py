"""What the yahoo provider assumes of yfinance beyond its public API (``yfinance_insides.py``), one test
per assumption, each failing with the yfinance release that broke it; and the public behaviours the
provider counts on that a release could change (no request for the metadata, the errors' names).

On recorded answers (:class:`tests.services.yahoo_replay.Replay`): no network.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yfinance

from services.market_data.providers.base import ProviderUnavailable
from services.market_data.providers.yahoo import YahooProvider
from services.market_data.providers.yfinance_insides import forget_answers, forget_process_state
from tests.services.yahoo_replay import Replay, recording

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:yfinance")

YF = f"yfinance {yfinance.__version__}"
SPY = ("spy_2023-12-11_2023-12-22", "spy_timezone")
FIRST, LAST = date(2023, 12, 11), date(2023, 12, 22)
HISTORY = {
    "start": "2023-12-11",
    "end": "2023-12-23",
    "interval": "1d",
    "auto_adjust": False,
    "actions": True,
}


@pytest.fixture(autouse=True)
def fresh_yfinance(tmp_path: Path) -> Iterator[None]:
    """yfinance as just imported, its time zone cache in ``tmp_path`` (as the provider puts it in its own)."""
    forget_process_state()
    yfinance.set_tz_cache_location(str(tmp_path / "yfinance"))
    yield
    forget_process_state()


def charts(session: Replay) -> int:
    """Chart requests for a range (not the one-day time zone lookup)."""
    return sum(1 for _, url, params in session.sent if "/v8/finance/chart/" in url and "period1" in params)


# --- assumption 1: yfinance's in-memory answers, forgotten ------------------------------------------


def test_1_a_past_range_is_answered_from_yfinances_memory_until_cache_get_is_cleared():
    session = Replay(*SPY)
    yfinance.Ticker("SPY", session=session).history(**HISTORY)
    yfinance.Ticker("SPY", session=session).history(**HISTORY)
    if charts(session) != 1:
        pytest.fail(
            f"{YF}: a past range is no longer answered from memory (YfData.cache_get): forget_answers is moot"
        )
    forget_answers(yfinance)
    yfinance.Ticker("SPY", session=session).history(**HISTORY)
    assert charts(session) == 2, f"{YF}: YfData.cache_get.cache_clear() no longer forgets Yahoo's answers"


def test_1_a_failed_answer_for_a_past_range_is_not_served_again(tmp_path: Path):
    truncated = recording("spy_truncated")
    session = Replay(truncated, *SPY)
    provider = YahooProvider(tmp_path, session=session)
    with pytest.raises(ProviderUnavailable):
        provider.daily_bars("SPY", FIRST, LAST)
    session.exchanges.remove(truncated)  # Yahoo answers whole again
    try:
        assert len(provider.daily_bars("SPY", FIRST, LAST)) == 10
    except ProviderUnavailable:
        pytest.fail(f"{YF}: the truncated answer was served again, from yfinance's memory")


# --- assumption 2 (the tests'): yfinance's process-wide state, forgotten --------------------------------


def test_2_yfinances_process_state_is_where_forget_process_state_looks():
    from yfinance import base, cache, data

    assert hasattr(cache._TzCacheManager, "_tz_cache"), f"{YF}: no _TzCacheManager._tz_cache"
    assert isinstance(getattr(base, "_tz_info_fetch_ctr", None), int), f"{YF}: no base._tz_info_fetch_ctr"
    first = data.YfData(session=Replay())
    assert data.YfData(session=Replay()) is first, f"{YF}: YfData is no longer one per process"
    assert type(data.YfData)._instances.get(data.YfData) is first, f"{YF}: YfData is not kept in _instances"
    forget_process_state()
    assert data.YfData(session=Replay()) is not first, (
        f"{YF}: forget_process_state left YfData's session holder"
    )


# --- public, but a release could change it ----------------------------------------------------------


def test_the_metadata_after_history_costs_no_request():
    session = Replay(*SPY)
    ticker = yfinance.Ticker("SPY", session=session)
    ticker.history(**HISTORY)
    sent = len(session.sent)
    metadata = ticker.get_history_metadata()
    assert len(session.sent) == sent, (
        f"{YF}: get_history_metadata() after history() asked {session.sent[sent:]}"
    )
    assert metadata.get("fullExchangeName") == "NYSEArca", f"{YF}: the metadata has no fullExchangeName"


@pytest.mark.parametrize(
    "name",
    [
        "YFRateLimitError",
        "YFTzMissingError",
        "YFPricesMissingError",
        "YFTickerMissingError",
        "YFDataException",
    ],
)
def test_the_errors_the_provider_sorts_by_are_yfinances(name: str):
    """``yahoo._YfErrors`` matches nothing for a name that is gone: an outage would pass for no data."""
    assert isinstance(getattr(yfinance.exceptions, name, None), type), (
        f"{YF}: yfinance.exceptions.{name} is gone"
    )
