"""Callers over HTTP (``web/auth.py``): each attack of issue 23 gets 401 and nothing else, valid
credentials 200, each scope rule its 403, and no credential in a log line.

The identity provider is a JWKS on loopback (``tests/orchestrator/auth/minting.py``), its tokens
minted here; the API keys are made by ``auth/api_keys.py`` and kept in a file, as
``orchestrator keys create`` keeps them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

import fakes
from orchestrator.auth import api_keys
from orchestrator.web.auth import FAILURE_FLOOR_S
from orchestrator.web.keys import AUTHENTICATOR
from tests.orchestrator.auth.minting import (
    AUDIENCE,
    ISSUER,
    KeyServer,
    SigningKey,
    claims_of,
    ec_key,
    ed_key,
    rsa_key,
)
from tests.orchestrator.test_span_export import receiver  # noqa: F401  (a fixture)

UNAUTHORIZED = {
    "success": False,
    "error": {
        "code": "UNAUTHORIZED",
        "message": "A valid API key or bearer token is required",
        "details": {},
    },
}


@pytest.fixture(scope="module")
def idp_key() -> SigningKey:
    return rsa_key("rsa-1")


@pytest.fixture
async def key_server(aiohttp_server: Any, idp_key: SigningKey) -> tuple[KeyServer, str]:
    keys = KeyServer([idp_key, ec_key(), ed_key()])
    served = await aiohttp_server(keys.app())
    return keys, str(served.make_url("/jwks.json"))


@pytest.fixture
def keys_file(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A keys file holding a key of tenant a, one of tenant b, and one with the metrics scope."""
    made = {
        "a": api_keys.new_key("a"),
        "b": api_keys.new_key("b"),
        "metrics": api_keys.new_key("ops", ["metrics"]),
        "read_only": api_keys.new_key("a", ["read"]),
    }
    path = tmp_path / "keys.json"
    api_keys.write_file(path, {record.id: record for _, record in made.values()})
    return path, {name: key for name, (key, _) in made.items()}


def auth_settings(jwks_url: str, keys_path: Path, **more: Any) -> dict[str, Any]:
    return {
        "mode": "api_key,jwt",
        "jwks_url": jwks_url,
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "api_keys_file": str(keys_path),
        **more,
    }


@pytest.fixture
async def guarded(client_for: Any, happy: Any, key_server: Any, keys_file: Any) -> Any:
    """The orchestrator with both modes on, every service answering."""
    _, url = key_server
    return await client_for(auth=auth_settings(url, keys_file[0]))


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


async def backtest(client: Any, headers: dict[str, str], path: str = "/api/backtest") -> Any:
    return await client.post(path, json=fakes.backtest_request(), headers=headers)


async def assert_unauthorized(answer: Any) -> None:
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="orchestrator"'
    assert await answer.json() == UNAUTHORIZED


# --- valid credentials -------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [rsa_key, ec_key, ed_key], ids=["RS256", "ES256", "EdDSA"])
async def test_a_valid_token_of_each_algorithm_gets_200(client_for, happy, aiohttp_server, keys_file, make):
    key = make()
    served = await aiohttp_server(KeyServer([key]).app())
    client = await client_for(auth=auth_settings(str(served.make_url("/jwks.json")), keys_file[0]))
    assert (await backtest(client, bearer(key.mint()))).status == 200


async def test_a_valid_key_gets_200_as_a_bearer_and_as_x_api_key(guarded, keys_file):
    key = keys_file[1]["a"]
    assert (await backtest(guarded, bearer(key))).status == 200
    assert (await backtest(guarded, {"X-API-Key": key})).status == 200


