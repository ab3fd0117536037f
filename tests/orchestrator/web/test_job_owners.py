"""Jobs with owners, over HTTP on both backends (in the process, and a real ``redis-server``): with
``AUTH__MODE`` on, a job is its tenant's, and another tenant gets 404 for it on every route and
cannot cancel it; ``jobs:admin`` sees, lists and cancels every job; the tenant's quotas on jobs
(queued or running, settings per day) replace the per-address limit."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from orchestrator.auth import api_keys
from orchestrator.auth.caller import BACKTEST, JOBS_ADMIN, READ
from tests.orchestrator.jobs.conftest import backend_name, jobs_redis  # noqa: F401 (fixtures)
from tests.orchestrator.web.test_jobs import finished, refused, serve, sweep_job  # noqa: F401 (a fixture)

#: A tenant's scopes, and an operator's.
TENANT = (BACKTEST, READ)
ADMIN = (BACKTEST, READ, JOBS_ADMIN)


def keys_in(tmp_path: Path, **scopes: tuple[str, ...]) -> tuple[Path, dict[str, dict[str, str]]]:
    """A keys file with a key of each tenant named (its scopes given); each key's headers."""
    made = {tenant: api_keys.new_key(tenant, given) for tenant, given in scopes.items()}
    path = tmp_path / "keys.json"
    api_keys.write_file(path, {record.id: record for _, record in made.values()})
    return path, {tenant: {"X-API-Key": key} for tenant, (key, _) in made.items()}


@pytest.fixture
def owned(serve, tmp_path):  # noqa: F811
    """``await owned(delays, **settings)``: (client, headers of tenants a, b, and ops with jobs:admin)."""

    async def make(delays: dict[str, float] | None = None, **settings: Any):
        path, keys = keys_in(tmp_path, a=TENANT, b=TENANT, ops=ADMIN)
        client, _ = await serve(delays, auth={"mode": "api_key", "api_keys_file": str(path)}, **settings)
        return client, keys

    return make


async def submit(
    client: Any, headers: dict[str, str], body: dict[str, Any] | None = None, **more: str
) -> Any:
    return await client.post("/api/jobs", json=body or sweep_job(), headers={**headers, **more})


async def made(client: Any, headers: dict[str, str], body: dict[str, Any] | None = None, **more: str) -> str:
    response = await submit(client, headers, body, **more)
    assert response.status == 202, await response.json()
    return (await response.json())["data"]["id"]


async def status_of(client: Any, job: str, headers: dict[str, str]) -> dict[str, Any]:
    return (await (await client.get(f"/api/jobs/{job}", headers=headers)).json())["data"]


async def listed(client: Any, headers: dict[str, str]) -> set[str]:
    answer = await (await client.get("/api/jobs", headers=headers)).json()
    return {job["id"] for job in answer["data"]["jobs"]}


@pytest.mark.parametrize(
    "method, suffix",
    [
        ("GET", ""),
        ("GET", "/results"),
        ("GET", "/results?format=csv"),
        ("GET", "/events"),
        ("DELETE", ""),
    ],
)
async def test_another_tenant_gets_404_for_a_job_on_every_route(owned, method, suffix):
    client, keys = await owned({"/simulate": 1.0})
    job = await made(client, keys["a"])
    response = await client.request(method, f"/api/jobs/{job}{suffix}", headers=keys["b"])
    error = await refused(response, 404, "NOT_FOUND")
    assert error["message"].startswith("No such job")  # as for an id that never existed


async def test_another_tenant_cannot_cancel_a_job(owned):
    client, keys = await owned({"/simulate": 1.0})
    job = await made(client, keys["a"])
    await client.delete(f"/api/jobs/{job}", headers=keys["b"])
    assert (await status_of(client, job, keys["a"]))["status"] in ("queued", "running")


async def test_the_owner_reads_and_cancels_its_job(owned):
    client, keys = await owned({"/simulate": 1.0})
    job = await made(client, keys["a"])
    assert (await status_of(client, job, keys["a"]))["id"] == job
    response = await client.delete(f"/api/jobs/{job}", headers=keys["a"])
    assert (await response.json())["data"]["status"] == "cancelled"


async def test_the_list_shows_the_tenant_s_own_jobs_only(owned):
    client, keys = await owned({"/simulate": 1.0})
    mine = {await made(client, keys["a"]), await made(client, keys["a"])}
    theirs = await made(client, keys["b"])
    assert await listed(client, keys["a"]) == mine
    assert await listed(client, keys["b"]) == {theirs}


async def test_jobs_admin_lists_reads_and_cancels_every_job(owned):
    client, keys = await owned({"/simulate": 1.0})
    one, two = await made(client, keys["a"]), await made(client, keys["b"])
    assert await listed(client, keys["ops"]) == {one, two}
    assert (await status_of(client, one, keys["ops"]))["id"] == one
    page = await client.get(f"/api/jobs/{two}/results", headers=keys["ops"])
    assert page.status == 200
    response = await client.delete(f"/api/jobs/{two}", headers=keys["ops"])
    assert (await response.json())["data"]["status"] == "cancelled"


