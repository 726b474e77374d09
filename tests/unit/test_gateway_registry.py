"""The gateway's Registry on its own: routing, health by heartbeat TTL, picking, seeds and forgetting.

No I/O: time is a fake clock the tests move by hand.
"""

from __future__ import annotations


import pytest

from ai_services.ai_gateway.registry import FORGET_AFTER_TTLS, Registry
from shared.fleet import UPSTREAMS, instance_id
from tests.clock import FakeClock

TTL = 10.0
STATIC_ROUTES = {prefix: spec.name for spec in UPSTREAMS for prefix in spec.prefixes}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry(clock: FakeClock) -> Registry:
    return Registry(static_routes=dict(STATIC_ROUTES), default_ttl=TTL, clock=clock)


def register(registry: Registry, service: str, url: str, *, prefixes: tuple[str, ...] = (), ttl: float = TTL,
             ready: bool = True) -> str:
    key = instance_id(service, url)
    registry.register(service, key, url, prefixes, ttl, ready)
    return key


def status_of(registry: Registry, key: str) -> str:
    for view in registry.services():
        for instance in view.instances:
            if instance.instance_id == key:
                return instance.status
    raise AssertionError(f"{key} is not listed")


def service_view(registry: Registry, service: str):  # type: ignore[no-untyped-def]
    (view,) = [v for v in registry.services() if v.service == service]
    return view


# --- routing --------------------------------------------------------------------------------------


def test_resolve_matches_a_prefix_and_what_lies_below_it_but_not_a_longer_word(registry: Registry) -> None:
    assert registry.resolve("/api/v1/talents") == "crm"
    assert registry.resolve("/api/v1/talents/123") == "crm"
    assert registry.resolve("/api/v1/talents/123/notes") == "crm"
    assert registry.resolve("/api/v1/talentsX") is None
    assert registry.resolve("/api/v1/talents-export") is None


def test_resolve_covers_every_static_route(registry: Registry) -> None:
    for prefix, service in STATIC_ROUTES.items():
        assert registry.resolve(prefix) == service
        assert registry.resolve(prefix + "/x") == service


def test_resolve_picks_the_longest_matching_prefix(clock: FakeClock) -> None:
    registry = Registry(static_routes={"/api/v1/talents": "crm", "/api/v1/talents/search": "vector"},
                        default_ttl=TTL, clock=clock)
    assert registry.resolve("/api/v1/talents/search") == "vector"
    assert registry.resolve("/api/v1/talents/search/similar") == "vector"
    assert registry.resolve("/api/v1/talents/searching") == "crm"
    assert registry.resolve("/api/v1/talents/1") == "crm"


def test_declared_prefixes_of_registered_instances_route_too(registry: Registry) -> None:
    assert registry.resolve("/api/v1/interviews/7") is None
    register(registry, "scheduling", "http://127.0.0.1:9100", prefixes=("/api/v1/interviews",))
    assert registry.resolve("/api/v1/interviews") == "scheduling"
    assert registry.resolve("/api/v1/interviews/7") == "scheduling"
    # A declared prefix longer than a static one wins below it, and only there.
    register(registry, "resume", "http://127.0.0.1:9101", prefixes=("/api/v1/talents/import",))
    assert registry.resolve("/api/v1/talents/import/batch") == "resume"
    assert registry.resolve("/api/v1/talents/1") == "crm"


def test_an_unknown_path_resolves_to_nothing(registry: Registry) -> None:
    assert registry.resolve("/api/v1/nope") is None
    assert registry.resolve("/api/v1") is None
    assert registry.resolve("/") is None
    assert registry.resolve("/talents") is None


# --- registration and heartbeats ------------------------------------------------------------------


def test_register_says_created_then_refreshed_for_the_same_id(registry: Registry) -> None:
    key = instance_id("crm", "http://127.0.0.1:8888")
    instance, created = registry.register("crm", key, "http://127.0.0.1:8888/", (), TTL)
    assert created is True
    assert instance.url == "http://127.0.0.1:8888"  # trailing slash dropped
    assert instance.static is False
    instance, created = registry.register("crm", key, "http://127.0.0.1:8888", (), TTL)
    assert created is False
    assert [i.instance_id for i in service_view(registry, "crm").instances] == [key]


def test_a_heartbeat_of_an_unknown_instance_is_refused(registry: Registry) -> None:
    assert registry.heartbeat("crm@127.0.0.1:1") is False
    key = register(registry, "crm", "http://127.0.0.1:8888")
    assert registry.heartbeat(key) is True


