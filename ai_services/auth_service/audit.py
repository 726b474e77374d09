"""The audit log: who did what to which account, and whether it worked.

Entries name people by id, never by email or name, so that erasing a person leaves nothing of
them here; a login attempt for an unknown address records a hash of the address.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai_services.auth_service.tables import audit_log
from shared.utils.time import rfc3339

ACTIONS = (
    "login", "token.refresh", "token.refresh_reuse", "logout", "user.create", "user.update", "user.role_change",
    "user.disable", "user.enable", "user.delete", "password.change", "password.reset", "invitation.create",
    "invitation.accept", "invitation.revoke", "api_key.create", "api_key.revoke", "service.token",
    "keys.rotate", "org.create", "bootstrap.admin",
)


def email_fingerprint(email: str) -> str:
    return "email-sha256:" + hashlib.sha256(email.lower().encode()).hexdigest()[:16]


async def record(conn: AsyncConnection, action: str, *, outcome: str = "success", org_id: str | None = None,
                 actor: str | None = None, target: str | None = None, ip: str | None = None,
                 **detail: Any) -> None:
    assert action in ACTIONS, action
    await conn.execute(audit_log.insert().values(at=time.time(), org_id=org_id, actor=actor, action=action,
                                                 target=target, outcome=outcome, ip=ip, detail=detail))


async def query(conn: AsyncConnection, *, org_id: str | None, action: str | None, actor: str | None,
                before: int | None, limit: int) -> list[dict[str, Any]]:
    """Newest first; `org_id` None means every org (superadmin). `before` is an entry id cursor."""
    statement = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if org_id is not None:
        statement = statement.where(audit_log.c.org_id == org_id)
    if action is not None:
        statement = statement.where(audit_log.c.action == action)
    if actor is not None:
        statement = statement.where(audit_log.c.actor == actor)
    if before is not None:
        statement = statement.where(audit_log.c.id < before)
    rows = (await conn.execute(statement)).mappings().all()
    return [{**row, "at": rfc3339(row["at"])} for row in rows]
