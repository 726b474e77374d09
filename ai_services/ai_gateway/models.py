"""Request and response bodies of the gateway's own API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, HttpUrl, field_validator

InstanceStatus = Literal["healthy", "not_ready", "unhealthy", "unknown"]


class InstanceRegistration(BaseModel):
    service: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]*$")
    instance_id: str = Field(min_length=1, max_length=200, pattern=r"^[^/\s]+$")
    url: HttpUrl
    prefixes: list[str] = Field(default_factory=list, max_length=50)
    ttl: float = Field(default=10.0, gt=0, le=3600)
    ready: bool = True
    weight: int = Field(default=1, ge=0, le=1000)

    @field_validator("prefixes")
    @classmethod
    def _api_prefixes(cls, prefixes: list[str]) -> list[str]:
        for prefix in prefixes:
            if not prefix.startswith("/api/v1/") or prefix.endswith("/") or "//" in prefix:
                raise ValueError(f"prefix {prefix!r} must look like /api/v1/name, without a trailing slash")
        return prefixes


class Heartbeat(BaseModel):
    ready: bool = True


class InstanceView(BaseModel):
    instance_id: str
    url: str
    status: InstanceStatus
    static: bool
    weight: int
    in_flight: int
    breaker: Literal["closed", "open", "half_open"]
    ejected: bool
    check_failed: bool
    latency_ewma_ms: float | None
    last_heartbeat_age_s: float | None


class ServiceView(BaseModel):
    service: str
    status: Literal["healthy", "degraded", "unhealthy"]
    strategy: Literal["round_robin", "weighted", "least_connections", "p2c"]
    prefixes: list[str]
    instances: list[InstanceView]


class ServiceList(BaseModel):
    items: list[ServiceView]
    total: int
