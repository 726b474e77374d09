"""Typed configuration from the config service, applied while the process runs.

    config = ConfigClient.from_settings(settings, token=app.ctx.service_token)
    config.on_change(MATCHING_WEIGHTS, rescore)
    await config.start()
    weights = config.get(MATCHING_WEIGHTS)  # a MatchingWeights, from memory

The client long-polls the config service's watch endpoint (directly or through the gateway) and
calls the registered callbacks when a value changes. Every value it accepts is also written,
atomically, to `{data_dir}/config-cache/{namespace}__{key}.json`: when the service cannot be
reached, the last known good value is used, across restarts of this process too, and the
registered default when none was ever known.

The only way out is `Transport.send`, so tests drive the client against the real service app
through any transport they like.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, Protocol, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.config.settings import LoomaSettings

log = logging.getLogger("looma.config")

WATCH_PATH = "/api/v1/config/watch"
ORG_HEADER = "X-Looma-Org"
WATCH_TIMEOUT = 25.0  # seconds a long poll waits at the service, when called directly
REPLY_GRACE = 10.0  # how much longer than the long poll the transport waits for its answer
FIRST_SYNC_WAIT = 3.0  # how long start() waits for the service before going on with what it knows
RETRY_MIN, RETRY_MAX = 0.2, 10.0  # back-off between failed polls, doubling

M = TypeVar("M", bound=BaseModel)
Source = Literal["service", "last-known-good", "default"]
Callback = Callable[[Any], Awaitable[None] | None]


# --- the typed values -------------------------------------------------------------------------------


class MatchingWeights(BaseModel):
    """How much each dimension counts in a match score. A dimension left out weighs 0."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    skills: float = Field(0.0, ge=0)
    semantic: float = Field(0.0, ge=0)
    experience: float = Field(0.0, ge=0)
    education: float = Field(0.0, ge=0)
    location: float = Field(0.0, ge=0)
    salary: float = Field(0.0, ge=0)
    recency: float = Field(0.0, ge=0)

    def normalised(self) -> dict[str, float]:
        """The weights scaled to sum to 1 (all 0 when every weight is 0)."""
        weights = self.model_dump()
        total = sum(weights.values())
        return {name: (weight / total if total else 0.0) for name, weight in weights.items()}


Balancing = Literal["round_robin", "weighted", "least_connections", "p2c"]
MATCHING_DIMENSIONS: tuple[str, ...] = tuple(MatchingWeights.model_fields)
BALANCING_STRATEGIES: tuple[str, ...] = ("round_robin", "weighted", "least_connections", "p2c")


class GatewayLimits(BaseModel):
    """The gateway's rate limits and balancing. A field left out keeps the LOOMA_GATEWAY_* setting."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    rate_per_org: int | None = Field(None, ge=1)  # requests a minute
    rate_per_user: int | None = Field(None, ge=1)  # requests a minute
    rate_per_route: dict[str, Annotated[int, Field(ge=1)]] | None = None  # route prefix -> requests a minute per user
    burst_seconds: float | None = Field(None, gt=0)
    balancing: Balancing | None = None

    def applied_to(self, settings: LoomaSettings) -> LoomaSettings:
        """`settings` with the fields this value sets replaced."""
        update = {name: value for name, value in (
            ("gateway_rate_per_org", self.rate_per_org), ("gateway_rate_per_user", self.rate_per_user),
            ("gateway_rate_per_route", self.rate_per_route), ("gateway_rate_burst_seconds", self.burst_seconds),
            ("gateway_balancing", self.balancing)) if value is not None}
        return settings.model_copy(update=update)


@dataclass(frozen=True)
class TypedKey(Generic[M]):
    """A registered key, the model its value reads as, and its default service-wide value."""

    name: str  # "{namespace}/{key}"
    model: type[M]
    default_value: Mapping[str, Any]

    def default(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.default_value))

    @property
    def filename(self) -> str:
        namespace, _, key = self.name.partition("/")
        return f"{namespace}__{key}.json"


# The same values as the matching service's own default (ai_services/matching_service/scoring/weights.py).
MATCHING_WEIGHTS = TypedKey("matching/weights", MatchingWeights, {
    "semantic": 0.35, "skills": 0.30, "experience": 0.20, "education": 0.10, "location": 0.03, "salary": 0.02,
    "recency": 0.0,
})
GATEWAY_LIMITS = TypedKey("gateway/limits", GatewayLimits, {})  # empty: every LOOMA_GATEWAY_* setting holds
TYPED_KEYS: tuple[TypedKey[Any], ...] = (MATCHING_WEIGHTS, GATEWAY_LIMITS)


# --- the transport --------------------------------------------------------------------------------


class ConfigUnavailable(ConnectionError):
    """The config service could not be reached, or would not answer this client."""


@dataclass(frozen=True)
class Call:
    """One GET to the config service."""

    path: str
    params: Mapping[str, str]
    headers: Mapping[str, str]
    timeout: float


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


class Transport(Protocol):
    async def send(self, call: Call) -> Reply:
        """The service's answer; ConfigUnavailable when there is none."""


