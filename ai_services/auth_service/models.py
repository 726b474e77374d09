"""Request and response bodies of the auth API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.service.auth.permissions import ALL_PERMISSIONS, ROLES
from shared.utils.email import normalise_email


def _email(value: str) -> str:
    return normalise_email(value).lower()


def _role(value: str) -> str:
    if value not in ROLES:
        raise ValueError(f"unknown role; known: {', '.join(ROLES)}")
    return value


def _permissions(value: list[str]) -> list[str]:
    unknown = sorted(set(value) - ALL_PERMISSIONS)
    if unknown:
        raise ValueError(f"unknown permissions: {', '.join(unknown)}")
    return sorted(set(value))


Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)]
Role = Annotated[str, AfterValidator(_role)]
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"  # PostgreSQL text cannot hold NUL; other control characters are never wanted
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_CONTROL)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_CONTROL)]
Password = Annotated[str, StringConstraints(max_length=1024)]  # the policy says more, with a clearer message
Secret = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class LoginRequest(Strict):
    email: Email
    password: Password


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class RefreshRequest(Strict):
    refresh_token: Secret


class LogoutRequest(Strict):
    refresh_token: Secret | None = None


class TokenRequest(Strict):
    grant_type: Literal["client_credentials", "api_key"]
    client_id: Identifier | None = None
    client_secret: Secret | None = None
    api_key: Secret | None = None


class UserCreate(Strict):
    email: Email
    name: Name
    role: Role
    password: Password
    org_id: Identifier | None = None  # superadmin only


class UserUpdate(Strict):
    name: Name | None = None
    role: Role | None = None
    status: Literal["active", "disabled"] | None = None


class PasswordChange(Strict):
    current_password: Password
    new_password: Password


class PasswordReset(Strict):
    new_password: Password


class InvitationCreate(Strict):
    email: Email
    role: Role


class InvitationAccept(Strict):
    token: Secret
    name: Name
    password: Password


class ApiKeyCreate(Strict):
    name: Name
    permissions: Annotated[list[Identifier], Field(min_length=1, max_length=64), AfterValidator(_permissions)]
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class OrgCreate(Strict):
    name: Name
