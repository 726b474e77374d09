"""What the auth service makes sure of when it starts, before it reports ready.

- a signing key exists;
- the fleet's service client matches LOOMA_SERVICE_CLIENT_ID / _SECRET, when a secret is set;
- when no user exists and LOOMA_BOOTSTRAP_ADMIN_EMAIL / _PASSWORD are set: the first org and
  its superadmin.
Several auth instances may start at once: each step runs under a fleet-wide lock.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import sqlalchemy as sa

from ai_services.auth_service import audit
from ai_services.auth_service.keys import ensure_signing_key
from ai_services.auth_service.passwords import WeakPassword, check_policy, hash_password_async, verify_password_async
from ai_services.auth_service.sessions import new_id
from ai_services.auth_service.tables import orgs, service_clients, users
from shared.config import LoomaSettings
from shared.database import UnifiedDataAccess
from shared.service.auth.permissions import FLEET_SERVICE_PERMISSIONS, SUPERADMIN
from shared.utils.email import InvalidEmail, normalise_email

log = logging.getLogger("looma.auth")


class BootstrapError(RuntimeError):
    pass


async def bootstrap(data: UnifiedDataAccess, settings: LoomaSettings) -> None:
    await ensure_signing_key(data, settings.auth_algorithm)
    if settings.service_client_secret is not None:
        await ensure_service_client(data, settings.service_client_id, settings.service_client_secret.get_secret_value(),
                                    sorted(FLEET_SERVICE_PERMISSIONS))
    if settings.bootstrap_admin_email and settings.bootstrap_admin_password:
        await ensure_first_admin(data, settings.bootstrap_admin_email,
                                 settings.bootstrap_admin_password.get_secret_value())


async def ensure_service_client(data: UnifiedDataAccess, client_id: str, secret: str, permissions: list[str]) -> None:
    async with data.cache.lock("auth-bootstrap", ttl=60, wait=60):
        async with data.relational.read() as conn:
            row = (await conn.execute(sa.select(service_clients).where(service_clients.c.id == client_id))
                   ).mappings().first()
        if row is not None and list(row["permissions"]) == permissions and row["revoked_at"] is None \
                and await verify_password_async(row["secret_hash"], secret):
            return
        secret_hash = await hash_password_async(secret)
        async with data.relational.write() as conn:
            if row is None:
                await conn.execute(service_clients.insert().values(
                    id=client_id, secret_hash=secret_hash, permissions=permissions, created_at=time.time(),
                    revoked_at=None))
            else:
                await conn.execute(service_clients.update().where(service_clients.c.id == client_id).values(
                    secret_hash=secret_hash, permissions=permissions, revoked_at=None))


async def ensure_first_admin(data: UnifiedDataAccess, email: str, password: str, org_name: str = "Looma") -> str | None:
    """The first org and its superadmin, if there is no user yet; the new user's id, or None."""
    try:
        email = normalise_email(email).lower()
        check_policy(password, email)
    except (InvalidEmail, WeakPassword) as error:
        raise BootstrapError(f"LOOMA_BOOTSTRAP_ADMIN_*: {error}") from None
    async with data.cache.lock("auth-bootstrap", ttl=60, wait=60):
        async with data.relational.write() as conn:
            if (await conn.execute(sa.select(users.c.id).limit(1))).first() is not None:
                return None
            user_id = await insert_org_and_admin(conn, org_name, email, "Administrator",
                                                 await hash_password_async(password))
            await audit.record(conn, "bootstrap.admin", actor=None, target=user_id)
    log.info("created the first org and its superadmin")
    return user_id


async def insert_org_and_admin(conn: Any, org_name: str, email: str, name: str, password_hash: str,
                               role: str = SUPERADMIN) -> str:
    now = time.time()
    org_id, user_id = new_id(), new_id()
    await conn.execute(orgs.insert().values(id=org_id, name=org_name, created_at=now, updated_at=now))
    await conn.execute(users.insert().values(
        id=user_id, org_id=org_id, email=email, name=name, role=role, status="active",
        password_hash=password_hash, password_changed_at=now, created_at=now, updated_at=now,
        deleted_at=None, version=1))
    return user_id