# --- the twelve attacks ------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], claims: dict[str, Any], sign: Any = None) -> str:
    """A token put together by hand: PyJWT refuses to make these."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = sign(signing_input.encode()) if sign else b""
    return f"{signing_input}.{_b64(signature)}"


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["tenant"] = "b"
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def changed_character(key: str) -> str:
    last = key[-1]
    return key[:-1] + ("A" if last != "A" else "B")


def attacks(idp: SigningKey, keys: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each attack of the issue, as the headers it sends (the query string's is sent apart)."""
    return {
        "no credential": {},
        "signed by another key": bearer(SigningKey(rsa_key().private, idp.kid, "RS256").mint()),
        "alg none": bearer(forged({"alg": "none", "kid": idp.kid, "typ": "JWT"}, claims_of())),
        "HS256 with the public key's bytes": bearer(
            forged(
                {"alg": "HS256", "kid": idp.kid, "typ": "JWT"},
                claims_of(),
                lambda data: hmac.new(idp.public_pem(), data, hashlib.sha256).digest(),
            )
        ),
        "expired": bearer(idp.mint(exp=claims_of()["iat"] - 120, nbf=claims_of()["iat"] - 600)),
        "not yet valid": bearer(idp.mint(nbf=claims_of()["iat"] + 120, exp=claims_of()["iat"] + 600)),
        "wrong issuer": bearer(idp.mint(iss="https://evil.test/")),
        "wrong audience": bearer(idp.mint(aud="someone-else")),
        "tampered payload": bearer(tampered(idp.mint())),
        "revoked key": {"X-API-Key": keys["revoked"]},
        "a key with a character changed": {"X-API-Key": changed_character(keys["a"])},
    }


async def test_each_attack_gets_401_and_nothing_else(client_for, happy, key_server, keys_file, idp_key):
    path, keys = keys_file
    revoked, record = api_keys.new_key("a")
    kept = api_keys.read_file(path)
    api_keys.write_file(path, {**kept, record.id: record})
    _, url = key_server
    client = await client_for(auth=auth_settings(url, path))
    assert (await backtest(client, {"X-API-Key": revoked})).status == 200
    api_keys.write_file(path, kept)  # revoked: taken out of the file, which is read again
    await client.app[AUTHENTICATOR].keys.load()
    for attack, headers in attacks(idp_key, {**keys, "revoked": revoked}).items():
        answer = await backtest(client, headers)
        assert answer.status == 401, attack
        await assert_unauthorized(answer)
    assert len(attacks(idp_key, {**keys, "revoked": revoked})) == 11  # the twelfth: the query string


async def test_a_token_in_the_query_string_gets_401_even_beside_a_valid_header(guarded, idp_key):
    token = idp_key.mint()
    for name in ("access_token", "api_key", "token"):
        answer = await guarded.post(
            f"/api/backtest?{name}={token}", json=fakes.backtest_request(), headers=bearer(token)
        )
        await assert_unauthorized(answer)


async def test_a_token_without_the_tenant_claim_gets_401(guarded, idp_key):
    await assert_unauthorized(await backtest(guarded, bearer(idp_key.mint(tenant=None))))


async def test_a_token_without_exp_gets_401(guarded, idp_key):
    await assert_unauthorized(await backtest(guarded, bearer(idp_key.mint(exp=None))))


async def test_a_token_within_the_leeway_is_taken(guarded, idp_key):
    now = claims_of()["iat"]
    assert (await backtest(guarded, bearer(idp_key.mint(exp=now - 5, nbf=now - 60)))).status == 200


async def test_a_scheme_other_than_bearer_gets_401(guarded, keys_file):
    await assert_unauthorized(await backtest(guarded, {"Authorization": f"Basic {keys_file[1]['a']}"}))


async def test_with_only_api_keys_on_a_valid_token_gets_401(client_for, happy, keys_file, idp_key):
    client = await client_for(auth={"mode": "api_key", "api_keys_file": str(keys_file[0])})
    await assert_unauthorized(await backtest(client, bearer(idp_key.mint())))
    assert (await backtest(client, bearer(keys_file[1]["a"]))).status == 200


