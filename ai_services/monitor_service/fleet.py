"""The fleet as the monitor sees it: every instance in the gateway's registry, probed, and the shared stores.

One collection asks the gateway for its registry (`GET /api/v1/services`, with the fleet's service
token), then reads each instance's /ready, /health and /metrics at once, and the gateway's own.
An instance is `up` when /ready answers 200, `not_ready` when it answers 503, and `down` when it
cannot be reached or answers anything else. Uptime comes from /health (`uptime_s`); where that
is missing it is the time since this monitor first saw the instance (`uptime_source`).
Error rates and latency quantiles compare each instance's latest scrape with the newest one at
least one window older (or the oldest kept, until a window has passed), as scrape.py describes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from ai_services.ai_gateway.models import InstanceView, ServiceList
from ai_services.monitor_service import scrape
from ai_services.monitor_service.settings import MonitorSettings
from shared.config import LoomaSettings
from shared.database.relational import RelationalStore
from shared.fleet import GATEWAY, instance_id
from shared.projector.metrics import backlog
from shared.service.auth.service_token import ServiceToken, ServiceTokenError
from shared.utils.time import rfc3339

log = logging.getLogger("looma.monitor")

UP, NOT_READY, DOWN = "up", "not_ready", "down"
MAX_BODY = 8 * 1024 * 1024
HISTORY = 256  # scrapes kept per instance, whatever the interval
FORGET_AFTER = 10  # windows an instance may be missing before its history goes


@dataclass
class Instance:
    service: str
    instance_id: str
    url: str
    registry: InstanceView | None  # the gateway's view; None for the gateway itself
    status: str = DOWN
    error: str | None = None
    checks: dict[str, Any] | None = None
    uptime_seconds: float | None = None
    uptime_source: str | None = None
    traffic: scrape.Traffic | None = None
    metrics_error: str | None = None

    def view(self) -> dict[str, Any]:
        registry = self.registry
        return {
            "instance_id": self.instance_id,
            "url": self.url,
            "status": self.status,
            "error": self.error,
            "uptime_seconds": _round(self.uptime_seconds, 1),
            "uptime_source": self.uptime_source,
            **_traffic_view(self.traffic),
            "metrics_error": self.metrics_error,
            "checks": self.checks,
            "registry": None if registry is None else {
                "status": registry.status, "breaker": registry.breaker, "ejected": registry.ejected,
                "check_failed": registry.check_failed, "in_flight": registry.in_flight, "weight": registry.weight,
                "static": registry.static, "latency_ewma_ms": registry.latency_ewma_ms,
                "last_heartbeat_age_s": registry.last_heartbeat_age_s,
            },
        }


@dataclass
class FleetSnapshot:
    collected_at: float
    window_seconds: float
    gateway: dict[str, Any]
    instances: list[Instance]
    outbox: dict[str, float] | None
    disk: dict[str, Any] | None
    errors: dict[str, str] = field(default_factory=dict)  # what could not be read: outbox, disk

    def services(self) -> dict[str, list[Instance]]:
        grouped: dict[str, list[Instance]] = {}
        for instance in sorted(self.instances, key=lambda i: (i.service, i.instance_id)):
            grouped.setdefault(instance.service, []).append(instance)
        return grouped

    def service_traffic(self, instances: list[Instance]) -> scrape.Traffic | None:
        measured = [i.traffic for i in instances if i.traffic is not None]
        return sum(measured[1:], measured[0]) if measured else None

    def view(self) -> dict[str, Any]:
        services = []
        for name, instances in self.services().items():
            up = [i for i in instances if i.status == UP]
            uptimes = [i.uptime_seconds for i in up if i.uptime_seconds is not None]
            services.append({
                "service": name,
                "status": _status(len(up), len(instances)),
                "instances_up": len(up),
                "instances_total": len(instances),
                "uptime_seconds": _round(max(uptimes), 1) if uptimes else None,
                **_traffic_view(self.service_traffic(instances)),
                "instances": [i.view() for i in instances],
            })
        healthy = self.gateway["reachable"] and all(s["status"] == "healthy" for s in services)
        return {
            "collected_at": rfc3339(self.collected_at),
            "window_seconds": self.window_seconds,
            "status": "healthy" if healthy else "degraded",
            "gateway": self.gateway,
            "outbox": self.outbox,
            "disk": self.disk,
            "errors": self.errors,
            "services": services,
            "total": len(services),
        }


class FleetCollector:
    """Collects snapshots; keeps each instance's recent scrapes for the window's differences."""

    def __init__(self, settings: LoomaSettings, config: MonitorSettings, token: ServiceToken | None,
                 relational: Callable[[], RelationalStore], clock: Callable[[], float]) -> None:
        self.settings, self.config, self.token = settings, config, token
        self._relational, self._clock = relational, clock
        self._history: dict[str, deque[tuple[float, scrape.Counters]]] = {}
        self._first_seen: dict[str, float] = {}
        self._last_seen: dict[str, float] = {}
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def collect(self) -> FleetSnapshot:
        async with self._lock:  # one collection at a time keeps each instance's history in order
            if self._session is None:
                self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.config.scrape_timeout))
            now = self._clock()
            instances, gateway = await self._registry()
            if self.settings.gateway_url:
                url = self.settings.gateway_url.rstrip("/")
                instances.append(Instance(GATEWAY.name, instance_id(GATEWAY.name, url), url, None))
            limit = asyncio.Semaphore(self.config.scrape_concurrency)
            await asyncio.gather(*(self._probe(instance, now, limit) for instance in instances))
            errors: dict[str, str] = {}
            outbox = disk = None
            try:
                outbox = await backlog(self._relational())
            except Exception as error:  # the database's own words stay in the log
                log.warning("cannot read the outbox backlog", extra={"error": _describe(error)})
                errors["outbox"] = f"cannot read the outbox backlog ({type(error).__name__})"
            try:
                disk = disk_usage(self.settings.data_dir)
            except OSError as error:
                errors["disk"] = _describe(error)
            self._forget(now)
            return FleetSnapshot(now, self.config.window, gateway, instances, outbox, disk, errors)

    # --- the gateway's registry ---------------------------------------------------------------

    async def _registry(self) -> tuple[list[Instance], dict[str, Any]]:
        base = self.settings.gateway_url
        if not base:
            return [], {"url": None, "reachable": False, "error": "no gateway configured (LOOMA_GATEWAY_URL)"}
        url = base.rstrip("/") + "/api/v1/services"
        assert self._session is not None
        try:
            for attempt in (1, 2):
                headers = {"Authorization": f"Bearer {await self.token.get()}"} if self.token is not None else {}
                async with self._session.get(url, headers=headers) as response:
                    if response.status == 401 and self.token is not None and attempt == 1:
                        self.token.invalidate()  # expired or the keys rotated: one fresh token, once
                        continue
                    if response.status != 200:
                        raise _Unreadable(f"GET {url} answered {response.status}")
                    listing = ServiceList.model_validate_json(await response.read())
                break
        except (aiohttp.ClientError, TimeoutError, ServiceTokenError, ValueError, _Unreadable) as error:
            log.warning("cannot read the gateway's registry", extra={"error": _describe(error)})
            return [], {"url": base, "reachable": False, "error": _describe(error)}
        instances = [Instance(service.service, view.instance_id, view.url.rstrip("/"), view)
                     for service in listing.items for view in service.instances]
        return instances, {"url": base, "reachable": True, "error": None}

    # --- one instance ---------------------------------------------------------------------------

    async def _probe(self, instance: Instance, now: float, limit: asyncio.Semaphore) -> None:
        async with limit:
            ready, health, metrics = await asyncio.gather(
                self._get(instance.url + "/ready"), self._get(instance.url + "/health"),
                self._get(instance.url + "/metrics"))
        self._first_seen.setdefault(instance.instance_id, now)
        self._last_seen[instance.instance_id] = now
        status, body, error = ready
        document = _json(body)
        if status == 200:
            instance.status = UP
        elif status == 503 and document.get("status") == "not_ready":
            instance.status, instance.error = NOT_READY, "/ready answered not_ready"
        else:
            instance.status = DOWN
            instance.error = error or f"/ready answered {status}"
        if isinstance(document.get("checks"), dict):
            instance.checks = document["checks"]
        uptime = _json(health[1]).get("uptime_s") if health[0] == 200 else None
        if isinstance(uptime, (int, float)):
            instance.uptime_seconds, instance.uptime_source = float(uptime), "health"
        elif instance.status != DOWN:
            instance.uptime_seconds = now - self._first_seen[instance.instance_id]
            instance.uptime_source = "first_seen"
        status, body, error = metrics
        if status != 200 or body is None:
            instance.metrics_error = error or f"/metrics answered {status}"
            return
        try:
            counters = scrape.parse(body)
        except ValueError as parse_error:
            instance.metrics_error = f"/metrics is not a Prometheus exposition: {parse_error}"
            return
        instance.traffic = self._window(instance.instance_id, now, counters)

    def _window(self, key: str, now: float, counters: scrape.Counters) -> scrape.Traffic | None:
        history = self._history.setdefault(key, deque(maxlen=HISTORY))
        history.append((now, counters))
        while len(history) >= 2 and history[1][0] <= now - self.config.window:
            history.popleft()  # history[0] stays the newest scrape at least a window old
        return scrape.traffic(history[0][1], counters) if len(history) >= 2 else None

    def _forget(self, now: float) -> None:
        cutoff = now - FORGET_AFTER * self.config.window
        for key in [key for key, seen in self._last_seen.items() if seen < cutoff]:
            self._last_seen.pop(key)
            self._first_seen.pop(key, None)
            self._history.pop(key, None)

    async def _get(self, url: str) -> tuple[int | None, str | None, str | None]:
        """(status, body, None), or (None, None, why) when nothing usable came back."""
        assert self._session is not None
        try:
            async with self._session.get(url, allow_redirects=False) as response:
                raw = await response.content.read(MAX_BODY + 1)
                if len(raw) > MAX_BODY:
                    return None, None, f"{url} answered more than {MAX_BODY} bytes"
                return response.status, raw.decode("utf-8", errors="replace"), None
        except (aiohttp.ClientError, TimeoutError) as error:
            return None, None, f"{url}: {_describe(error)}"


def disk_usage(path: Path) -> dict[str, Any]:
    """Free space on the disk holding `path` (or its nearest existing parent)."""
    target = path.resolve()
    while not target.exists() and target != target.parent:
        target = target.parent
    usage = shutil.disk_usage(target)
    return {"path": str(path), "free_bytes": usage.free, "total_bytes": usage.total,
            "free_ratio": round(usage.free / usage.total, 4) if usage.total else None}


class _Unreadable(RuntimeError):
    pass


def _traffic_view(traffic: scrape.Traffic | None) -> dict[str, Any]:
    if traffic is None:
        return {"requests": None, "error_rate": None, "latency_p50_seconds": None, "latency_p95_seconds": None}
    return {
        "requests": int(traffic.requests),
        "error_rate": _round(traffic.error_rate, 4),
        "latency_p50_seconds": _round(traffic.quantile(0.5), 4),
        "latency_p95_seconds": _round(traffic.quantile(0.95), 4),
    }


def _status(up: int, total: int) -> str:
    return "healthy" if up == total else "degraded" if up else "down"


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _json(body: str | None) -> dict[str, Any]:
    try:
        document = json.loads(body) if body else {}
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "no answer in time"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
