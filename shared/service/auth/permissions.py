"""Roles and the named permissions they grant: the one table every service checks against.

A token carries its role and the permissions that role held when it was issued; services check
permissions, never roles, so a role can be reshaped here without touching a handler.
"""

from __future__ import annotations

from typing import Final

TALENT_READ: Final = "talent:read"
TALENT_WRITE: Final = "talent:write"
JOB_READ: Final = "job:read"
JOB_WRITE: Final = "job:write"
RESUME_READ: Final = "resume:read"
RESUME_WRITE: Final = "resume:write"
MATCH_RUN: Final = "match:run"
CHAT_USE: Final = "chat:use"
VECTOR_SEARCH: Final = "vector:search"
VECTOR_WRITE: Final = "vector:write"
CONFIG_READ: Final = "config:read"
CONFIG_WRITE: Final = "config:write"
MONITOR_READ: Final = "monitor:read"
MONITOR_WRITE: Final = "monitor:write"  # alert rules, silences and webhooks: fleet-wide, so platform level
USER_ADMIN: Final = "user:admin"
AUDIT_READ: Final = "audit:read"
APIKEY_ADMIN: Final = "apikey:admin"
PRIVACY_ADMIN: Final = "privacy:admin"
REGISTRY_WRITE: Final = "registry:write"  # instances registering with the gateway
KEYS_ADMIN: Final = "keys:admin"  # rotating the fleet's signing keys
ORG_ADMIN: Final = "org:admin"  # creating orgs: platform level

RECRUITING_READ = (TALENT_READ, JOB_READ, RESUME_READ, VECTOR_SEARCH)
RECRUITING_WRITE = (TALENT_WRITE, JOB_WRITE, RESUME_WRITE, VECTOR_WRITE, MATCH_RUN, CHAT_USE)

ROLES: Final[dict[str, frozenset[str]]] = {
    "viewer": frozenset(RECRUITING_READ),
    "hiring_manager": frozenset((*RECRUITING_READ, MATCH_RUN, CHAT_USE)),
    "recruiter": frozenset((*RECRUITING_READ, *RECRUITING_WRITE, CONFIG_READ)),
    "admin": frozenset((*RECRUITING_READ, *RECRUITING_WRITE, CONFIG_READ, CONFIG_WRITE, MONITOR_READ, USER_ADMIN,
                        AUDIT_READ, APIKEY_ADMIN, PRIVACY_ADMIN)),
}
ORG_ROLES: Final = tuple(ROLES)  # what an org admin may grant
SUPERADMIN: Final = "superadmin"
PLATFORM_ONLY: Final = frozenset((REGISTRY_WRITE, KEYS_ADMIN, ORG_ADMIN, MONITOR_WRITE))
ALL_PERMISSIONS: Final[frozenset[str]] = frozenset().union(*ROLES.values(), PLATFORM_ONLY)
ROLES[SUPERADMIN] = ALL_PERMISSIONS

# Fleet-wide permissions: an org admin's `monitor:read` and `config:write` reach only their org;
# the superadmin's reach the whole fleet. Handlers ask `Principal.platform` for the difference.
# talent:write: the resume service creates and updates the talents of the resumes it ingests, for
# the resume's org (X-Looma-Org), also when no user's request is waiting (batches, the sweep).
FLEET_SERVICE_PERMISSIONS: Final = frozenset((REGISTRY_WRITE, MONITOR_READ, CONFIG_READ, *RECRUITING_READ,
                                              VECTOR_WRITE, TALENT_WRITE))


def permissions_for(role: str) -> frozenset[str]:
    try:
        return ROLES[role]
    except KeyError:
        raise ValueError(f"unknown role {role!r}; known: {', '.join(ROLES)}") from None