class HttpTransport:
    """The transport of a running service: aiohttp to a base URL (the gateway's or the config service's)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session: Any = None

    async def send(self, call: Call) -> Reply:
        import aiohttp  # imported here so that reading settings does not load an HTTP client

        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.get(self.base_url + call.path, params=dict(call.params),
                                         headers=dict(call.headers),
                                         timeout=aiohttp.ClientTimeout(total=call.timeout)) as response:
                return Reply(response.status, await response.read())
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise ConfigUnavailable(f"{self.base_url}: {str(error) or type(error).__name__}") from error

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class TokenSource(Protocol):
    """Where the bearer token comes from: `shared.service.auth.service_token.ServiceToken` is one."""

    async def get(self) -> str: ...

    def invalidate(self) -> None: ...


# --- the client -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    """A key's value as this process uses it, and where it came from."""

    value: Any  # the typed model
    raw: Any  # the JSON value
    source: Source
    seq: int = 0  # the change that set it at the service; 0 for the default
    version: int = 0
    scope: str = "default"


class ConfigClient:
    def __init__(self, transport: Transport | None, cache_dir: Path | str, *, token: TokenSource | None = None,
                 org_id: str | None = None, keys: Sequence[TypedKey[Any]] = TYPED_KEYS,
                 watch_timeout: float = WATCH_TIMEOUT, retry_max: float = RETRY_MAX) -> None:
        """`transport` None works offline: last known good values, else defaults. `org_id` reads that
        org's effective values (a service token names it in X-Looma-Org); None reads the service-wide ones."""
        self._transport = transport
        self._token = token
        self._org_id = org_id
        self._keys = {key.name: key for key in keys}
        self._watch_timeout = watch_timeout
        self._retry_max = retry_max
        directory = Path(cache_dir)
        self._cache_dir = directory / "orgs" / quote(org_id, safe="") if org_id else directory
        self._known: dict[str, Known] = {}
        self._callbacks: dict[str, list[Callback]] = {name: [] for name in self._keys}
        self._cursor: str | None = None
        self._task: asyncio.Task[None] | None = None
        self.reachable = False  # whether the last call to the service was answered

    @classmethod
    def from_settings(cls, settings: LoomaSettings, token: TokenSource | None = None, *, base_url: str | None = None,
                      org_id: str | None = None, keys: Sequence[TypedKey[Any]] = TYPED_KEYS) -> ConfigClient:
        """Through the gateway unless `base_url` names the config service. A long poll through the
        gateway ends before the gateway's per-try timeout, which would otherwise cut it short."""
        url = base_url or settings.gateway_url
        wait = WATCH_TIMEOUT if base_url else max(1.0, min(WATCH_TIMEOUT, settings.gateway_try_timeout - 2.0))
        return cls(HttpTransport(url) if url else None, settings.data_dir / "config-cache", token=token,
                   org_id=org_id, keys=keys, watch_timeout=wait)

    # --- reading ---

    def get(self, key: TypedKey[M]) -> M:
        return self._state(key).value  # type: ignore[no-any-return]

    def source(self, key: TypedKey[Any]) -> Source:
        return self._state(key).source

    def known(self, key: TypedKey[Any]) -> Known:
        return self._state(key)

    def on_change(self, key: TypedKey[M], callback: Callable[[M], Awaitable[None] | None]) -> Callable[[], None]:
        """Call `callback(new_value)` whenever the key's value changes; returns the way to stop."""
        callbacks = self._callbacks[key.name]
        callbacks.append(callback)
        return lambda: callbacks.remove(callback) if callback in callbacks else None

    def _state(self, key: TypedKey[Any]) -> Known:
        if key.name not in self._keys:
            raise KeyError(f"this client does not follow {key.name!r}")
        if key.name not in self._known:
            self._known[key.name] = self._remembered(self._keys[key.name])
        return self._known[key.name]

    # --- running ---

    async def start(self, wait: float = FIRST_SYNC_WAIT) -> None:
        """Load what is known, ask the service for up to `wait` seconds, then watch in the background."""
        if self._task is not None:
            return
        for key in self._keys.values():
            self._state(key)
        if self._transport is None:
            return
        try:
            await asyncio.wait_for(self.poll(0), wait)
        except (ConfigUnavailable, TimeoutError) as error:
            log.warning("config service unavailable; using last known good values",
                        extra={"error": str(error) or type(error).__name__})
        self._task = asyncio.create_task(self._watch(), name="config-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        close = getattr(self._transport, "close", None)
        if close is not None:
            await close()

    async def poll(self, wait: float) -> bool:
        """One watch request: changes since the last one (everything on the first), waiting up to
        `wait` seconds at the service for one. True when a value was applied."""
        if self._transport is None:
            raise ConfigUnavailable("no config service URL is configured")
        params = {"keys": ",".join(self._keys), "timeout": f"{wait:g}"}
        if self._cursor is not None:
            params["since"] = self._cursor
        reply = await self._transport.send(Call(WATCH_PATH, params, await self._headers(), wait + REPLY_GRACE))
        if reply.status == 401 and self._token is not None:
            self._token.invalidate()
        if reply.status == 204:
            self.reachable = True
            return False
        if reply.status != 200:
            raise ConfigUnavailable(f"the config service answered {reply.status}: {_detail(reply.body)}")
        try:
            batch = json.loads(reply.body)
            items, cursor = batch["items"], str(batch["cursor"])
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigUnavailable(f"the config service's answer is not a watch batch: {error}") from None
        self.reachable = True
        changed = False
        for item in items:
            changed = await self._apply(item) or changed
        self._cursor = cursor
        return changed

    async def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._org_id is not None:
            headers[ORG_HEADER] = self._org_id
        if self._token is not None:
            try:
                headers["Authorization"] = f"Bearer {await self._token.get()}"
            except Exception as error:  # the auth service down is the config service unreachable, for us
                raise ConfigUnavailable(f"no service token: {str(error) or type(error).__name__}") from error
        return headers

    async def _watch(self) -> None:
        delay = RETRY_MIN
        while True:
            try:
                await self.poll(self._watch_timeout)
                delay = RETRY_MIN
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if self.reachable or delay == RETRY_MIN:
                    log.warning("config service unavailable; keeping the values known",
                                extra={"error": str(error) or type(error).__name__})
                self.reachable = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)

    # --- applying ---

    async def _apply(self, item: Mapping[str, Any]) -> bool:
        key = self._keys.get(str(item.get("key")))
        if key is None:
            return False
        raw = item.get("value")
        try:
            value = key.model.model_validate(raw)
        except ValidationError as error:
            log.warning("the config service sent a value this process cannot use; keeping the one it has",
                        extra={"key": key.name, "error": str(error.errors()[:3])})
            return False
        before = self._state(key)
        now = Known(value, raw, "service", int(item.get("seq") or 0), int(item.get("version") or 0),
                    str(item.get("scope") or "default"))
        if before == now:
            return False
        self._known[key.name] = now
        await self._remember(key, now)
        if value == before.value:
            return False
        for callback in list(self._callbacks[key.name]):
            try:
                outcome = callback(value)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                log.exception("a config change callback failed", extra={"key": key.name})
        return True

    # --- the last known good value, on disk ---

    def _path(self, key: TypedKey[Any]) -> Path:
        return self._cache_dir / key.filename

    def _remembered(self, key: TypedKey[Any]) -> Known:
        path = self._path(key)
        try:
            saved = json.loads(path.read_bytes())
            return Known(key.model.model_validate(saved["value"]), saved["value"], "last-known-good",
                         int(saved.get("seq", 0)), int(saved.get("version", 0)), str(saved.get("scope", "default")))
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError, ValidationError, OSError) as error:
            log.warning("ignoring an unreadable last known good value", extra={"path": str(path), "error": str(error)})
        default = key.default()
        return Known(key.model.model_validate(default), default, "default")

    async def _remember(self, key: TypedKey[Any], known: Known) -> None:
        record = {"key": key.name, "value": known.raw, "scope": known.scope, "version": known.version,
                  "seq": known.seq, "saved_at": time.time()}
        try:
            await asyncio.to_thread(write_atomically, self._path(key), json.dumps(record, indent=1).encode())
        except OSError as error:
            log.warning("could not save the last known good value", extra={"key": key.name, "error": str(error)})


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _detail(body: bytes) -> str:
    try:
        return str(json.loads(body).get("detail", ""))[:200]
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace")


__all__ = [
    "BALANCING_STRATEGIES",
    "GATEWAY_LIMITS",
    "MATCHING_DIMENSIONS",
    "MATCHING_WEIGHTS",
    "TYPED_KEYS",
    "Call",
    "ConfigClient",
    "ConfigUnavailable",
    "GatewayLimits",
    "HttpTransport",
    "Known",
    "MatchingWeights",
    "Reply",
    "Transport",
    "TypedKey",
    "write_atomically",
]
