"""Request bodies the tests of the real platform share."""

from __future__ import annotations

from orchestrator.web.openapi import BACKTEST_EXAMPLE

#: The README's request, which the API's document also shows: buy TQQQ's 5% dips over 2020-2021
#: against buy-and-hold, on the reference services' synthetic prices. Copy it before changing it.
TQQQ = BACKTEST_EXAMPLE
