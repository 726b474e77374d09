"""Signing test tokens with a key of the test's own, and pointing a service's verifier at it."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm

from shared.service.auth.permissions import permissions_for
from shared.service.auth.verifier import ACCESS_TOKEN_TYPE

ISSUER = "looma"
AUDIENCE = "looma-api"


class TestIssuer:
    """An Ed25519 key, its JWKS, and tokens signed with it, shaped as the auth service shapes them."""

    __test__ = False  # not a pytest class

    def __init__(self, kid: str = "test-key") -> None:
        self.kid = kid
        self.private = ed25519.Ed25519PrivateKey.generate()
        jwk = OKPAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        jwk.update({"kid": kid, "alg": "EdDSA", "use": "sig"})
        self.jwk = jwk

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk]}

    def claims(self, *, role: str = "admin", org: str | None = "org-a", subject: str | None = None,
               kind: str = "user", ttl: float = 900, permissions: list[str] | None = None,
               **overrides: Any) -> dict[str, Any]:
        now = time.time()
        claims: dict[str, Any] = {
            "iss": ISSUER, "aud": AUDIENCE, "sub": subject or str(uuid.uuid4()), "iat": round(now, 3),
            "nbf": round(now, 3), "exp": int(now + ttl), "jti": uuid.uuid4().hex, "kind": kind,
            "perms": sorted(permissions if permissions is not None else permissions_for(role)), "role": role,
        }
        if org is not None:
            claims["org"] = org
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        header = {"kid": self.kid, "typ": ACCESS_TOKEN_TYPE, **(headers or {})}
        return jwt.encode(claims, self.private, algorithm="EdDSA", headers=header)

    def token(self, **claims: Any) -> str:
        return self.sign(self.claims(**claims))

    def service_token(self, permissions: list[str]) -> str:
        return self.sign(self.claims(kind="service", org=None, role=None, subject="test-service",
                                     permissions=permissions))

    def install(self, app: Any) -> None:
        """Make `app`'s verifier trust this issuer's key (call after create_app, before requests)."""
        async def source() -> dict[str, Any]:
            return self.jwks()

        app.ctx.verifier.jwks_source = source


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class AuthorizedClient:
    """An ASGI test client that sends `token` on every request unless the test passes its own headers."""

    def __init__(self, client: Any, token: str) -> None:
        self._client, self.token = client, token

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name not in ("get", "post", "put", "patch", "delete", "head", "options", "request"):
            return method

        async def call(*args: Any, headers: Any = None, **kwargs: Any) -> Any:
            mine = ("Authorization", f"Bearer {self.token}")
            if isinstance(headers, list):
                merged: Any = headers if any(k.lower() == "authorization" for k, _ in headers) else [mine, *headers]
            else:
                merged = {mine[0]: mine[1], **(headers or {})}
            return await method(*args, headers=merged, **kwargs)

        return call