async def test_with_only_jwt_on_a_valid_key_gets_401(client_for, happy, key_server, keys_file, idp_key):
    _, url = key_server
    client = await client_for(auth={"mode": "jwt", "jwks_url": url, "issuer": ISSUER, "audience": AUDIENCE})
    await assert_unauthorized(await backtest(client, {"X-API-Key": keys_file[1]["a"]}))
    assert (await backtest(client, bearer(idp_key.mint()))).status == 200


# --- what stays open, and the scopes ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/health", "/ready", "/", "/api/docs", "/api/openapi.json"])
async def test_liveness_readiness_the_page_and_the_description_stay_open(guarded, path):
    assert (await guarded.get(path)).status == 200


async def test_the_page_s_static_files_stay_open(guarded):
    page = await (await guarded.get("/")).text()
    static = next(part.split('"')[0] for part in page.split('src="')[1:] if part.startswith("/static/"))
    assert (await guarded.get(static)).status == 200


async def test_a_cors_preflight_needs_no_credential(guarded):
    answer = await guarded.options(
        "/api/backtest",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert answer.status == 200
    assert "AUTHORIZATION" in answer.headers["Access-Control-Allow-Headers"].upper()


@pytest.mark.parametrize(
    "method, path", [("GET", "/api/tickers/search?q=A"), ("GET", "/api/health"), ("GET", "/api/nothing-here")]
)
async def test_every_api_route_needs_a_caller(guarded, method, path):
    await assert_unauthorized(await guarded.request(method, path))


async def test_metrics_needs_a_caller(guarded):
    await assert_unauthorized(await guarded.get("/metrics"))


async def test_metrics_without_the_metrics_scope_is_403(guarded, keys_file):
    answer = await guarded.get("/metrics", headers=bearer(keys_file[1]["a"]))
    assert (answer.status, (await answer.json())["error"]["code"]) == (403, "FORBIDDEN")


async def test_metrics_with_the_metrics_scope_is_200(guarded, keys_file):
    answer = await guarded.get("/metrics", headers=bearer(keys_file[1]["metrics"]))
    assert answer.status == 200
    assert "orchestrator_auth_requests_total" in await answer.text()


async def test_running_a_backtest_without_the_backtest_scope_is_403(guarded, keys_file):
    answer = await backtest(guarded, bearer(keys_file[1]["read_only"]))
    error = (await answer.json())["error"]
    assert (answer.status, error["code"], error["details"]) == (403, "FORBIDDEN", {"scope": "backtest"})


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_changing_anything_under_api_needs_the_backtest_scope(guarded, keys_file, method):
    """By method, not by route: a route added later is never open to a reader by mistake."""
    answer = await guarded.request(method, "/api/tickers/search", headers=bearer(keys_file[1]["read_only"]))
    assert (answer.status, (await answer.json())["error"]["details"]) == (403, {"scope": "backtest"})


async def test_reading_without_the_read_scope_is_403(guarded, keys_file):
    answer = await guarded.get("/api/tickers/search?q=A", headers=bearer(keys_file[1]["metrics"]))
    assert answer.status == 403


async def test_the_read_scope_reads(guarded, keys_file, happy):
    answer = await guarded.get("/api/health", headers=bearer(keys_file[1]["read_only"]))
    assert answer.status in (200, 503)  # the services' health, whatever it is: not refused


async def test_scopes_are_read_from_scp_as_a_list(guarded, idp_key):
    answer = await backtest(guarded, bearer(idp_key.mint(scope=None, scp=["backtest"])))
    assert answer.status == 200


async def test_a_token_without_scopes_is_403(guarded, idp_key):
    assert (await backtest(guarded, bearer(idp_key.mint(scope=None)))).status == 403


# --- mode none, and what is logged ---------------------------------------------------------------


async def test_with_mode_none_no_credential_is_needed(client, happy):
    answer = await backtest(client, {})
    assert answer.status == 200
    assert "RateLimit" not in answer.headers


def canonical(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] in ("backtest", "request") and "status" in entry]