def test_an_instance_is_unhealthy_once_its_ttl_lapses_and_healthy_after_a_heartbeat(
        registry: Registry, clock: FakeClock) -> None:
    key = register(registry, "crm", "http://127.0.0.1:8888", ttl=5.0)
    assert status_of(registry, key) == "healthy"
    clock.advance(5.0)
    assert status_of(registry, key) == "healthy"  # exactly at the TTL still counts
    clock.advance(0.1)
    assert status_of(registry, key) == "unhealthy"
    assert registry.pick("crm") is None
    assert registry.heartbeat(key) is True
    assert status_of(registry, key) == "healthy"
    assert registry.pick("crm").instance_id == key  # type: ignore[union-attr]


def test_a_not_ready_instance_is_listed_as_such_and_never_picked(registry: Registry) -> None:
    key = register(registry, "crm", "http://127.0.0.1:8888", ready=False)
    assert status_of(registry, key) == "not_ready"
    assert registry.pick("crm") is None
    registry.heartbeat(key, ready=True)
    assert status_of(registry, key) == "healthy"
    registry.heartbeat(key, ready=False)
    assert status_of(registry, key) == "not_ready"
    assert registry.pick("crm") is None


def test_the_heartbeat_age_is_reported(registry: Registry, clock: FakeClock) -> None:
    key = register(registry, "crm", "http://127.0.0.1:8888")
    clock.advance(2.5)
    (instance,) = service_view(registry, "crm").instances
    assert instance.instance_id == key
    assert instance.last_heartbeat_age_s == 2.5


# --- picking --------------------------------------------------------------------------------------


def test_pick_round_robins_across_healthy_instances(registry: Registry) -> None:
    registry.default_strategy = "round_robin"
    a = register(registry, "crm", "http://127.0.0.1:8001")
    b = register(registry, "crm", "http://127.0.0.1:8002")
    picks = [registry.pick("crm").instance_id for _ in range(6)]  # type: ignore[union-attr]
    assert sorted(picks) == sorted([a, b] * 3)
    assert all(picks[i] != picks[i + 1] for i in range(len(picks) - 1))


def test_pick_skips_unhealthy_instances(registry: Registry, clock: FakeClock) -> None:
    a = register(registry, "crm", "http://127.0.0.1:8001")
    register(registry, "crm", "http://127.0.0.1:8002")
    clock.advance(TTL + 1)
    registry.heartbeat(a)
    assert {registry.pick("crm").instance_id for _ in range(5)} == {a}  # type: ignore[union-attr]


def test_pick_only_returns_instances_of_the_service_asked_for(registry: Registry) -> None:
    register(registry, "crm", "http://127.0.0.1:8001")
    assert registry.pick("resume") is None
    assert registry.pick("crm").service == "crm"  # type: ignore[union-attr]


# --- static seeds ---------------------------------------------------------------------------------


def test_a_seed_is_unknown_until_its_first_heartbeat(registry: Registry) -> None:
    seed = registry.seed("crm", "http://127.0.0.1:8888/")
    assert seed.instance_id == instance_id("crm", "http://127.0.0.1:8888")
    assert seed.static is True
    assert status_of(registry, seed.instance_id) == "unknown"
    assert registry.heartbeat(seed.instance_id) is True
    assert status_of(registry, seed.instance_id) == "healthy"


def test_seeding_twice_keeps_one_instance(registry: Registry) -> None:
    first = registry.seed("crm", "http://127.0.0.1:8888")
    assert registry.seed("crm", "http://127.0.0.1:8888/") is first
    assert len(service_view(registry, "crm").instances) == 1


def test_a_seed_is_picked_when_no_instance_is_healthy(registry: Registry, clock: FakeClock) -> None:
    seed = registry.seed("crm", "http://127.0.0.1:8888")
    assert registry.pick("crm") is seed
    dynamic = register(registry, "crm", "http://127.0.0.1:9999")
    # A healthy instance is preferred over one never heard from ...
    assert {registry.pick("crm").instance_id for _ in range(4)} == {dynamic}  # type: ignore[union-attr]
    # ... and once it lapses the seed is tried again.
    clock.advance(TTL + 1)
    assert registry.pick("crm") is seed


