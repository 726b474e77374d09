"""Who is calling: what a verified token says, as the handlers see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from shared.service.auth.permissions import SUPERADMIN

PrincipalKind = Literal["user", "service", "api_key"]


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str  # a user id, a service client id or an API key id
    kind: PrincipalKind
    org_id: str | None  # None only for service tokens
    role: str | None
    permissions: frozenset[str]
    token_id: str
    issued_at: float
    expires_at: float
    owner: str | None = None  # the user an API key belongs to

    @property
    def platform(self) -> bool:
        """A superadmin, or a service: permissions that reach beyond one org."""
        return self.role == SUPERADMIN or self.kind == "service"

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def user_id(self) -> str | None:
        """The person behind the call: the user, or the owner of the API key."""
        if self.kind == "user":
            return self.subject
        return self.owner

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        kind = claims.get("kind", "user")
        if kind not in ("user", "service", "api_key"):
            raise ValueError(f"unknown principal kind {kind!r}")
        perms = claims.get("perms", [])
        if not isinstance(perms, list) or not all(isinstance(p, str) for p in perms):
            raise ValueError("perms must be a list of strings")
        org = claims.get("org")
        if kind != "service" and not isinstance(org, str):
            raise ValueError("a user or API key token must name its org")
        return cls(
            subject=str(claims["sub"]),
            kind=kind,
            org_id=org if isinstance(org, str) else None,
            role=claims.get("role") if isinstance(claims.get("role"), str) else None,
            permissions=frozenset(perms),
            token_id=str(claims["jti"]),
            issued_at=float(claims["iat"]),
            expires_at=float(claims["exp"]),
            owner=claims.get("owner") if isinstance(claims.get("owner"), str) else None,
        )

    def public_view(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "kind": self.kind,
            "org_id": self.org_id,
            "role": self.role,
            "permissions": sorted(self.permissions),
        }
