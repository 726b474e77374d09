"""Request and response bodies of the config API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # a reason may span lines; other control characters never
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=NO_CONTROL)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ValueWrite(Strict):
    """PUT /api/v1/config/{namespace}/{key}: the new value (checked against the key's schema) and why."""

    value: Any = Field(..., description="the new value; it must meet the key's schema")
    reason: Reason


class Rollback(Strict):
    """POST .../rollback: make a new version equal to an earlier one of the same scope."""

    version: Annotated[StrictInt, Field(ge=1)]
    reason: Reason


class EffectiveValue(BaseModel):
    key: str
    value: Any
    scope: Literal["org", "global", "default"]
    org_id: str | None = None
    version: int
    seq: int = Field(description="the change that set this value; also the ETag")
    updated_at: str | None
    updated_by: str | None


class ConfigVersion(BaseModel):
    key: str
    scope: Literal["org", "global"]
    org_id: str | None = None
    version: int
    seq: int
    value: Any
    action: Literal["set", "rollback"]
    rolled_back_to: int | None
    author: str
    author_kind: str
    reason: str
    created_at: str


class VersionPage(BaseModel):
    items: list[ConfigVersion]
    total: int
    next_cursor: str | None


class VersionDiff(BaseModel):
    key: str
    scope: Literal["org", "global"]
    org_id: str | None = None
    from_: ConfigVersion = Field(alias="from")
    to: ConfigVersion
    patch: list[dict[str, Any]] = Field(description="RFC 6902 operations (add, remove, replace) from `from` to `to`")


class RegisteredKeyView(BaseModel):
    key: str
    namespace: str
    description: str
    schema_: dict[str, Any] = Field(alias="schema")
    default: Any
    effective: EffectiveValue


class KeyPage(BaseModel):
    items: list[RegisteredKeyView]
    total: int
    next_cursor: str | None


class WatchBatch(BaseModel):
    cursor: str = Field(description="pass as `since` to hear only of later changes")
    items: list[EffectiveValue]
