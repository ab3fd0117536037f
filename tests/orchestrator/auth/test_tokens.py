"""JWTs (``auth/tokens.py``): the algorithm from the key, the keys fetched from a JWKS on loopback
or a file, and an unknown kid fetching them again at most once per interval."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from orchestrator.auth.config import AuthConfig
from orchestrator.auth.tokens import RETRY_FAILED_S, InvalidToken, Verifier, keys_of
from tests.orchestrator.auth.minting import AUDIENCE, ISSUER, KeyServer, ec_key, ed_key, rsa_key


def config(**more) -> AuthConfig:
    return AuthConfig(mode=("jwt",), issuer=ISSUER, audience=AUDIENCE, **more)


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as opened:
        yield opened


def test_only_asymmetric_keys_of_the_three_algorithms_are_taken():
    rsa, ec, ed = rsa_key("r"), ec_key("e"), ed_key("d")
    document = {
        "keys": [
            rsa.jwk,
            ec.jwk,
            ed.jwk,
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},  # symmetric: never
            {**rsa.jwk, "kid": "says-hs256", "alg": "HS256"},  # an alg its type is not for
            {**ec.jwk, "kid": "p384", "crv": "P-384"},  # a curve not taken
            {**rsa.jwk, "kid": "for-encryption", "use": "enc"},
            "not a key",
        ]
    }
    keys = keys_of(document)
    algorithms = {kid: key.algorithm_name for kid, key in keys.items()}
    assert algorithms == {"r": "RS256", "e": "ES256", "d": "EdDSA"}


def test_a_document_without_a_list_of_keys_has_none():
    assert keys_of({"keys": "nope"}) == {} and keys_of({}) == {}


async def test_keys_are_read_from_a_file(tmp_path):
    key = ec_key()
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(KeyServer([key]).document()))
    caller = await Verifier(config(jwks_file=path)).verify(key.mint(tenant="desk", scope="read"))
    assert (caller.tenant, caller.scopes, caller.key_id, caller.subject) == (
        "desk",
        frozenset({"read"}),
        key.kid,
        "someone",
    )


async def test_the_tenant_is_read_from_the_claim_named(tmp_path):
    key = rsa_key()
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(KeyServer([key]).document()))
    verifier = Verifier(config(jwks_file=path, tenant_claim="org"))
    assert (await verifier.verify(key.mint(org="desk"))).tenant == "desk"


async def test_a_token_of_an_algorithm_its_key_is_not_for_is_refused(aiohttp_server, session):
    """An RS256 token whose kid names an EC key: verified as ES256 only, so refused."""
    rsa, ec = rsa_key("rsa"), ec_key("ec")
    served = await aiohttp_server(KeyServer([rsa, ec]).app())
    verifier = Verifier(config(jwks_url=str(served.make_url("/jwks.json"))), session)
    token = rsa.mint(headers={"kid": "ec"})
    with pytest.raises(InvalidToken):
        await verifier.verify(token)


async def test_an_unknown_kid_fetches_the_keys_again_once_per_interval(aiohttp_server, session):
    known = rsa_key("known")
    server = KeyServer([known])
    served = await aiohttp_server(server.app())
    now = [0.0]
    verifier = Verifier(
        config(jwks_url=str(served.make_url("/jwks.json")), jwks_refresh_s=60), session, clock=lambda: now[0]
    )
    await verifier.verify(known.mint())
    assert server.fetches == 1
    forged = [rsa_key(f"forged-{n}").mint() for n in range(50)]
    now[0] = 61.0  # the interval has passed: one fetch, then none for the next 60 s
    results = await asyncio.gather(*(verifier.verify(token) for token in forged), return_exceptions=True)
    assert all(isinstance(result, InvalidToken) for result in results)
    assert server.fetches == 2


async def test_a_new_key_is_found_by_the_fetch_its_kid_makes(aiohttp_server, session):
    old, new = rsa_key("old"), rsa_key("new")
    server = KeyServer([old])
    served = await aiohttp_server(server.app())
    now = [0.0]
    verifier = Verifier(
        config(jwks_url=str(served.make_url("/jwks.json")), jwks_refresh_s=60), session, clock=lambda: now[0]
    )
    await verifier.verify(old.mint())
    server.keys.append(new)  # the provider rotates
    now[0] = 60.0
    assert (await verifier.verify(new.mint())).key_id == "new"


async def test_a_key_server_away_keeps_the_keys_there_were(aiohttp_server, session):
    key = rsa_key()
    server = KeyServer([key])
    served = await aiohttp_server(server.app())
    now = [0.0]
    verifier = Verifier(
        config(jwks_url=str(served.make_url("/jwks.json")), jwks_refresh_s=60), session, clock=lambda: now[0]
    )
    await verifier.verify(key.mint())
    await served.close()
    now[0] = 120.0
    assert (await verifier.verify(key.mint())).tenant == "a"


@pytest.mark.parametrize("token", ["", "not.a.token", "a.b", "eyJhbGciOiJSUzI1NiJ9..."])
async def test_a_malformed_token_is_refused(tmp_path, token):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(KeyServer([rsa_key()]).document()))
    with pytest.raises(InvalidToken):
        await Verifier(config(jwks_file=path)).verify(token)


async def test_a_key_server_away_at_start_is_asked_again_sooner_than_the_interval(aiohttp_server, session):
    key = rsa_key()
    server = KeyServer([key], down=True)  # away when the orchestrator starts
    served = await aiohttp_server(server.app())
    now = [0.0]
    verifier = Verifier(
        config(jwks_url=str(served.make_url("/jwks.json")), jwks_refresh_s=300), session, clock=lambda: now[0]
    )
    await verifier.refresh()
    server.down = False
    with pytest.raises(InvalidToken):  # not asked again within RETRY_FAILED_S
        await verifier.verify(key.mint())
    now[0] = RETRY_FAILED_S
    assert (await verifier.verify(key.mint())).tenant == "a"
    assert server.fetches == 2