async def test_an_idempotency_key_is_each_tenant_s_own(owned):
    client, keys = await owned({"/simulate": 1.0})
    first = await made(client, keys["a"], **{"Idempotency-Key": "k-1"})
    again = await submit(client, keys["a"], **{"Idempotency-Key": "k-1"})
    assert (await again.json())["data"]["id"] == first
    other = await made(client, keys["b"], **{"Idempotency-Key": "k-1"})
    assert other != first


async def test_jobs_past_the_tenant_s_limit_get_429_with_the_ratelimit_headers(owned):
    client, keys = await owned({"/simulate": 2.0}, quota={"jobs_active": 1})
    await made(client, keys["a"])
    response = await submit(client, keys["a"])
    error = await refused(response, 429, "RATE_LIMITED")
    assert (error["details"]["quota"], response.headers["Retry-After"]) == ("jobs", "1")
    assert response.headers["RateLimit-Policy"].startswith('"tenant";q=')
    await made(client, keys["b"])  # another tenant's share


async def test_a_cancelled_job_gives_its_place_back(owned):
    client, keys = await owned({"/simulate": 2.0}, quota={"jobs_active": 1})
    job = await made(client, keys["a"])
    await client.delete(f"/api/jobs/{job}", headers=keys["a"])
    await _accepted_soon(client, keys["a"])


async def test_a_job_that_ends_gives_its_place_back(owned):
    client, keys = await owned(quota={"jobs_active": 1})
    job = await made(client, keys["a"])
    await finished_as(client, job, keys["a"])
    await _accepted_soon(client, keys["a"])


async def test_a_refused_body_holds_no_place(owned):
    client, keys = await owned(quota={"jobs_active": 1})
    response = await submit(client, keys["a"], {"kind": "sweep"})
    await refused(response, 400, "INVALID_REQUEST")
    await made(client, keys["a"])


async def test_settings_past_the_tenant_s_day_get_429(owned):
    client, keys = await owned(quota={"settings_per_day": 5})
    await made(client, keys["a"])  # 3 settings
    response = await submit(client, keys["a"])
    error = await refused(response, 429, "RATE_LIMITED")
    assert error["details"]["quota"] == "settings" and int(response.headers["Retry-After"]) >= 1
    await made(client, keys["b"])


async def test_settings_refused_are_counted_as_refusals(owned):
    from prometheus_client import REGISTRY

    def counted() -> float:
        labels = {"tenant": "other", "quota": "settings"}
        return REGISTRY.get_sample_value("orchestrator_quota_refusals_total", labels) or 0.0

    client, keys = await owned(quota={"settings_per_day": 2})
    before = counted()
    await refused(await submit(client, keys["a"]), 429, "RATE_LIMITED")
    assert counted() - before == 1


async def test_a_replayed_idempotency_key_spends_no_settings(owned):
    client, keys = await owned({"/simulate": 1.0}, quota={"settings_per_day": 6})
    await made(client, keys["a"], **{"Idempotency-Key": "k-1"})
    replayed = await submit(client, keys["a"], **{"Idempotency-Key": "k-1"})
    assert replayed.headers["Idempotent-Replayed"] == "true"
    await made(client, keys["a"])  # 3 + 3: the replay counted nothing


async def test_a_replayed_idempotency_key_holds_no_second_place(owned):
    client, keys = await owned({"/simulate": 1.0}, quota={"jobs_active": 2})
    await made(client, keys["a"], **{"Idempotency-Key": "k-1"})
    for _ in range(2):
        await made(client, keys["a"], **{"Idempotency-Key": "k-1"})
    await made(client, keys["a"])


async def test_with_a_mode_on_the_tenant_s_limit_replaces_the_address_s(owned):
    client, keys = await owned({"/simulate": 1.0}, jobs={"max_per_client": 1})
    await made(client, keys["a"])
    await made(client, keys["b"])  # from the same address
    await made(client, keys["a"])


async def finished_as(client: Any, job: str, headers: dict[str, str]) -> None:
    async with asyncio.timeout(30):
        while (await status_of(client, job, headers))["status"] not in ("succeeded", "failed"):  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def _accepted_soon(client: Any, headers: dict[str, str]) -> None:
    """A job accepted within a second: through Redis, a hold is given back off the answer's path."""
    async with asyncio.timeout(1):
        while (response := await submit(client, headers)).status == 429:
            await refused(response, 429, "RATE_LIMITED")
            await asyncio.sleep(0.05)
    assert response.status == 202


async def test_a_job_ended_on_another_replica_gives_its_place_back(start, jobs_redis, tmp_path):  # noqa: F811
    assert jobs_redis.command(b"FLUSHALL") == b"+OK"
    path, keys = keys_in(tmp_path, a=TENANT)
    shared = {
        "redis_url": jobs_redis.url,
        "auth": {"mode": "api_key", "api_keys_file": str(path)},
        "quota": {"jobs_active": 1},
    }
    front, _ = await start(jobs={"worker": False, "shard_size": 3}, **shared)
    await start(jobs={"shard_size": 3}, **shared)  # the replica that runs the job, and ends it
    job = await made(front, keys["a"])
    await finished_as(front, job, keys["a"])
    await _accepted_soon(front, keys["a"])
