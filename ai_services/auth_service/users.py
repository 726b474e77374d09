"""People and their organisations: users, roles, passwords and invitations.

An org admin manages the users of their own org; only a superadmin reaches other orgs or grants
`superadmin`. Another org's user answers 404, as if it did not exist. Every change that takes
rights away (role, status, password, deletion) cuts off the user's live access tokens in every
process and revokes their refresh tokens.
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ai_services.auth_service import audit
from ai_services.auth_service.passwords import WeakPassword, check_policy, hash_password_async, verify_password_async
from ai_services.auth_service.sessions import (
    _user_tokens, end_sessions_cutoff, new_id, revoke_refresh_tokens, token_hash,
)
from ai_services.auth_service.tables import invitations, orgs, users
from shared.service.auth.permissions import SUPERADMIN, permissions_for
from shared.service.auth.principal import Principal
from shared.service.problems import Problem
from shared.service.tenancy import not_found
from shared.utils.time import rfc3339

if TYPE_CHECKING:
    from ai_services.auth_service.app import AuthContext


def user_view(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"], "org_id": row["org_id"], "email": row["email"], "name": row["name"], "role": row["role"],
        "status": row["status"], "permissions": sorted(permissions_for(row["role"])),
        "created_at": rfc3339(row["created_at"]), "updated_at": rfc3339(row["updated_at"]), "version": row["version"],
    }


def weak(error: WeakPassword, field: str = "password") -> Problem:
    return Problem(422, str(error), slug="weak-password", errors=[{"loc": f"body.{field}", "msg": str(error)}])


def _grantable(actor: Principal, role: str) -> None:
    if role == SUPERADMIN and actor.role != SUPERADMIN:
        raise Problem(403, "only a superadmin can grant the superadmin role", slug="permission-denied")


def _visible(actor: Principal) -> Any:
    """Rows this actor may see: their org's, or every org's for a superadmin."""
    condition = users.c.deleted_at.is_(None)
    if actor.role != SUPERADMIN:
        condition = sa.and_(condition, users.c.org_id == actor.org_id)
    return condition


async def _load(conn: Any, actor: Principal, user_id: str) -> Any:
    row = (await conn.execute(sa.select(users).where(users.c.id == user_id, _visible(actor)))).mappings().first()
    if row is None:
        raise not_found("user", user_id)
    return row


async def get_user(ctx: AuthContext, actor: Principal, user_id: str) -> dict[str, Any]:
    async with ctx.store.relational.read() as conn:
        return user_view(await _load(conn, actor, user_id))


async def list_users(ctx: AuthContext, actor: Principal, limit: int, cursor: str | None,
                     org_id: str | None) -> dict[str, Any]:
    condition = _visible(actor)
    if org_id is not None:
        condition = sa.and_(condition, users.c.org_id == org_id)
    page = sa.select(users).where(condition).order_by(users.c.created_at, users.c.id).limit(limit + 1)
    if cursor is not None:
        created, last_id = _decode_cursor(cursor)
        page = page.where(sa.or_(users.c.created_at > created,
                                 sa.and_(users.c.created_at == created, users.c.id > last_id)))
    async with ctx.store.relational.read() as conn:
        rows = (await conn.execute(page)).mappings().all()
        total = (await conn.execute(sa.select(sa.func.count()).select_from(users).where(condition))).scalar_one()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
    return {"items": [user_view(r) for r in rows], "total": total, "next_cursor": next_cursor}


def _encode_cursor(created: float, user_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created!r}|{user_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        created, user_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|", 1)
        if "\x00" in user_id:
            raise ValueError(user_id)
        return float(created), user_id
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "the cursor is not one this API handed out", slug="invalid-cursor") from None


async def insert_user(conn: Any, *, org_id: str, email: str, name: str, role: str, password_hash: str) -> Any:
    """Insert an active user; hash the password before the transaction, so no lock is held while hashing."""
    now = time.time()
    values = {"id": new_id(), "org_id": org_id, "email": email, "name": name, "role": role, "status": "active",
              "password_hash": password_hash, "password_changed_at": now, "created_at": now,
              "updated_at": now, "deleted_at": None, "version": 1}
    try:
        async with conn.begin_nested():
            await conn.execute(users.insert().values(**values))
    except IntegrityError:
        raise Problem(409, "a user with this email address already exists", slug="email-taken") from None
    return values


async def create_user(ctx: AuthContext, actor: Principal, body: Any, ip: str | None) -> dict[str, Any]:
    _grantable(actor, body.role)
    org_id = actor.org_id
    if body.org_id is not None and body.org_id != actor.org_id:
        if actor.role != SUPERADMIN:
            raise not_found("org", body.org_id)
        org_id = body.org_id
    try:
        check_policy(body.password, body.email)
    except WeakPassword as error:
        raise weak(error) from None
    password_hash = await hash_password_async(body.password)
    async with ctx.store.relational.write() as conn:
        if (await conn.execute(sa.select(orgs.c.id).where(orgs.c.id == org_id))).first() is None:
            raise not_found("org", str(org_id))
        row = await insert_user(conn, org_id=str(org_id), email=body.email, name=body.name, role=body.role,
                                password_hash=password_hash)
        await audit.record(conn, "user.create", org_id=org_id, actor=actor.subject, target=row["id"], ip=ip,
                           role=body.role)
    return user_view(row)


async def update_user(ctx: AuthContext, actor: Principal, user_id: str, body: Any, if_match: int | None,
                      ip: str | None) -> dict[str, Any]:
    cut_off = False
    async with ctx.store.relational.write() as conn:
        row = await _load(conn, actor, user_id)
        if if_match is not None and if_match != row["version"]:
            raise Problem(412, f"the user has changed (version {row['version']}); read it again",
                          slug="version-mismatch")
        if row["role"] == SUPERADMIN and actor.role != SUPERADMIN:
            raise Problem(403, "only a superadmin can change a superadmin", slug="permission-denied")
        changes: dict[str, Any] = {}
        if body.name is not None and body.name != row["name"]:
            changes["name"] = body.name
        if body.role is not None and body.role != row["role"]:
            _grantable(actor, body.role)
            if user_id == actor.subject:
                raise Problem(409, "you cannot change your own role; ask another administrator",
                              slug="own-role")
            changes["role"] = body.role
            await audit.record(conn, "user.role_change", org_id=row["org_id"], actor=actor.subject, target=user_id,
                               ip=ip, before=row["role"], after=body.role)
        if body.status is not None and body.status != row["status"]:
            if user_id == actor.subject:
                raise Problem(409, "you cannot disable your own account", slug="own-account")
            changes["status"] = body.status
            await audit.record(conn, "user.disable" if body.status == "disabled" else "user.enable",
                               org_id=row["org_id"], actor=actor.subject, target=user_id, ip=ip)
        if changes:
            changes.update(updated_at=time.time(), version=row["version"] + 1)
            updated = await conn.execute(users.update().where(users.c.id == user_id,
                                                              users.c.version == row["version"]).values(**changes))
            if updated.rowcount != 1:
                raise Problem(412, "the user has just been changed by someone else; read it again",
                              slug="version-mismatch")
            if "name" in changes and len(changes) == 3:
                await audit.record(conn, "user.update", org_id=row["org_id"], actor=actor.subject, target=user_id,
                                   ip=ip)
            if "role" in changes or changes.get("status") == "disabled":
                cut_off = True
                if changes.get("status") == "disabled":
                    await revoke_refresh_tokens(conn, user_id)
        row = {**row, **changes}
    if cut_off:
        await end_sessions_cutoff(ctx, user_id)
    return user_view(row)


async def delete_user(ctx: AuthContext, actor: Principal, user_id: str, ip: str | None) -> None:
    """Soft-delete, with the email and name scrubbed: nothing personal stays behind."""
    async with ctx.store.relational.write() as conn:
        row = await _load(conn, actor, user_id)
        if user_id == actor.subject:
            raise Problem(409, "you cannot delete your own account", slug="own-account")
        if row["role"] == SUPERADMIN and actor.role != SUPERADMIN:
            raise Problem(403, "only a superadmin can delete a superadmin", slug="permission-denied")
        now = time.time()
        await conn.execute(users.update().where(users.c.id == user_id).values(
            email=f"deleted+{user_id}@invalid", name="", password_hash=None, status="deleted", deleted_at=now,
            updated_at=now, version=row["version"] + 1))
        await revoke_refresh_tokens(conn, user_id)
        await conn.execute(invitations.update().where(invitations.c.email == row["email"]).values(
            email=f"deleted+{user_id}@invalid", revoked_at=sa.func.coalesce(invitations.c.revoked_at, now)))
        await audit.record(conn, "user.delete", org_id=row["org_id"], actor=actor.subject, target=user_id, ip=ip)
    await end_sessions_cutoff(ctx, user_id)


async def change_own_password(ctx: AuthContext, actor: Principal, current: str, new: str,
                              ip: str | None) -> dict[str, Any]:
    if actor.kind != "user":
        raise Problem(403, "only a person signed in with a password can change it", slug="permission-denied")
    async with ctx.store.relational.read() as conn:
        row = (await conn.execute(sa.select(users).where(users.c.id == actor.subject, users.c.deleted_at.is_(None))
                                  )).mappings().first()
    if row is None or not await verify_password_async(row["password_hash"], current):
        raise Problem(403, "the current password is wrong", slug="wrong-password",
                      errors=[{"loc": "body.current_password", "msg": "does not match"}])
    try:
        check_policy(new, row["email"])
    except WeakPassword as error:
        raise weak(error, "new_password") from None
    password_hash = await hash_password_async(new)
    await end_sessions_cutoff(ctx, actor.subject)
    async with ctx.store.relational.write() as conn:
        await _set_password(conn, actor.subject, password_hash, row["version"])
        await audit.record(conn, "password.change", org_id=row["org_id"], actor=actor.subject, target=actor.subject,
                           ip=ip)
        # This session continues with new tokens; every other one is signed out.
        return await _user_tokens(ctx, conn, row)


async def reset_password(ctx: AuthContext, actor: Principal, user_id: str, new: str, ip: str | None) -> None:
    async with ctx.store.relational.read() as conn:
        row = await _load(conn, actor, user_id)
    if row["role"] == SUPERADMIN and actor.role != SUPERADMIN:
        raise Problem(403, "only a superadmin can reset a superadmin's password", slug="permission-denied")
    try:
        check_policy(new, row["email"])
    except WeakPassword as error:
        raise weak(error, "new_password") from None
    password_hash = await hash_password_async(new)
    async with ctx.store.relational.write() as conn:
        row = await _load(conn, actor, user_id)
        await _set_password(conn, user_id, password_hash, row["version"])
        await audit.record(conn, "password.reset", org_id=row["org_id"], actor=actor.subject, target=user_id, ip=ip)
    await end_sessions_cutoff(ctx, user_id)


async def _set_password(conn: Any, user_id: str, password_hash: str, version: int) -> None:
    now = time.time()
    await conn.execute(users.update().where(users.c.id == user_id).values(
        password_hash=password_hash, password_changed_at=now, updated_at=now, version=version + 1))
    await revoke_refresh_tokens(conn, user_id)


# --- invitations --------------------------------------------------------------------------------
def invitation_view(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "org_id": row["org_id"], "email": row["email"], "role": row["role"],
            "created_at": rfc3339(row["created_at"]), "expires_at": rfc3339(row["expires_at"]),
            "accepted_at": rfc3339(row["accepted_at"]), "revoked_at": rfc3339(row["revoked_at"])}


async def invite(ctx: AuthContext, actor: Principal, email: str, role: str, ip: str | None) -> dict[str, Any]:
    _grantable(actor, role)
    token = secrets.token_urlsafe(32)
    now = time.time()
    row = {"id": new_id(), "org_id": actor.org_id, "email": email, "role": role, "token_hash": token_hash(token),
           "created_by": actor.subject, "created_at": now, "expires_at": now + ctx.settings.invitation_ttl,
           "accepted_at": None, "revoked_at": None}
    async with ctx.store.relational.write() as conn:
        if (await conn.execute(sa.select(users.c.id).where(users.c.email == email))).first() is not None:
            raise Problem(409, "a user with this email address already exists", slug="email-taken")
        await conn.execute(invitations.insert().values(**row))
        await audit.record(conn, "invitation.create", org_id=actor.org_id, actor=actor.subject, target=row["id"],
                           ip=ip, role=role)
    base = ctx.settings.public_url or ctx.settings.gateway_url or ctx.settings.instance_url(ctx.spec.port)
    return {**invitation_view(row), "token": token,
            "accept_url": f"{base.rstrip('/')}/api/v1/auth/invitations/accept#token={token}"}


async def list_invitations(ctx: AuthContext, actor: Principal) -> dict[str, Any]:
    async with ctx.store.relational.read() as conn:
        rows = (await conn.execute(sa.select(invitations).where(invitations.c.org_id == actor.org_id)
                                   .order_by(invitations.c.created_at.desc()).limit(200))).mappings().all()
    return {"items": [invitation_view(r) for r in rows], "total": len(rows), "next_cursor": None}


async def revoke_invitation(ctx: AuthContext, actor: Principal, invitation_id: str, ip: str | None) -> None:
    async with ctx.store.relational.write() as conn:
        result = await conn.execute(invitations.update().where(
            invitations.c.id == invitation_id, invitations.c.org_id == actor.org_id,
            invitations.c.accepted_at.is_(None), invitations.c.revoked_at.is_(None)).values(revoked_at=time.time()))
        if result.rowcount != 1:
            raise not_found("invitation", invitation_id)
        await audit.record(conn, "invitation.revoke", org_id=actor.org_id, actor=actor.subject,
                           target=invitation_id, ip=ip)


async def accept_invitation(ctx: AuthContext, token: str, name: str, password: str, ip: str | None) -> dict[str, Any]:
    now = time.time()
    async with ctx.store.relational.read() as conn:
        row = (await conn.execute(sa.select(invitations).where(invitations.c.token_hash == token_hash(token))
                                  )).mappings().first()
    if row is None or row["accepted_at"] is not None or row["revoked_at"] is not None or row["expires_at"] <= now:
        raise Problem(410, "this invitation is unknown, used, revoked or expired; ask for a new one",
                      slug="invitation-invalid")
    try:
        check_policy(password, row["email"])
    except WeakPassword as error:
        raise weak(error) from None
    password_hash = await hash_password_async(password)  # only for a live invitation and an acceptable password
    async with ctx.store.relational.write() as conn:
        taken = await conn.execute(invitations.update().where(invitations.c.id == row["id"],
                                                              invitations.c.accepted_at.is_(None),
                                                              invitations.c.revoked_at.is_(None))
                                   .values(accepted_at=now))
        if taken.rowcount != 1:
            raise Problem(410, "this invitation has just been used", slug="invitation-invalid")
        user = await insert_user(conn, org_id=row["org_id"], email=row["email"], name=name, role=row["role"],
                                 password_hash=password_hash)
        await audit.record(conn, "invitation.accept", org_id=row["org_id"], actor=user["id"], target=row["id"], ip=ip)
        return await _user_tokens(ctx, conn, user)


# --- orgs ---------------------------------------------------------------------------------------
async def create_org(ctx: AuthContext, actor: Principal | None, name: str, ip: str | None) -> dict[str, Any]:
    now = time.time()
    row = {"id": new_id(), "name": name, "created_at": now, "updated_at": now}
    async with ctx.store.relational.write() as conn:
        await conn.execute(orgs.insert().values(**row))
        await audit.record(conn, "org.create", org_id=row["id"], actor=actor.subject if actor else None,
                           target=row["id"], ip=ip)
    return {"id": row["id"], "name": name, "created_at": rfc3339(now)}


async def list_orgs(ctx: AuthContext) -> dict[str, Any]:
    async with ctx.store.relational.read() as conn:
        rows = (await conn.execute(sa.select(orgs).order_by(orgs.c.created_at))).mappings().all()
    items = [{"id": r["id"], "name": r["name"], "created_at": rfc3339(r["created_at"])} for r in rows]
    return {"items": items, "total": len(items), "next_cursor": None}
