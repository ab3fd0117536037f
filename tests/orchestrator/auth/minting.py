"""Keys and tokens made in the tests: an identity provider's signing keys, its JWKS served on
loopback by aiohttp, and tokens minted with PyJWT (cryptography through PyJWT[crypto])."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ISSUER = "https://idp.test/"
AUDIENCE = "backtest-orchestrator"


@dataclass
class SigningKey:
    """A private key, its kid and algorithm, and the public half as a JWK."""

    private: Any
    kid: str
    algorithm: str

    @property
    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        data = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**data, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def mint(self, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        return jwt.encode(
            claims_of(**claims), self.private, self.algorithm, headers={"kid": self.kid, **(headers or {})}
        )


def rsa_key(kid: str = "rsa-1") -> SigningKey:
    return SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=2048), kid, "RS256")


def ec_key(kid: str = "ec-1") -> SigningKey:
    return SigningKey(ec.generate_private_key(ec.SECP256R1()), kid, "ES256")


def ed_key(kid: str = "ed-1") -> SigningKey:
    return SigningKey(ed25519.Ed25519PrivateKey.generate(), kid, "EdDSA")


def claims_of(**claims: Any) -> dict[str, Any]:
    """A valid token's claims for tenant ``a``, with ``claims`` over them (None removes one)."""
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "someone",
        "tenant": "a",
        "scope": "backtest read",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    return {name: value for name, value in {**base, **claims}.items() if value is not None}


@dataclass
class KeyServer:
    """A JWKS on loopback, counting how often it was fetched."""

    keys: list[SigningKey]
    fetches: int = 0
    extra: list[dict[str, Any]] = field(default_factory=list)
    #: Answer 503 instead of the keys.
    down: bool = False

    def document(self) -> dict[str, Any]:
        return {"keys": [key.jwk for key in self.keys] + self.extra}

    def app(self) -> web.Application:
        async def jwks(_request: web.Request) -> web.Response:
            self.fetches += 1
            if self.down:
                return web.json_response({"error": "down"}, status=503)
            return web.json_response(self.document())

        app = web.Application()
        app.router.add_get("/jwks.json", jwks)
        return app
