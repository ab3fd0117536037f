"""JWT bearer tokens, verified with PyJWT against the identity provider's keys (a JWKS).

The algorithm comes from the key, never from the token: each key of the JWKS is taken only if its
type says RS256 (RSA), ES256 (EC P-256) or EdDSA (OKP Ed25519), and its own ``alg``, when it has
one, agrees; a token is then verified with that key's algorithm alone, so ``alg: none``, an HS256
token signed with the public key's bytes, or any algorithm the key was not made for, fail.

The keys come from ``AUTH__JWKS_URL`` (fetched with aiohttp: the loop never blocks) or
``AUTH__JWKS_FILE`` (read in a thread). A ``kid`` we do not know fetches them again, at most once
per ``AUTH__JWKS_REFRESH_S`` (one fetch at a time, the others waiting for it), so a stream of
forged kids cannot make us hammer the key server; after a failed fetch, at most once per
``RETRY_FAILED_S``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import orjson
import structlog

from orchestrator.auth.caller import Caller, scopes_of
from orchestrator.auth.config import AuthConfig

log = structlog.get_logger("orchestrator.auth")

#: The algorithm each kind of key is for: the only ones taken.
ALGORITHMS: dict[tuple[object, object], str] = {
    ("RSA", None): "RS256",
    ("EC", "P-256"): "ES256",
    ("OKP", "Ed25519"): "EdDSA",
}
#: The most a JWKS document may hold, and the time its fetch may take.
MAX_JWKS_BYTES = 256 * 1024
FETCH_TIMEOUT_S = 5.0
#: After a failed fetch, the next may come this soon (or at the refresh interval, if sooner): a key
#: server away at start-up does not leave every token refused for the whole interval.
RETRY_FAILED_S = 5.0


class InvalidToken(Exception):
    """Any reason a token is not taken: the caller is told nothing more (its reason is logged)."""


def keys_of(document: Mapping[str, Any]) -> dict[str | None, jwt.PyJWK]:
    """The signing keys of a JWKS document we take, by ``kid``; any other key left out."""
    keys: dict[str | None, jwt.PyJWK] = {}
    for data in document.get("keys", []) if isinstance(document.get("keys"), list) else []:
        if not isinstance(data, dict) or data.get("use", "sig") != "sig":
            continue
        algorithm = ALGORITHMS.get((data.get("kty"), data.get("crv") if data.get("kty") != "RSA" else None))
        if algorithm is None or data.get("alg", algorithm) != algorithm:
            continue
        try:
            keys[data.get("kid")] = jwt.PyJWK.from_dict(data, algorithm)
        except jwt.PyJWKError:
            continue
    return keys


class Verifier:
    """Checks a bearer token and names its caller."""

    def __init__(
        self,
        config: AuthConfig,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config, self.session, self.clock = config, session, clock
        self.keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._failed = False
        self._fetching: asyncio.Lock = asyncio.Lock()
        #: How many times the keys were fetched (what the refresh limit bounds).
        self.fetches = 0

    async def verify(self, token: str) -> Caller:
        """The token's caller, or InvalidToken."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken("malformed") from error
        key = await self._key(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm_name],
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=self.config.leeway_s,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(type(error).__name__) from error
        tenant = claims.get(self.config.tenant_claim)
        if not isinstance(tenant, str) or not tenant:
            raise InvalidToken("no tenant")
        subject = claims.get("sub")
        return Caller(
            tenant,
            scopes_of(claims),
            "jwt",
            key_id=header.get("kid"),
            subject=subject if isinstance(subject, str) else None,
        )

    async def _key(self, kid: object) -> jwt.PyJWK:
        if not isinstance(kid, str | None):
            raise InvalidToken("kid")
        if self._due():
            await self.refresh()
        key = self._find(kid)
        if key is None and await self.refresh(only_if_due=True):
            key = self._find(kid)
        if key is None:
            raise InvalidToken("unknown kid")
        return key

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None and len(self.keys) == 1:
            return next(iter(self.keys.values()))  # a provider with one key may leave kid out
        return self.keys.get(kid)

    async def refresh(self, only_if_due: bool = False) -> bool:
        """Fetch the keys again (with ``only_if_due``: unless fetched within the refresh interval).
        Whether a fetch was made; a failed one keeps the keys there were."""
        async with self._fetching:
            if only_if_due and not self._due():
                return False
            self._fetched_at = self.clock()
            self.fetches += 1
            try:
                document = await self._fetch()
            except Exception as error:  # the provider away: the keys we had still verify
                log.warning("jwks unreadable; the keys read before are kept", error=type(error).__name__)
                self._failed = True
                return True
            self._failed = False
            self.keys = keys_of(document)
            log.info("jwks read", keys=len(self.keys))
            return True

    def _due(self) -> bool:
        """Whether the keys may be fetched again: never fetched, or the interval passed since."""
        if self._fetched_at is None:
            return True
        interval = self.config.jwks_refresh_s
        return self.clock() - self._fetched_at >= (
            min(interval, RETRY_FAILED_S) if self._failed else interval
        )

    async def _fetch(self) -> Mapping[str, Any]:
        if self.config.jwks_file is not None:
            return _parse(await asyncio.to_thread(Path(self.config.jwks_file).read_bytes))
        if self.session is None:
            raise RuntimeError("a JWKS URL needs a session")
        timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
        async with self.session.get(str(self.config.jwks_url), timeout=timeout) as answer:
            answer.raise_for_status()
            return _parse(await answer.content.read(MAX_JWKS_BYTES + 1))


def _parse(body: bytes) -> Mapping[str, Any]:
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError("JWKS too large")
    document = orjson.loads(body)
    if not isinstance(document, dict):
        raise ValueError("JWKS not an object")
    return document
