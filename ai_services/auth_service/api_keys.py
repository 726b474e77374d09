"""API keys for integrations: shown once, stored as a hash, scoped, revocable.

A key reads `lk_<prefix>_<secret>`. The prefix is kept in clear so that people can tell their
keys apart in a list; the whole key is stored only as its SHA-256 (it has 256 bits of entropy,
so a slow hash adds nothing). An integration exchanges its key for a short-lived access token at
`POST /api/v1/auth/token` (grant_type=api_key); that token never holds more than the key's scopes
and its owner's current role.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ai_services.auth_service import audit
from ai_services.auth_service.sessions import end_sessions_cutoff, new_id, token_hash
from ai_services.auth_service.tables import api_keys
from shared.utils.time import rfc3339
from shared.service.auth.principal import Principal
from shared.service.problems import Problem
from shared.service.tenancy import not_found

if TYPE_CHECKING:
    from ai_services.auth_service.app import AuthContext


def key_view(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "org_id": row["org_id"], "owner_id": row["owner_id"], "name": row["name"],
            "prefix": row["prefix"], "permissions": list(row["permissions"]),
            "created_at": rfc3339(row["created_at"]), "expires_at": rfc3339(row["expires_at"]),
            "revoked_at": rfc3339(row["revoked_at"]), "last_used_at": rfc3339(row["last_used_at"])}


async def create_key(ctx: AuthContext, actor: Principal, name: str, permissions: list[str],
                     expires_in_days: int | None, ip: str | None) -> dict[str, Any]:
    beyond = sorted(set(permissions) - actor.permissions)
    if beyond:
        raise Problem(403, f"a key cannot hold permissions you do not have: {', '.join(beyond)}",
                      slug="permission-denied")
    if actor.kind != "user":
        raise Problem(403, "API keys are created by people, not by other keys or services", slug="permission-denied")
    prefix = secrets.token_hex(4)
    key = f"lk_{prefix}_{secrets.token_urlsafe(32)}"
    now = time.time()
    row = {"id": new_id(), "org_id": actor.org_id, "owner_id": actor.subject, "name": name, "prefix": prefix,
           "key_hash": token_hash(key), "permissions": permissions, "created_at": now,
           "expires_at": now + expires_in_days * 86400 if expires_in_days else None, "revoked_at": None,
           "last_used_at": None}
    async with ctx.store.relational.write() as conn:
        await conn.execute(api_keys.insert().values(**row))
        await audit.record(conn, "api_key.create", org_id=actor.org_id, actor=actor.subject, target=row["id"], ip=ip,
                           permissions=permissions)
    return {**key_view(row), "key": key}


async def list_keys(ctx: AuthContext, actor: Principal) -> dict[str, Any]:
    async with ctx.store.relational.read() as conn:
        rows = (await conn.execute(sa.select(api_keys).where(api_keys.c.org_id == actor.org_id)
                                   .order_by(api_keys.c.created_at.desc()).limit(200))).mappings().all()
    return {"items": [key_view(r) for r in rows], "total": len(rows), "next_cursor": None}


async def revoke_key(ctx: AuthContext, actor: Principal, key_id: str, ip: str | None) -> None:
    async with ctx.store.relational.write() as conn:
        result = await conn.execute(api_keys.update().where(api_keys.c.id == key_id, api_keys.c.org_id == actor.org_id,
                                                            api_keys.c.revoked_at.is_(None))
                                    .values(revoked_at=time.time()))
        if result.rowcount != 1:
            raise not_found("api_key", key_id)
        await audit.record(conn, "api_key.revoke", org_id=actor.org_id, actor=actor.subject, target=key_id, ip=ip)
    await end_sessions_cutoff(ctx, key_id)
