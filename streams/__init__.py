"""Generic reactive building blocks on asyncio: one operator per module.

Nothing here knows about backtests; the orchestrator composes these into its graph.
"""

from streams.from_coroutine import from_coroutine
from streams.hedge import hedge
from streams.join import join_named
from streams.lifecycle import observe_lifecycle
from streams.map_error import map_error
from streams.retry import retry_with_backoff
from streams.share_replay import share_replay
from streams.timeout import timeout_after

__all__ = [
    "from_coroutine",
    "hedge",
    "join_named",
    "map_error",
    "observe_lifecycle",
    "retry_with_backoff",
    "share_replay",
    "timeout_after",
]