async def test_the_log_line_names_the_tenant_and_key_id_never_the_key(guarded, keys_file):
    key = keys_file[1]["a"]
    with capture_logs() as logs:
        assert (await backtest(guarded, bearer(key))).status == 200
    [line] = canonical(logs)
    assert (line["tenant"], line["key_id"], line["auth"]) == ("a", key.split("_")[1], "api_key")
    assert key not in repr(logs)


async def test_a_refused_token_is_never_logged_only_why(guarded, idp_key):
    token = idp_key.mint(aud="someone-else")
    with capture_logs() as logs:
        await backtest(guarded, bearer(token))
    [line] = canonical(logs)
    assert line["auth_failure"] == "token:InvalidAudienceError"
    assert token not in repr(logs) and token.split(".")[2] not in repr(logs)


# --- the description -------------------------------------------------------------------------------


async def test_the_description_declares_the_schemes_on_and_the_routes_that_need_them(guarded):
    from openapi_spec_validator import OpenAPIV31SpecValidator

    document = await (await guarded.get("/api/openapi.json")).json()
    OpenAPIV31SpecValidator(document).validate()
    assert set(document["components"]["securitySchemes"]) == {"api_key", "jwt"}
    backtest_route = document["paths"]["/api/backtest"]["post"]
    assert backtest_route["security"] == [{"api_key": []}, {"jwt": []}]
    assert {"401", "403", "429"} <= set(backtest_route["responses"])
    assert "security" in document["paths"]["/metrics"]["get"]
    assert "security" not in document["paths"]["/health"]["get"]
    assert "security" not in document["paths"]["/api/openapi.json"]["get"]


async def test_with_mode_none_the_description_declares_no_scheme(client):
    document = await (await client.get("/api/openapi.json")).json()
    assert "securitySchemes" not in document["components"]
    assert "security" not in document["paths"]["/api/backtest"]["post"]


async def test_every_refusal_takes_at_least_the_floor_whatever_was_wrong(guarded, idp_key):
    """A malformed token is refused at once, a forged one after its signature: both wait for the
    floor, so that the time tells them apart no more than the body does."""
    forged_one = SigningKey(rsa_key().private, idp_key.kid, "RS256").mint()
    for headers in ({}, bearer("not-a-token"), bearer(forged_one), {"X-API-Key": "bto_nothing"}):
        began = time.perf_counter()
        await assert_unauthorized(await backtest(guarded, headers))
        assert time.perf_counter() - began >= FAILURE_FLOOR_S


async def test_the_span_carries_the_tenant_and_the_key_id_never_the_key(
    client_for,
    happy,
    key_server,
    keys_file,
    receiver,  # noqa: F811  (the fixture imported above)
):
    _, url = key_server
    client = await client_for(auth=auth_settings(url, keys_file[0]), tracing={"export": "otlp"})
    key = keys_file[1]["a"]
    answer = await backtest(client, bearer(key))
    _, span = await receiver.span_of(answer.headers["traceresponse"].split("-")[1])
    attributes = {item.key: item.value.string_value for item in span.attributes if item.value.string_value}
    assert (attributes["orchestrator.tenant"], attributes["orchestrator.key_id"]) == ("a", key.split("_")[1])
    assert attributes["orchestrator.auth"] == "api_key"
    assert key not in repr(span)


# --- jobs ---------------------------------------------------------------------------------------------


async def test_the_jobs_routes_need_a_caller(guarded):
    for method, path in (("GET", "/api/jobs"), ("POST", "/api/jobs"), ("DELETE", "/api/jobs/x")):
        await assert_unauthorized(await guarded.request(method, path))


async def test_making_or_cancelling_a_job_needs_the_backtest_scope(guarded, keys_file):
    reader = bearer(keys_file[1]["read_only"])
    for method, path in (("POST", "/api/jobs"), ("DELETE", "/api/jobs/x")):
        answer = await guarded.request(method, path, headers=reader)
        assert (answer.status, (await answer.json())["error"]["details"]) == (403, {"scope": "backtest"})
    assert (await guarded.get("/api/jobs", headers=reader)).status == 200
