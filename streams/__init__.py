"""Generic reactive building blocks on asyncio: one operator per module.

Nothing here knows about backtests; the orchestrator composes these into its graph. Every operator
is a ``LeanObservable`` (``streams/lean.py``): a reactivex observable without reactivex's
per-subscription costs, which made up most of what a backtest cost. What the operators are built
from sits beside it: the disposables of a subscription (``subscriptions.py``), the sources made
from what is in hand (``sources.py``: ``defer``, ``just``, ``throw``) and the timers
(``scheduling.py``).
"""

from streams.from_coroutine import from_coroutine
from streams.hedge import hedge
from streams.in_turns import Turns, in_turns
from streams.join import join_named
from streams.lifecycle import observe_lifecycle
from streams.map_error import map_error
from streams.map_value import map_value
from streams.retry import retry_with_backoff
from streams.share_replay import share_replay
from streams.sources import defer, just, throw
from streams.then import then
from streams.timeout import timeout_after
from streams.zip_values import zip_values

__all__ = [
    "Turns",
    "defer",
    "from_coroutine",
    "hedge",
    "in_turns",
    "join_named",
    "just",
    "map_error",
    "map_value",
    "observe_lifecycle",
    "retry_with_backoff",
    "share_replay",
    "then",
    "throw",
    "timeout_after",
    "zip_values",
]
