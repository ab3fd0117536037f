"""/api/jobs in one process (the embedded store and queue) over fake services on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

from tests import fakes

THRESHOLD = "strategy_params.config.price_change_threshold"
AMOUNT = "portfolio_params.investment_per_trade"


def sweep_job(grid: dict[str, list[Any]] | None = None, **options: Any) -> dict[str, Any]:
    return {
        "kind": "sweep",
        **fakes.backtest_request(),
        "grid": grid or {THRESHOLD: [-0.03, -0.05, -0.07]},
        **options,
    }


async def submitted(client: Any, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = await client.post("/api/jobs", json=body, headers=headers)
    answer = await response.json()
    assert response.status == 202, answer
    assert response.headers["Location"] == f"/api/jobs/{answer['data']['id']}"
    return answer["data"]


async def finished(client: Any, job: str, timeout_s: float = 20) -> dict[str, Any]:
    async with asyncio.timeout(timeout_s):
        while True:
            status = (await (await client.get(f"/api/jobs/{job}")).json())["data"]
            if status["status"] in ("succeeded", "failed", "cancelled"):
                return status
            await asyncio.sleep(0.05)


async def test_a_sweep_job_runs_every_setting_and_ranks_them(start):
    client, _ = await start()
    job = await submitted(client, sweep_job())
    assert (job["status"], job["total"], job["durable"]) == ("queued", 3, False)
    status = await finished(client, job["id"])
    assert (status["status"], status["done"], status["failed"], status["succeeded"]) == ("succeeded", 3, 0, 3)
    results = (await (await client.get(f"/api/jobs/{job['id']}/results")).json())["data"]
    assert [row["rank"] for row in results["rows"]] == [1, 2, 3]
    assert sorted(row["index"] for row in results["rows"]) == [0, 1, 2]
