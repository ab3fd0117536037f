"""Request bodies of the market data service (docs/contract.md), and their range checks.

Dates are plain strings in the body so that a malformed or unreal date is INVALID_DATE_RANGE (as the
orchestrator answers it) rather than INVALID_REQUEST; a missing field or a wrong type is INVALID_REQUEST.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from services.common import ServiceError
from services.days import Frequency, parse_day

TICKER = re.compile(r"[A-Za-z0-9.\-^=]{1,15}")
#: The longest range served (50 years of days, as the orchestrator's default limit): one request
#: must not be able to make the service build and send centuries of bars.
MAX_RANGE_DAYS = 18_263


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ticker: Annotated[str, Field(min_length=1)]
    market_type: str | None = None  # accepted; the providers tell kinds apart by the ticker itself
    start_date: str
    end_date: str


class PricesRequest(_Body):
    frequency: Annotated[Frequency, BeforeValidator(_lower)] = "daily"


class DividendsRequest(_Body):
    pass


#: ``GET /tickers/search``: the longest query, and the most results one search may ask for.
MAX_QUERY_CHARS = 50
MAX_SEARCH_RESULTS = 50


class SearchQuery(BaseModel):
    """The query string of ``GET /tickers/search`` (our extension: the shared contract has no search)."""

    model_config = ConfigDict(extra="ignore")

    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS)]
    limit: Annotated[int, Field(ge=1, le=MAX_SEARCH_RESULTS)] = 10


def check_ticker(ticker: str) -> None:
    """A malformed ticker is no ticker at all: INVALID_TICKER, like an unknown one."""
    if not TICKER.fullmatch(ticker):
        raise invalid_ticker(ticker, "must be 1-15 characters: letters, digits, '.', '-', '^' or '='")


def invalid_ticker(ticker: str, why: str = "is not known to this market data provider") -> ServiceError:
    return ServiceError("INVALID_TICKER", f"Ticker {ticker!r} {why}", 404, {"ticker": ticker})


def date_range(body: _Body) -> tuple[date, date]:
    """The body's (start, end): real ``YYYY-MM-DD`` dates, end after start; else INVALID_DATE_RANGE."""
    start, end = _real_day("start_date", body.start_date), _real_day("end_date", body.end_date)
    if end <= start:
        raise ServiceError(
            "INVALID_DATE_RANGE",
            "end_date must be after start_date",
            400,
            {"start_date": body.start_date, "end_date": body.end_date},
        )
    if (end - start).days > MAX_RANGE_DAYS:
        raise ServiceError(
            "INVALID_DATE_RANGE",
            f"The date range may span at most {MAX_RANGE_DAYS} days",
            400,
            {"start_date": body.start_date, "end_date": body.end_date, "max_days": MAX_RANGE_DAYS},
        )
    return start, end


def _real_day(field: str, text: str) -> date:
    try:
        return parse_day(text)
    except ValueError:
        raise ServiceError(
            "INVALID_DATE_RANGE",
            f"{field} must be a real date as YYYY-MM-DD",
            400,
            {"field": field, "value": text},
        ) from None
