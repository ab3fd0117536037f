"""How a kept answer becomes bytes for the shared store, and back: the service's own answer.

Prices are kept as the body the market-data service answered, read back by ``PRICES.read`` as if it
had just answered; dividends as an envelope of their items, read back by ``DIVIDENDS.read`` (which
is also how ``dividends_window`` cuts a window). A value read back is the value that was kept: the
same points, the same digests, so an answer's fingerprint does not depend on where it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import orjson

from orchestrator.schemas import downstream
from orchestrator.schemas.downstream import Dividends, Prices

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Codec(Generic[T]):
    encode: Callable[[T], bytes]
    decode: Callable[[bytes], T]


def _dividends_body(dividends: Dividends) -> bytes:
    return orjson.dumps({"success": True, "data": {"ticker": dividends.ticker, "dividends": dividends.items}})


PRICES: Codec[Prices] = Codec(lambda prices: prices.body, lambda body: downstream.PRICES.read(body, 200))
DIVIDENDS: Codec[Dividends] = Codec(_dividends_body, lambda body: downstream.DIVIDENDS.read(body, 200))
