"""Signing in and staying signed in: login, refresh-token rotation, logout and token grants.

Refresh tokens are opaque random strings, stored as SHA-256 hashes. Each login starts a family;
every refresh spends the presented token and issues the next one in the family. Presenting a
spent token again means it was copied: the whole family is revoked, and the user's access tokens
are cut off, so neither the thief nor the victim keeps a session from it.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ai_services.auth_service import audit
from ai_services.auth_service.passwords import hash_password_async, needs_rehash, verify_password_async
from ai_services.auth_service.tables import api_keys, refresh_tokens, service_clients, users
from ai_services.auth_service.throttle import LoginThrottle, Throttled
from shared.service.auth.permissions import permissions_for
from shared.service.problems import Problem

if TYPE_CHECKING:
    from ai_services.auth_service.app import AuthContext


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_id() -> str:
    return str(uuid.uuid4())


async def sign_access(ctx: AuthContext, *, subject: str, kind: str, org_id: str | None, role: str | None,
                      permissions: frozenset[str] | list[str], owner: str | None = None) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds."""
    if ctx.keys.stale():
        await ctx.keys.load(ctx.store)
    settings, now = ctx.settings, time.time()
    claims: dict[str, Any] = {
        "iss": settings.auth_issuer, "aud": settings.auth_audience, "sub": subject,
        "iat": round(now, 3), "nbf": round(now, 3), "exp": int(now) + settings.access_token_ttl,
        "jti": uuid.uuid4().hex, "kind": kind, "perms": sorted(permissions),
    }
    if org_id is not None:
        claims["org"] = org_id
    if role is not None:
        claims["role"] = role
    if owner is not None:
        claims["owner"] = owner
    return ctx.keys.sign(claims), settings.access_token_ttl


async def _user_tokens(ctx: AuthContext, conn: Any, user: Any, family_id: str | None = None) -> dict[str, Any]:
    access, ttl = await sign_access(ctx, subject=user["id"], kind="user", org_id=user["org_id"], role=user["role"],
                                    permissions=permissions_for(user["role"]))
    refresh = secrets.token_urlsafe(32)
    now = time.time()
    await conn.execute(refresh_tokens.insert().values(
        id=new_id(), family_id=family_id or new_id(), user_id=user["id"], token_hash=token_hash(refresh),
        issued_at=now, expires_at=now + ctx.settings.refresh_token_ttl))
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": ttl}


def _throttle(ctx: AuthContext) -> LoginThrottle:
    s = ctx.settings
    return LoginThrottle(ctx.store.cache, s.login_attempts_per_account, s.login_attempts_per_ip, s.login_window)


def too_many(throttled: Throttled) -> Problem:
    return Problem(429, f"too many failed sign-ins for this {throttled.scope}; try again in {throttled.retry_after}s",
                   slug="too-many-attempts", headers={"Retry-After": str(throttled.retry_after)})


INVALID_CREDENTIALS = "the email address or the password is wrong"


async def login(ctx: AuthContext, email: str, password: str, ip: str | None) -> dict[str, Any]:
    throttle = _throttle(ctx)
    try:
        await throttle.attempt(email, ip)
    except Throttled as throttled:
        raise too_many(throttled) from None
    async with ctx.store.relational.read() as conn:
        user = (await conn.execute(sa.select(users).where(users.c.email == email, users.c.deleted_at.is_(None))
                                   )).mappings().first()
    if not await verify_password_async(user["password_hash"] if user else None, password):
        async with ctx.store.relational.write() as conn:
            await audit.record(conn, "login", outcome="failure", org_id=user["org_id"] if user else None,
                               actor=user["id"] if user else audit.email_fingerprint(email), ip=ip)
        raise Problem(401, INVALID_CREDENTIALS, slug="invalid-credentials", title="Unauthorized")
    assert user is not None
    if user["status"] != "active":
        async with ctx.store.relational.write() as conn:
            await audit.record(conn, "login", outcome="denied", org_id=user["org_id"], actor=user["id"], ip=ip,
                               reason="account disabled")
        raise Problem(403, "this account is disabled; ask an administrator of your organisation",
                      slug="account-disabled")
    await throttle.succeeded(email, ip)
    rehashed = await hash_password_async(password) if needs_rehash(user["password_hash"]) else None
    async with ctx.store.relational.write() as conn:
        if rehashed is not None:
            await conn.execute(users.update().where(users.c.id == user["id"]).values(password_hash=rehashed))
        tokens = await _user_tokens(ctx, conn, user)
        await audit.record(conn, "login", org_id=user["org_id"], actor=user["id"], ip=ip)
    return tokens


