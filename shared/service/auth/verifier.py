"""Verifying access tokens locally: no call to the auth service per request (RFC 8725 checks).

A token is accepted only if its header names an allowed asymmetric algorithm and a `kid` found in
the JWKS (refreshed, at most every `refresh_interval` seconds, when an unknown kid turns up), its
signature holds with that key, `iss`, `aud`, `exp`, `nbf` and `iat` hold with a small leeway, and
the denylist does not void it. Tokens already verified are kept in a small LRU for a short while;
a hit costs a dictionary lookup and the in-memory denylist check.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from jwt import PyJWK

from shared.service.auth.denylist import Denylist
from shared.service.auth.principal import Principal

ALLOWED_ALGORITHMS = frozenset({"EdDSA", "RS256"})
ACCESS_TOKEN_TYPE = "at+jwt"  # RFC 9068: an access token, not some other JWT signed by the same keys
JwksSource = Callable[[], Awaitable[dict[str, Any]]]


class TokenRejected(Exception):
    """The token is not acceptable; `reason` is safe to show the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeysUnavailable(Exception):
    """The JWKS could not be fetched, so no token can be checked right now."""


class TokenVerifier:
    def __init__(self, *, issuer: str, audience: str, jwks: JwksSource | None, denylist: Denylist,
                 leeway: float = 30.0, lru_size: int = 4096, lru_max_age: float = 60.0,
                 refresh_interval: float = 5.0, jwks_max_age: float = 600.0) -> None:
        self.issuer, self.audience, self.jwks_source = issuer, audience, jwks
        self.denylist, self.leeway = denylist, leeway
        self._lru: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._lru_size, self._lru_max_age = lru_size, lru_max_age
        self._keys: dict[str, PyJWK] = {}
        self._keys_at = 0.0
        self._last_refresh = float("-inf")
        self._refresh_interval, self._jwks_max_age = refresh_interval, jwks_max_age
        self._refresh_lock = asyncio.Lock()

    async def verify(self, token: str) -> Principal:
        now = time.time()
        cached = self._lru.get(token)
        if cached is not None:
            principal, verified_at = cached
            if principal.expires_at + self.leeway > now and now - verified_at < self._lru_max_age:
                if self.denylist.denies(principal.token_id, _subjects(principal), principal.issued_at):
                    self._lru.pop(token, None)
                    raise TokenRejected("the token has been revoked")
                self._lru.move_to_end(token)
                return principal
            self._lru.pop(token, None)
        principal = await self._verify_cold(token)
        self._lru[token] = (principal, now)
        if len(self._lru) > self._lru_size:
            self._lru.popitem(last=False)
        return principal

    def forget_cached(self) -> None:
        self._lru.clear()

    def forget_keys(self) -> None:
        """Fetch the JWKS at the next unknown kid, however recent the last fetch: a rotation was announced."""
        self._last_refresh = float("-inf")

    async def _verify_cold(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:  # undecodable, or a header PyJWT refuses (a kid that is not a string)
            raise TokenRejected("the token is malformed") from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in ALLOWED_ALGORITHMS:
            raise TokenRejected("the token's signing algorithm is not accepted")
        if header.get("typ") != ACCESS_TOKEN_TYPE:
            raise TokenRejected("the token is not an access token")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("the token names no signing key")
        key = await self._key(kid)
        if key is None:
            raise TokenRejected("the token's signing key is unknown")
        if key.algorithm_name != algorithm:
            raise TokenRejected("the token's algorithm does not match its key")
        try:
            claims = jwt.decode(
                token, key.key, algorithms=[algorithm], audience=self.audience, issuer=self.issuer,
                leeway=self.leeway, options={"require": ["exp", "iat", "sub", "jti", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("the token is meant for another audience") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("the token comes from an unknown issuer") from None
        except jwt.MissingRequiredClaimError as error:
            raise TokenRejected(f"the token lacks the {error.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("the token's signature does not verify") from None
        except jwt.InvalidTokenError:
            raise TokenRejected("the token is invalid") from None
        try:
            principal = Principal.from_claims(claims)
        except (ValueError, KeyError, TypeError):
            raise TokenRejected("the token's claims are malformed") from None
        if await self.denylist.denies_fresh(principal.token_id, _subjects(principal), principal.issued_at):
            raise TokenRejected("the token has been revoked")
        return principal

    async def _key(self, kid: str) -> PyJWK | None:
        stale = time.monotonic() - self._keys_at > self._jwks_max_age
        if kid in self._keys and not stale:
            return self._keys[kid]
        async with self._refresh_lock:
            if kid in self._keys and time.monotonic() - self._keys_at <= self._jwks_max_age:
                return self._keys[kid]
            if not self._keys or time.monotonic() - self._last_refresh >= self._refresh_interval:
                await self._refresh()
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        self._last_refresh = time.monotonic()
        if self.jwks_source is None:
            raise KeysUnavailable("no JWKS source is configured")
        try:
            document = await self.jwks_source()
        except Exception as error:
            if self._keys:
                return  # keep verifying with the keys we have
            raise KeysUnavailable(str(error) or type(error).__name__) from error
        self._keys = parse_jwks(document)
        self._keys_at = time.monotonic()


def parse_jwks(document: dict[str, Any]) -> dict[str, PyJWK]:
    """The usable keys of a JWKS by kid: allowed algorithms only, anything else ignored."""
    keys: dict[str, PyJWK] = {}
    for entry in document.get("keys", []):
        if not isinstance(entry, dict) or entry.get("alg") not in ALLOWED_ALGORITHMS or not entry.get("kid"):
            continue
        try:
            keys[str(entry["kid"])] = PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue
    return keys


def _subjects(principal: Principal) -> tuple[str, ...]:
    return (principal.subject, principal.owner) if principal.owner else (principal.subject,)
