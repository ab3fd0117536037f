"""What an answer was computed from, as two hashes: the request, and the market data.

``request`` hashes the canonical request (validated, every default filled in, keys sorted), so two
bodies meaning the same backtest share it; ``market_data`` hashes the price points and dividends
used, in order. Neither depends on the process, the time or the request id: equal across restarts,
different whenever an input differs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import orjson
from pydantic import BaseModel

from orchestrator.schemas.downstream import Dividends, Prices


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def of_request(request: BaseModel | dict[str, Any]) -> str:
    document = request.model_dump(mode="json") if isinstance(request, BaseModel) else request
    return _sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS))


def of_market(prices: Prices, dividends: Dividends) -> str:
    return _sha256(f"{prices.digest} {dividends.digest}".encode())


def of_markets(fingerprints: Iterable[str]) -> str:
    """One hash for the market data of several backtests, whatever order they ran in."""
    return _sha256(" ".join(sorted(set(fingerprints))).encode())


def fingerprint(request: BaseModel | dict[str, Any], market_data: str) -> dict[str, str]:
    return {"request": of_request(request), "market_data": market_data}
