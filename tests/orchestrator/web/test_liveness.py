"""GET /health: liveness, which says the build that answers (version, and commit where known)."""

from __future__ import annotations

import orchestrator


async def test_liveness_names_the_version_and_no_commit_when_the_build_said_none(client, monkeypatch):
    monkeypatch.delenv("GIT_COMMIT", raising=False)
    response = await client.get("/health")
    assert response.status == 200
    assert await response.json() == {
        "status": "healthy",
        "service": "orchestrator",
        "version": orchestrator.__version__,
        "commit": None,
    }


async def test_liveness_names_the_commit_the_image_was_built_from(client, monkeypatch):
    monkeypatch.setenv("GIT_COMMIT", "0123abc")
    assert (await (await client.get("/health")).json())["commit"] == "0123abc"
