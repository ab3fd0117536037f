"""From what a request sent to its caller: an API key, or a JWT, as ``AUTH__MODE`` allows.

Every failure is the same to the caller (401, one body); its reason is returned beside it for the
log line only, and the credential itself never leaves this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.auth.api_keys import KeyStore, looks_like_a_key
from orchestrator.auth.caller import Caller
from orchestrator.auth.config import AuthConfig
from orchestrator.auth.tokens import InvalidToken, Verifier

#: Query parameters that would carry a credential in a URL (which proxies and browsers log): a
#: request with one is refused, whatever its headers hold.
QUERY_CREDENTIALS = frozenset({"access_token", "api_key", "apikey", "key", "token", "jwt", "id_token"})


@dataclass(frozen=True, slots=True)
class Identified:
    """The caller, or why there is none (for the log line: ``missing``, ``in_query``, ...)."""

    caller: Caller | None
    reason: str = ""
    via: str = "none"


class Authenticator:
    """The modes on, with their key store and token verifier."""

    def __init__(self, config: AuthConfig, keys: KeyStore | None, verifier: Verifier | None) -> None:
        self.config, self.keys, self.verifier = config, keys, verifier

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    async def identify(
        self, authorization: str | None, api_key: str | None, query: frozenset[str] = frozenset()
    ) -> Identified:
        if query & QUERY_CREDENTIALS:
            return Identified(None, "in_query")
        if api_key is not None:
            return self._key(api_key.strip())
        if authorization is None:
            return Identified(None, "missing")
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            return Identified(None, "not_bearer")
        if looks_like_a_key(credential):
            return self._key(credential)
        return await self._token(credential)

    def _key(self, key: str) -> Identified:
        if self.keys is None:
            return Identified(None, "api_key_off", "api_key")
        caller = self.keys.check(key)
        return Identified(caller, "" if caller else "unknown_key", "api_key")

    async def _token(self, token: str) -> Identified:
        if self.verifier is None:
            return Identified(None, "jwt_off", "jwt")
        try:
            return Identified(await self.verifier.verify(token), via="jwt")
        except InvalidToken as error:
            return Identified(None, f"token:{error}", "jwt")