async def refresh(ctx: AuthContext, presented: str, ip: str | None) -> dict[str, Any]:
    now = time.time()
    reused: Any = None
    async with ctx.store.relational.write() as conn:
        row = (await conn.execute(sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash(presented))
                                  )).mappings().first()
        if row is None or row["expires_at"] <= now:
            raise Problem(401, "the refresh token is unknown or expired; sign in again", slug="invalid-refresh-token",
                          title="Unauthorized")
        spent = await conn.execute(refresh_tokens.update()
                                   .where(refresh_tokens.c.id == row["id"], refresh_tokens.c.rotated_at.is_(None),
                                          refresh_tokens.c.revoked_at.is_(None))
                                   .values(rotated_at=now))
        if spent.rowcount != 1:
            reused = row
        else:
            user = (await conn.execute(sa.select(users).where(users.c.id == row["user_id"], users.c.deleted_at.is_(None),
                                                              users.c.status == "active"))).mappings().first()
            if user is None:
                raise Problem(401, "this account can no longer sign in", slug="invalid-refresh-token",
                              title="Unauthorized")
            tokens = await _user_tokens(ctx, conn, user, family_id=row["family_id"])
            await audit.record(conn, "token.refresh", org_id=user["org_id"], actor=user["id"], ip=ip)
            return tokens
    # A spent or revoked token came back: revoke its family and end the user's sessions.
    async with ctx.store.relational.write() as conn:
        await conn.execute(refresh_tokens.update().where(refresh_tokens.c.family_id == reused["family_id"],
                                                         refresh_tokens.c.revoked_at.is_(None)).values(revoked_at=now))
        owner = (await conn.execute(sa.select(users.c.org_id).where(users.c.id == reused["user_id"]))).first()
        await audit.record(conn, "token.refresh_reuse", outcome="denied", org_id=owner[0] if owner else None,
                           actor=reused["user_id"], ip=ip, family=reused["family_id"])
    await end_sessions_cutoff(ctx, reused["user_id"])
    raise Problem(401, "this refresh token was already used; every session it belonged to has been signed out",
                  slug="refresh-token-reused", title="Unauthorized")


async def end_sessions_cutoff(ctx: AuthContext, subject: str) -> None:
    """Void every access token of `subject` issued until now, in every process."""
    assert ctx.verifier is not None
    await ctx.verifier.denylist.cut_off(subject, ctx.settings.access_token_ttl + ctx.settings.token_leeway)


async def revoke_refresh_tokens(conn: Any, user_id: str) -> None:
    await conn.execute(refresh_tokens.update().where(refresh_tokens.c.user_id == user_id,
                                                     refresh_tokens.c.revoked_at.is_(None))
                       .values(revoked_at=time.time()))


async def logout(ctx: AuthContext, principal: Any, presented_refresh: str | None, ip: str | None) -> None:
    assert ctx.verifier is not None
    await ctx.verifier.denylist.revoke_token(principal.token_id, principal.expires_at + ctx.settings.token_leeway)
    async with ctx.store.relational.write() as conn:
        if presented_refresh is not None and principal.kind == "user":
            row = (await conn.execute(sa.select(refresh_tokens.c.family_id).where(
                refresh_tokens.c.token_hash == token_hash(presented_refresh),
                refresh_tokens.c.user_id == principal.subject))).first()
            if row is not None:
                await conn.execute(refresh_tokens.update().where(refresh_tokens.c.family_id == row[0],
                                                                 refresh_tokens.c.revoked_at.is_(None))
                                   .values(revoked_at=time.time()))
        await audit.record(conn, "logout", org_id=principal.org_id, actor=principal.subject, ip=ip)


async def client_credentials(ctx: AuthContext, client_id: str, secret: str, ip: str | None) -> dict[str, Any]:
    throttle = _throttle(ctx)
    try:  # per IP only: a client id is public, so a per-client lockout would let anyone lock the fleet out
        await throttle.attempt(f"client:{client_id}", ip, per_account=False)
    except Throttled as throttled:
        raise too_many(throttled) from None
    async with ctx.store.relational.read() as conn:
        client = (await conn.execute(sa.select(service_clients).where(service_clients.c.id == client_id,
                                                                      service_clients.c.revoked_at.is_(None))
                                     )).mappings().first()
    if not await verify_password_async(client["secret_hash"] if client else None, secret):
        raise Problem(401, "the client id or secret is wrong", slug="invalid-client", title="Unauthorized")
    assert client is not None
    await throttle.succeeded(f"client:{client_id}", ip, per_account=False)
    access, ttl = await sign_access(ctx, subject=client_id, kind="service", org_id=None, role=None,
                                    permissions=list(client["permissions"]))
    return {"access_token": access, "token_type": "Bearer", "expires_in": ttl}


async def api_key_grant(ctx: AuthContext, presented: str, ip: str | None) -> dict[str, Any]:
    now = time.time()
    async with ctx.store.relational.write() as conn:
        key = (await conn.execute(sa.select(api_keys).where(api_keys.c.key_hash == token_hash(presented),
                                                            api_keys.c.revoked_at.is_(None)))).mappings().first()
        owner = None
        if key is not None and (key["expires_at"] is None or key["expires_at"] > now):
            owner = (await conn.execute(sa.select(users).where(users.c.id == key["owner_id"], users.c.status == "active",
                                                               users.c.deleted_at.is_(None)))).mappings().first()
        if key is None or owner is None:
            raise Problem(401, "the API key is unknown, revoked or expired", slug="invalid-api-key",
                          title="Unauthorized")
        await conn.execute(api_keys.update().where(api_keys.c.id == key["id"]).values(last_used_at=now))
    # A key never holds more than its owner holds today.
    permissions = frozenset(key["permissions"]) & permissions_for(owner["role"])
    access, ttl = await sign_access(ctx, subject=key["id"], kind="api_key", org_id=key["org_id"], role=None,
                                    permissions=permissions, owner=owner["id"])
    return {"access_token": access, "token_type": "Bearer", "expires_in": ttl}