def test_a_registration_with_the_seeds_id_merges_into_the_seed(registry: Registry) -> None:
    url = "http://127.0.0.1:8888"
    seed = registry.seed("crm", url)
    instance, created = registry.register("crm", instance_id("crm", url), url, ("/api/v1/extra",), 3.0, True)
    assert created is False
    assert instance.static is True
    assert instance.ttl == 3.0
    view = service_view(registry, "crm")
    assert [(i.instance_id, i.static, i.status) for i in view.instances] == [(seed.instance_id, True, "healthy")]
    assert registry.resolve("/api/v1/extra/1") == "crm"


def test_deregistering_a_seed_keeps_it_listed_as_unknown(registry: Registry) -> None:
    seed = registry.seed("crm", "http://127.0.0.1:8888")
    registry.heartbeat(seed.instance_id)
    assert registry.deregister(seed.instance_id) is True
    assert status_of(registry, seed.instance_id) == "unknown"
    assert registry.pick("crm") is seed


def test_deregistering_a_dynamic_instance_removes_it(registry: Registry) -> None:
    key = register(registry, "crm", "http://127.0.0.1:8888", prefixes=("/api/v1/extra",))
    assert registry.deregister(key) is True
    assert service_view(registry, "crm").instances == []
    assert registry.resolve("/api/v1/extra") is None
    assert registry.pick("crm") is None
    assert registry.heartbeat(key) is False
    assert registry.deregister(key) is False


def test_long_silent_dynamic_instances_are_forgotten_but_seeds_are_not(registry: Registry, clock: FakeClock) -> None:
    seed = registry.seed("crm", "http://127.0.0.1:8888")
    registry.heartbeat(seed.instance_id)
    key = register(registry, "crm", "http://127.0.0.1:9999", ttl=2.0)
    clock.advance(FORGET_AFTER_TTLS * 2.0)
    assert status_of(registry, key) == "unhealthy"  # silent, still listed
    clock.advance(0.5)
    ids = [i.instance_id for i in service_view(registry, "crm").instances]
    assert ids == [seed.instance_id]
    assert status_of(registry, seed.instance_id) == "unhealthy"
    assert registry.heartbeat(key) is False  # forgotten: it must register again


def test_pick_forgets_long_silent_instances_too(registry: Registry, clock: FakeClock) -> None:
    key = register(registry, "crm", "http://127.0.0.1:9999", ttl=1.0)
    clock.advance(FORGET_AFTER_TTLS * 1.0 + 1)
    assert registry.pick("crm") is None
    assert registry.heartbeat(key) is False


# --- the service listing --------------------------------------------------------------------------


def test_every_static_route_service_is_listed_even_without_instances(registry: Registry) -> None:
    views = {v.service: v for v in registry.services()}
    assert set(views) == {spec.name for spec in UPSTREAMS}
    assert [v.service for v in registry.services()] == sorted(views)
    crm = views["crm"]
    assert crm.status == "unhealthy"
    assert crm.instances == []
    assert crm.prefixes == sorted(p for p, s in STATIC_ROUTES.items() if s == "crm")


def test_service_status_is_healthy_degraded_or_unhealthy(registry: Registry, clock: FakeClock) -> None:
    a = register(registry, "crm", "http://127.0.0.1:8001")
    b = register(registry, "crm", "http://127.0.0.1:8002")
    assert service_view(registry, "crm").status == "healthy"
    registry.heartbeat(b, ready=False)
    assert service_view(registry, "crm").status == "degraded"
    registry.heartbeat(b, ready=True)
    clock.advance(TTL + 1)
    registry.heartbeat(a)
    assert service_view(registry, "crm").status == "degraded"
    clock.advance(TTL + 1)
    assert service_view(registry, "crm").status == "unhealthy"


def test_a_service_with_only_unknown_seeds_is_unhealthy(registry: Registry) -> None:
    registry.seed("resume", "http://127.0.0.1:8207")
    view = service_view(registry, "resume")
    assert view.status == "unhealthy"
    assert [(i.status, i.static, i.last_heartbeat_age_s) for i in view.instances] == [("unknown", True, None)]


def test_a_registered_service_outside_the_static_table_is_listed_with_its_prefixes(registry: Registry) -> None:
    register(registry, "scheduling", "http://127.0.0.1:9100", prefixes=("/api/v1/interviews", "/api/v1/slots"))
    view = service_view(registry, "scheduling")
    assert view.status == "healthy"
    assert view.prefixes == ["/api/v1/interviews", "/api/v1/slots"]
