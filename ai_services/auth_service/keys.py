"""Signing keys: created on first start, rotated with an overlap window, published as a JWKS.

The newest unretired key signs. A retired key stays in the JWKS until every token it signed has
expired (`publish_until` = retirement + access-token lifetime + leeway), so rotation never logs
anyone out. `looma auth rotate-keys` rotates; running auth processes hear of it on the cache's
`auth.keys` channel and reload, and verifiers fetch the JWKS again on the first unknown `kid`.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from ai_services.auth_service.tables import signing_keys
from shared.database import UnifiedDataAccess
from shared.service.auth.verifier import ACCESS_TOKEN_TYPE

KEYS_CHANNEL = "auth.keys"
RELOAD_EVERY = 60.0


@dataclass(frozen=True)
class Signer:
    kid: str
    algorithm: str
    key: Any


def new_key_row(algorithm: str, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    kid = f"{datetime.fromtimestamp(now, UTC):%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
    if algorithm == "EdDSA":
        private: Any = ed25519.Ed25519PrivateKey.generate()
        jwk = OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    elif algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        raise ValueError(f"unsupported signing algorithm {algorithm!r}")
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    jwk.update({"kid": kid, "alg": algorithm, "use": "sig"})
    return {"kid": kid, "algorithm": algorithm, "private_pem": pem, "public_jwk": jwk, "created_at": now,
            "retired_at": None, "publish_until": None}


async def ensure_signing_key(data: UnifiedDataAccess, algorithm: str) -> bool:
    """Create the first signing key if there is none; True when this call created it."""
    async with data.cache.lock("auth-signing-keys", ttl=30, wait=30):
        async with data.relational.write() as conn:
            active = (await conn.execute(sa.select(signing_keys.c.kid).where(signing_keys.c.retired_at.is_(None))
                                         .limit(1))).first()
            if active is not None:
                return False
            await conn.execute(signing_keys.insert().values(**new_key_row(algorithm)))
            return True


async def rotate_signing_key(data: UnifiedDataAccess, algorithm: str, overlap: float) -> str:
    """Start signing with a new key; older ones stay published for `overlap` seconds. The new kid."""
    now = time.time()
    row = new_key_row(algorithm, now)
    async with data.cache.lock("auth-signing-keys", ttl=30, wait=30):
        async with data.relational.write() as conn:
            await conn.execute(signing_keys.update().where(signing_keys.c.retired_at.is_(None))
                               .values(retired_at=now, publish_until=now + overlap))
            await conn.execute(signing_keys.insert().values(**row))
            await conn.execute(signing_keys.delete().where(signing_keys.c.publish_until < now))
    await data.cache.publish(KEYS_CHANNEL, row["kid"].encode())
    return str(row["kid"])


class KeyRing:
    """This process's view of the signing keys: the signer and the published JWKS."""

    def __init__(self) -> None:
        self.signer: Signer | None = None
        self.jwks: dict[str, Any] = {"keys": []}
        self.loaded_at = float("-inf")

    async def load(self, data: UnifiedDataAccess) -> None:
        now = time.time()
        async with data.relational.read() as conn:
            rows = (await conn.execute(
                sa.select(signing_keys).where(sa.or_(signing_keys.c.retired_at.is_(None),
                                                     signing_keys.c.publish_until > now))
                .order_by(signing_keys.c.created_at.desc())
            )).mappings().all()
        active = next((r for r in rows if r["retired_at"] is None), None)
        if active is not None and (self.signer is None or self.signer.kid != active["kid"]):
            key = serialization.load_pem_private_key(active["private_pem"].encode(), password=None)
            self.signer = Signer(active["kid"], active["algorithm"], key)
        self.jwks = {"keys": [dict(r["public_jwk"]) for r in rows]}
        self.loaded_at = time.monotonic()

    def stale(self) -> bool:
        return time.monotonic() - self.loaded_at > RELOAD_EVERY

    def sign(self, claims: dict[str, Any]) -> str:
        if self.signer is None:
            raise RuntimeError("no signing key is loaded")
        return jwt.encode(claims, self.signer.key, algorithm=self.signer.algorithm,
                          headers={"kid": self.signer.kid, "typ": ACCESS_TOKEN_TYPE})
