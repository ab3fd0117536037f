"""``GET /api/tickers/search``: its query string, checked, and its answer (docs/api.md).

The checks are the market-data service's own (``q`` 1-50 characters once stripped, ``limit`` 1-50),
made here first, and a little stricter where the API's document says so (``q`` 1-50 characters as
given, not only spaces: what ``minLength``, ``maxLength`` and a pattern can say): a bad query is our
INVALID_REQUEST and costs no call. Messages never quote the query back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.errors import InvalidRequest

MAX_QUERY_CHARS = 50
#: The characters ``str.strip()`` removes (``str.isspace``), spelled out: ``\s`` is not the same set
#: in ECMA-262 (JSON Schema's dialect) and in Python, so the document's pattern names them.
SPACES = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: ``q`` has a character that is not one of :data:`SPACES` (the document's pattern for it).
NOT_ONLY_SPACES = f"[^{SPACES}]"
MAX_LIMIT = 50
DEFAULT_LIMIT = 10


@dataclass(frozen=True, slots=True)
class TickerSearch:
    query: str
    limit: int


def parse_ticker_search(params: Mapping[str, str]) -> TickerSearch:
    """``q`` and ``limit`` from the query string (the first of a repeated one); INVALID_REQUEST
    listing each problem in ``details.errors``."""
    errors: list[dict[str, str]] = []
    query = params.get("q") or ""
    if "q" not in params:
        errors.append({"field": "q", "message": "required: a symbol or a part of a name"})
    elif not (len(query) <= MAX_QUERY_CHARS and re.search(NOT_ONLY_SPACES, query)):
        errors.append({"field": "q", "message": f"must be 1-{MAX_QUERY_CHARS} characters, not only spaces"})
    given = params.get("limit", str(DEFAULT_LIMIT)).strip()
    # ASCII digits, and few of them: int() takes "٣" and would work through a million digits.
    limit = int(given) if given.isascii() and given.isdigit() and len(given) <= 3 else 0
    if not 1 <= limit <= MAX_LIMIT:
        errors.append({"field": "limit", "message": f"must be a whole number from 1 to {MAX_LIMIT}"})
    if errors:
        raise InvalidRequest(f"Invalid ticker search: {len(errors)} problem(s) found", {"errors": errors})
    return TickerSearch(query.strip(), limit)


# --- the answer, as the API's document describes it ------------------------------------------------


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class TickerSuggestion(_Answer):
    symbol: str
    name: str
    kind: str = Field(description="The API's `market_type` for it: `Stock`, `ETF`, `Index`, `Crypto`...")
    exchange: str | None = Field(description="Where it trades (e.g. `NASDAQ`), or null when not known.")


class TickerSearchData(_Answer):
    query: str = Field(description="The query searched: `q` with the spaces around it removed.")
    results: list[TickerSuggestion] = Field(description="Best first: at most `limit`.")


class TickerSearchResponse(_Answer):
    """``GET /api/tickers/search``."""

    success: Literal[True] = True
    data: TickerSearchData
