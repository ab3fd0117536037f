"""Request bodies the tests of the real platform share."""

from __future__ import annotations

#: The README's request: buy TQQQ's 5% dips over 2020-2021 against buy-and-hold, on the reference
#: services' synthetic prices.
TQQQ = {
    "market_params": {
        "ticker": "TQQQ",
        "market_type": "ETF",
        "start_date": "2020-01-01",
        "end_date": "2022-01-01",
    },
    "strategy_params": {
        "strategy_type": "buy_the_dip",
        "config": {"price_change_threshold": -0.05, "lookback_period": "daily"},
    },
    "portfolio_params": {"initial_capital": 10000, "investment_per_trade": 100},
    "baseline_params": {"initial_capital": 10000},
}
