"""Redis away: backtests go on from the in-process cache, one warning per outage, and Redis is used
again once it is back."""

from __future__ import annotations

import asyncio
from typing import Any

from structlog.testing import capture_logs

from tests.orchestrator.cache.conftest import settled
from tests.orchestrator.cache.redis_server import free_port
from tests.orchestrator.cache.test_replicas import backtest, calls


def events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [line for line in logs if line["event"] == name]


async def test_with_redis_unreachable_backtests_run_on_the_in_process_cache_with_one_warning(replicas):
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    (app,), log = await replicas(1, closed, cache={"redis_retry_s": 0.05})
    with capture_logs() as logs:
        for ticker in ("AAA", "BBB", "CCC"):  # each a miss here, so each tries Redis again
            await backtest(app, market_params__ticker=ticker)
            await asyncio.sleep(0.06)  # past the pause
        await backtest(app, market_params__ticker="AAA", strategy_params__config__price_change_threshold=-0.1)
    assert calls(log, "/prices") == 3  # the repeat was served by the in-process cache
    [warning] = events(logs, "shared_cache_unavailable")
    assert warning["log_level"] == "warning" and "Connect" in warning["error"]
    assert events(logs, "shared_cache_available") == []


async def test_when_redis_stops_each_replica_serves_alone_and_when_it_is_back_they_share_again(
    replicas, own_redis
):
    server = own_redis().start()
    (first, second), log = await replicas(2, server.url, cache={"redis_retry_s": 0.1})
    await backtest(first)
    await settled(first)
    server.stop()
    with capture_logs() as logs:
        await backtest(first)  # its own store answers: Redis is not asked
        await backtest(second)  # Redis is away: it calls for itself
        await backtest(second, strategy_params__config__price_change_threshold=-0.1)
        assert calls(log, "/prices") == 2
        assert len(events(logs, "shared_cache_unavailable")) == 1  # the second's, once

        own_redis(server.port).start()  # back, and empty
        await asyncio.sleep(0.15)  # past the pause
        await backtest(second, market_params__ticker="NEW")  # one of its calls tries Redis: it answers
        await backtest(second, market_params__ticker="SPY")  # kept in Redis again
        await settled(second)
        made = (calls(log, "/prices"), calls(log, "/dividends"))
        await backtest(first, market_params__ticker="SPY")  # found there: no call
    assert (calls(log, "/prices"), calls(log, "/dividends")) == made
    assert len(events(logs, "shared_cache_available")) == 1
    assert len(events(logs, "shared_cache_unavailable")) == 1
