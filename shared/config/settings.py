"""The one settings model of the fleet, read from `LOOMA_*` environment variables.

Every setting is listed, with its default and meaning, in env.example.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, HttpUrl, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class StaticInstance(BaseModel):
    """An upstream instance the gateway knows before it registers itself."""

    service: str
    url: HttpUrl
    prefixes: list[str] = Field(default_factory=list)
    weight: int = Field(default=1, ge=0, le=1000)


PLACEHOLDER_SECRETS = frozenset({"change-me", "changeme", "secret", "password", "admin", "example"})


class LoomaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOMA_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str | None = None
    redis_url: str | None = None
    neo4j_url: str | None = None
    weaviate_url: str | None = None
    elasticsearch_url: str | None = None

    host: str = "127.0.0.1"
    advertise_host: str | None = None
    port_offset: int = Field(default=0, ge=-8000, le=50000)
    gateway_url: str | None = None

    heartbeat_interval: float = Field(default=3.0, gt=0)
    heartbeat_ttl: float = Field(default=10.0, gt=0)
    gateway_static_instances: list[StaticInstance] = Field(default_factory=list)
    gateway_upstream_timeout: float = Field(default=30.0, gt=0)  # a request's whole time, retries included
    gateway_try_timeout: float = Field(default=10.0, gt=0)  # one try at one instance, to its response headers
    gateway_balancing: Literal["round_robin", "weighted", "least_connections", "p2c"] = "p2c"
    gateway_balancing_per_service: dict[str, Literal["round_robin", "weighted", "least_connections", "p2c"]] = Field(
        default_factory=dict)
    gateway_retries: int = Field(default=2, ge=0, le=5)  # extra tries of one request
    gateway_retry_budget: float = Field(default=0.2, ge=0, le=1)  # retries as a share of requests
    gateway_retry_floor: float = Field(default=5.0, ge=0)  # retries a second allowed whatever the traffic
    gateway_breaker_failures: int = Field(default=5, ge=1)
    gateway_breaker_open_seconds: float = Field(default=10.0, gt=0)
    gateway_breaker_probes: int = Field(default=2, ge=1)
    gateway_outlier_failures: int = Field(default=5, ge=1)
    gateway_outlier_ejection_seconds: float = Field(default=5.0, gt=0)
    gateway_outlier_max_ejection_seconds: float = Field(default=60.0, gt=0)
    gateway_check_interval: float = Field(default=5.0, gt=0)  # active checks of every instance's /ready
    gateway_registry_sync_interval: float = Field(default=1.0, gt=0)
    gateway_rate_per_org: int = Field(default=300_000, ge=1)  # requests a minute
    gateway_rate_per_user: int = Field(default=100_000, ge=1)  # requests a minute, per user or client address
    gateway_rate_per_route: dict[str, int] = Field(default_factory=dict)  # prefix -> requests a minute per user
    gateway_rate_burst_seconds: float = Field(default=10.0, gt=0)  # a full bucket holds this many seconds' worth
    gateway_public_routes: list[str] = Field(default_factory=lambda: [
        "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/token", "/api/v1/auth/invitations/accept"])
    gateway_max_response_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    gateway_batch_max_requests: int = Field(default=20, ge=1, le=1000)
    gateway_batch_concurrency: int = Field(default=8, ge=1)
    gateway_batch_max_bytes: int = Field(default=1024 * 1024, gt=0)
    gateway_cors_origins: list[str] = Field(default_factory=list)

    max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    request_timeout: float = Field(default=60.0, gt=0)
    graceful_shutdown_timeout: float = Field(default=15.0, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    auth_url: str | None = None
    auth_issuer: str = "looma"
    auth_audience: str = "looma-api"
    auth_algorithm: Literal["EdDSA", "RS256"] = "EdDSA"
    access_token_ttl: int = Field(default=900, ge=30, le=86400)
    refresh_token_ttl: int = Field(default=14 * 86400, ge=300)
    invitation_ttl: int = Field(default=7 * 86400, ge=300)
    token_leeway: float = Field(default=30.0, ge=0, le=300)
    public_url: str | None = None
    service_client_id: str = "looma-fleet"
    service_client_secret: SecretStr | None = None
    bootstrap_admin_email: str | None = None
    bootstrap_admin_password: SecretStr | None = None
    login_attempts_per_account: int = Field(default=5, ge=1)
    login_attempts_per_ip: int = Field(default=30, ge=1)
    login_window: int = Field(default=900, ge=1)

    @field_validator("database_url", "redis_url", "neo4j_url", "weaviate_url", "elasticsearch_url", "gateway_url",
                     "advertise_host", "auth_url", "public_url", "service_client_secret", "bootstrap_admin_email",
                     "bootstrap_admin_password", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> LoomaSettings:
        if self.env != "production":
            return self
        for name in ("service_client_secret", "bootstrap_admin_password"):
            secret = getattr(self, name)
            if secret is not None and (len(secret.get_secret_value()) < 16
                                       or secret.get_secret_value().lower() in PLACEHOLDER_SECRETS):
                raise ValueError(f"LOOMA_{name.upper()} looks like a placeholder; production needs a real secret "
                                 "of 16 characters or more")
        return self

    @property
    def auth_base_url(self) -> str | None:
        """Where this process reaches the auth service: its own URL if set, else the gateway."""
        return self.auth_url or self.gateway_url

    @property
    def sqlalchemy_url(self) -> str:
        """The relational URL in its async-driver form; SQLite in the data directory by default."""
        url = self.database_url
        if url is None:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'looma.db').resolve()}"
        for plain, driver in (("postgresql://", "postgresql+asyncpg://"), ("postgres://", "postgresql+asyncpg://"),
                              ("sqlite://", "sqlite+aiosqlite://")):
            if url.startswith(plain):
                return driver + url[len(plain):]
        return url

    @property
    def cache_path(self) -> Path:
        """Where the embedded cache keeps its state when no Redis is configured."""
        return (self.data_dir / "cache.db").resolve()

    def port_for(self, default_port: int) -> int:
        return default_port + self.port_offset

    def instance_url(self, default_port: int) -> str:
        """Where other processes reach this instance: the advertised host, or the bound one."""
        host = self.advertise_host or ("127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host)
        return f"http://{host}:{self.port_for(default_port)}"
