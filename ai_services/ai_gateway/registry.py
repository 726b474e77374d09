"""The registry of upstream instances: who serves which route prefixes, who is alive, who gets the next request.

An instance is healthy while its heartbeats arrive within its TTL and it reports itself ready.
Instances seeded from settings are "unknown" until their first heartbeat (or a passing active
check) and are still routed to, so that a gateway started before its upstreams works as soon as
they do.

On top of that, each instance carries what this gateway has seen of it: requests in flight, an
EWMA of its latency, a circuit breaker (breaker.py), passive outlier detection (consecutive 5xx
or connect errors eject it for a while, the while doubling on each ejection; the last available
instance of a service is never ejected) and the result of the last active check of /ready.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ai_services.ai_gateway.balancing import Balancer, Strategy
from ai_services.ai_gateway.breaker import Breaker, BreakerPolicy, BreakerState
from ai_services.ai_gateway.models import InstanceStatus, InstanceView, ServiceView
from shared.fleet import instance_id as make_instance_id

# An instance silent for this many TTLs is dropped from the listing altogether.
FORGET_AFTER_TTLS = 30
EWMA_WEIGHT = 0.3  # of the newest sample
# An instance not picked lately has its latency figure fade towards 0 with this time constant, so
# one that was slow once is tried again and can show it recovered (P2C never picks it otherwise).
EWMA_FADE_SECONDS = 2.0


@dataclass(frozen=True)
class OutlierPolicy:
    failures: int = 5  # consecutive 5xx or connect errors
    ejection_seconds: float = 5.0  # the first ejection; each further one doubles it
    max_ejection_seconds: float = 60.0


@dataclass
class Instance:
    instance_id: str
    service: str
    url: str
    prefixes: tuple[str, ...]
    ttl: float
    breaker: Breaker
    static: bool = False
    ready: bool = True
    weight: int = 1
    last_heartbeat: float | None = None
    in_flight: int = 0
    latency_ewma: float | None = None  # seconds
    latency_at: float = 0.0  # when latency_ewma was last updated or faded
    consecutive_failures: int = 0
    ejected_until: float = 0.0
    ejections: int = 0
    check_failed: bool = False  # the last active check of /ready failed
    shared_at: float | None = None  # when the shared roster was last seen holding it (roster.py)

    def status(self, now: float) -> InstanceStatus:
        if self.last_heartbeat is None:
            return "unknown"
        if now - self.last_heartbeat > self.ttl:
            return "unhealthy"
        return "healthy" if self.ready else "not_ready"

    def reported_status(self, now: float) -> InstanceStatus:
        """The status to show: an instance the gateway cannot reach is unhealthy, whatever its last heartbeat said."""
        status = self.status(now)
        return "unhealthy" if self.check_failed and status == "healthy" else status

    def ejected(self, now: float) -> bool:
        return now < self.ejected_until


TransitionHook = Callable[["Instance", BreakerState, BreakerState], None]


@dataclass
class Registry:
    static_routes: dict[str, str]
    default_ttl: float
    clock: Callable[[], float] = time.time
    default_strategy: Strategy = "p2c"
    strategies: Mapping[str, Strategy] = field(default_factory=dict)
    breaker_policy: BreakerPolicy = field(default_factory=BreakerPolicy)
    outlier_policy: OutlierPolicy = field(default_factory=OutlierPolicy)
    on_breaker_transition: TransitionHook = lambda instance, old, new: None
    on_ejection: Callable[[Instance], None] = lambda instance: None
    _instances: dict[str, Instance] = field(default_factory=dict)
    _balancers: dict[str, Balancer] = field(default_factory=dict)

    # --- membership -------------------------------------------------------------------------------

    def seed(self, service: str, url: str, prefixes: Iterable[str] = (), weight: int = 1) -> Instance:
        key = make_instance_id(service, url)
        if key not in self._instances:
            self._instances[key] = self._new(key, service, url, prefixes, self.default_ttl, static=True, weight=weight)
        return self._instances[key]

    def register(self, service: str, instance_id: str, url: str, prefixes: Iterable[str], ttl: float,
                 ready: bool = True, weight: int = 1, heartbeat_at: float | None = None) -> tuple[Instance, bool]:
        """Add or refresh an instance; the boolean says whether it was new. What this gateway has
        measured of it (latency, breaker, in-flight) survives a refresh at the same address."""
        existing = self._instances.get(instance_id)
        at = self.clock() if heartbeat_at is None else heartbeat_at
        if existing is not None and existing.url == url.rstrip("/") and existing.service == service:
            if heartbeat_at is not None and existing.last_heartbeat is not None and heartbeat_at <= existing.last_heartbeat:
                return existing, False  # news from the shared roster no fresher than what this gateway heard
            existing.prefixes, existing.ttl, existing.ready, existing.weight = tuple(prefixes), ttl, ready, weight
            if heartbeat_at is None and existing.check_failed:
                existing.check_failed = False  # it registered just now (a restart): the next check confirms
            existing.last_heartbeat = at
            return existing, False
        instance = self._new(instance_id, service, url, prefixes, ttl, static=existing.static if existing else False,
                             weight=weight)
        instance.ready, instance.last_heartbeat = ready, at
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

    def instances(self) -> list[Instance]:
        return list(self._instances.values())

    def get(self, instance_id: str) -> Instance | None:
        return self._instances.get(instance_id)

    def _new(self, key: str, service: str, url: str, prefixes: Iterable[str], ttl: float, *, static: bool,
             weight: int) -> Instance:
        instance = Instance(key, service, url.rstrip("/"), tuple(prefixes), ttl,
                            Breaker(self.breaker_policy, clock=self.clock), static=static, weight=weight)
        instance.breaker.on_transition = lambda old, new: self.on_breaker_transition(instance, old, new)
        return instance

    # --- routing ----------------------------------------------------------------------------------

    def resolve(self, path: str) -> str | None:
        """The service owning `path`: the longest matching prefix, declared or static."""
        match = self.resolve_prefix(path)
        return match[1] if match else None

    def resolve_prefix(self, path: str) -> tuple[str, str] | None:
        """(prefix, service) of the longest prefix matching `path`."""
        best: tuple[str, str] | None = None
        for prefix, service in self._prefix_table():
            if (path == prefix or path.startswith(prefix + "/")) and (best is None or len(prefix) > len(best[0])):
                best = (prefix, service)
        return best

    def _prefix_table(self) -> Iterable[tuple[str, str]]:
        yield from self.static_routes.items()
        for instance in self._instances.values():
            for prefix in instance.prefixes:
                yield prefix, instance.service

    # --- choosing ---------------------------------------------------------------------------------

    def strategy(self, service: str) -> Strategy:
        return self.strategies.get(service, self.default_strategy)

    def pick(self, service: str, exclude: Iterable[str] = ()) -> Instance | None:
        """An instance to send the next request to, by the service's strategy, or None.

        The candidates are the healthy instances (failing those, ones not yet heard from) whose
        last active check passed, or, when no check passed, the healthy ones all the same; ejected
        ones only if every candidate is ejected; and of those, the ones whose breaker lets a
        request through. `exclude` holds instances already tried.
        """
        now = self.clock()
        self._forget_silent(now)
        skipped = set(exclude)
        mine = [i for i in self._instances.values() if i.service == service and i.instance_id not in skipped]
        healthy = [i for i in mine if i.status(now) == "healthy"]
        candidates = [i for i in healthy if not i.check_failed]
        if not candidates:
            candidates = [i for i in mine if i.status(now) == "unknown" and not i.check_failed]
        if not candidates:  # a failed check is not proof enough to leave a service with nobody
            candidates = healthy
        candidates = [i for i in candidates if not i.ejected(now)] or candidates
        candidates = [i for i in candidates if i.breaker.allows()]
        if not candidates:
            return None
        for candidate in candidates:
            _fade(candidate, now)
        balancer = self._balancers.get(service)
        if balancer is None:
            balancer = self._balancers[service] = Balancer(self.strategy(service))
        balancer.strategy = self.strategy(service)
        chosen = balancer.choose(candidates)
        assert isinstance(chosen, Instance)
        return chosen

    def has_instances(self, service: str) -> bool:
        """Whether any instance of `service` is routable at all, breakers aside."""
        now = self.clock()
        return any(i.service == service and i.status(now) in ("healthy", "unknown") and not i.check_failed
                   for i in self._instances.values())

    def record(self, instance: Instance, *, failure: bool, outlier: bool, seconds: float | None) -> None:
        """What one request to `instance` came to: `failure` counts for the breaker (5xx, connect
        errors, timeouts), `outlier` for ejection (5xx and connect errors); `seconds` feeds the EWMA."""
        if seconds is not None:
            previous = instance.latency_ewma
            instance.latency_ewma = seconds if previous is None else EWMA_WEIGHT * seconds + (1 - EWMA_WEIGHT) * previous
            instance.latency_at = self.clock()
        now = self.clock()
        if not outlier:
            instance.consecutive_failures = 0
            if instance.ejections and now > instance.ejected_until + self.outlier_policy.max_ejection_seconds:
                instance.ejections = 0  # well for a good while: the next ejection starts short again
            return
        instance.consecutive_failures += 1
        if instance.consecutive_failures >= self.outlier_policy.failures and not instance.ejected(now):
            others = [i for i in self._instances.values() if i.service == instance.service and i is not instance
                      and i.status(now) in ("healthy", "unknown") and not i.ejected(now) and not i.check_failed]
            if others:  # the last available instance is never ejected
                seconds_out = min(self.outlier_policy.max_ejection_seconds,
                                  self.outlier_policy.ejection_seconds * 2 ** instance.ejections)
                instance.ejected_until = now + seconds_out
                instance.ejections += 1
                instance.consecutive_failures = 0
                self.on_ejection(instance)

    def _forget_silent(self, now: float) -> None:
        for key, instance in list(self._instances.items()):
            silent = instance.last_heartbeat is not None and now - instance.last_heartbeat > FORGET_AFTER_TTLS * instance.ttl
            if silent and not instance.static:
                del self._instances[key]

    # --- listing ----------------------------------------------------------------------------------

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
            statuses = [i.reported_status(now) for i in instances]
            healthy = statuses.count("healthy")
            overall = "healthy" if instances and healthy == len(instances) else "degraded" if healthy else "unhealthy"
            prefixes = sorted({p for p, s in self._prefix_table() if s == service})
            views.append(ServiceView(
                service=service, status=overall, prefixes=prefixes, strategy=self.strategy(service),
                instances=[InstanceView(
                    instance_id=i.instance_id, url=i.url, status=st, static=i.static, weight=i.weight,
                    in_flight=i.in_flight, breaker=i.breaker.current(), ejected=i.ejected(now),
                    check_failed=i.check_failed,
                    latency_ewma_ms=None if i.latency_ewma is None else round(i.latency_ewma * 1000, 2),
                    last_heartbeat_age_s=None if i.last_heartbeat is None else round(now - i.last_heartbeat, 2),
                ) for i, st in zip(instances, statuses, strict=True)],
            ))
        return views


def _fade(instance: Instance, now: float) -> None:
    if instance.latency_ewma is not None and now > instance.latency_at:
        instance.latency_ewma *= math.exp(-(now - instance.latency_at) / EWMA_FADE_SECONDS)
        instance.latency_at = now
