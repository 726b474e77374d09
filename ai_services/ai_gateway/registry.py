"""The registry of upstream instances: who serves which route prefixes, and who is alive.

An instance is healthy while its heartbeats arrive within its TTL and it reports itself ready.
Instances seeded from settings are "unknown" until their first heartbeat and are still routed to,
so that a gateway started before its upstreams works as soon as they do.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ai_services.ai_gateway.models import InstanceStatus, InstanceView, ServiceView
from shared.fleet import instance_id as make_instance_id

# An instance silent for this many TTLs is dropped from the listing altogether.
FORGET_AFTER_TTLS = 30


@dataclass
class Instance:
    instance_id: str
    service: str
    url: str
    prefixes: tuple[str, ...]
    ttl: float
    static: bool = False
    ready: bool = True
    last_heartbeat: float | None = None
    in_flight: int = 0

    def status(self, now: float) -> InstanceStatus:
        if self.last_heartbeat is None:
            return "unknown"
        if now - self.last_heartbeat > self.ttl:
            return "unhealthy"
        return "healthy" if self.ready else "not_ready"


@dataclass
class Registry:
    static_routes: dict[str, str]
    default_ttl: float
    clock: Callable[[], float] = time.monotonic
    _instances: dict[str, Instance] = field(default_factory=dict)
    _turns: dict[str, itertools.count] = field(default_factory=dict)

    def seed(self, service: str, url: str, prefixes: Iterable[str] = ()) -> Instance:
        key = make_instance_id(service, url)
        instance = Instance(key, service, url.rstrip("/"), tuple(prefixes), self.default_ttl, static=True)
        self._instances.setdefault(key, instance)
        return self._instances[key]

    def register(self, service: str, instance_id: str, url: str, prefixes: Iterable[str], ttl: float,
                 ready: bool = True) -> tuple[Instance, bool]:
        """Add or refresh an instance; the boolean says whether it was new."""
        existing = self._instances.get(instance_id)
        instance = Instance(instance_id, service, url.rstrip("/"), tuple(prefixes), ttl,
                            static=existing.static if existing else False, ready=ready, last_heartbeat=self.clock(),
                            in_flight=existing.in_flight if existing else 0)
        self._instances[instance_id] = instance
        return instance, existing is None

    def heartbeat(self, instance_id: str, ready: bool = True) -> bool:
        instance = self._instances.get(instance_id)
        if instance is None:
            return False
        instance.last_heartbeat, instance.ready = self.clock(), ready
        return True

    def deregister(self, instance_id: str) -> bool:
        instance = self._instances.get(instance_id)
        if instance is None:
            return False
        if instance.static:
            instance.last_heartbeat = None  # a seeded address stays known, its health unknown again
        else:
            del self._instances[instance_id]
        return True

    def resolve(self, path: str) -> str | None:
        """The service owning `path`: the longest matching prefix, declared or static."""
        best: tuple[int, str] | None = None
        for prefix, service in self._prefix_table():
            if (path == prefix or path.startswith(prefix + "/")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), service)
        return best[1] if best else None

    def _prefix_table(self) -> Iterable[tuple[str, str]]:
        yield from self.static_routes.items()
        for instance in self._instances.values():
            for prefix in instance.prefixes:
                yield prefix, instance.service

    def pick(self, service: str) -> Instance | None:
        """Round robin over healthy instances; failing those, over ones not yet heard from."""
        now = self.clock()
        self._forget_silent(now)
        candidates = [i for i in self._instances.values() if i.service == service and i.status(now) == "healthy"]
        if not candidates:
            candidates = [i for i in self._instances.values() if i.service == service and i.status(now) == "unknown"]
        if not candidates:
            return None
        turn = next(self._turns.setdefault(service, itertools.count()))
        return candidates[turn % len(candidates)]

    def _forget_silent(self, now: float) -> None:
        for key, instance in list(self._instances.items()):
            silent = instance.last_heartbeat is not None and now - instance.last_heartbeat > FORGET_AFTER_TTLS * instance.ttl
            if silent and not instance.static:
                del self._instances[key]

    def services(self) -> list[ServiceView]:
        now = self.clock()
        self._forget_silent(now)
        by_service: dict[str, list[Instance]] = {}
        for instance in self._instances.values():
            by_service.setdefault(instance.service, []).append(instance)
        for service in self.static_routes.values():
            by_service.setdefault(service, [])
        views = []
        for service in sorted(by_service):
            instances = sorted(by_service[service], key=lambda i: i.instance_id)
            statuses = [i.status(now) for i in instances]
            healthy = statuses.count("healthy")
            overall = "healthy" if instances and healthy == len(instances) else "degraded" if healthy else "unhealthy"
            prefixes = sorted({p for p, s in self._prefix_table() if s == service})
            views.append(ServiceView(
                service=service, status=overall, prefixes=prefixes,
                instances=[InstanceView(
                    instance_id=i.instance_id, url=i.url, status=st, static=i.static, in_flight=i.in_flight,
                    last_heartbeat_age_s=None if i.last_heartbeat is None else round(now - i.last_heartbeat, 2),
                ) for i, st in zip(instances, statuses, strict=True)],
            ))
        return views
