"""The gateway registry shared through the cache: two gateways, each with its own cache client.

Runs on the embedded cache (gateways on one machine) and on Redis (gateways anywhere).
"""

from __future__ import annotations

from collections.abc import Callable

from ai_services.ai_gateway.registry import Registry
from ai_services.ai_gateway.roster import Roster
from shared.database.cache import Cache

ROUTES = {"/api/v1/talents": "crm"}


def gateway(cache: Cache) -> tuple[Registry, Roster]:
    registry = Registry(static_routes=dict(ROUTES), default_ttl=10)
    return registry, Roster(cache, registry)


async def test_an_instance_registered_at_one_gateway_is_routed_to_by_the_other(
        cache_opener: Callable[[], Cache]) -> None:
    first_cache, second_cache = cache_opener(), cache_opener()
    try:
        first, first_roster = gateway(first_cache)
        second, second_roster = gateway(second_cache)
        instance, _ = first.register("crm", "crm@a", "http://a:8888", ("/api/v1/interviews",), 10, True, 3)
        await first_roster.registered(instance)
        assert second.pick("crm") is None
        await second_roster.sync()
        seen = second.pick("crm")
        assert seen is not None and (seen.instance_id, seen.url, seen.weight) == ("crm@a", "http://a:8888", 3)
        assert second.resolve("/api/v1/interviews/1") == "crm"  # its declared prefixes came along

        first.heartbeat("crm@a", ready=False)
        await first_roster.beat(instance)
        await second_roster.sync()
        assert second.pick("crm") is None  # not ready any more, as it told the first gateway

        first.deregister("crm@a")
        await first_roster.deregistered("crm@a")
        await second_roster.sync()
        assert second.get("crm@a") is None
    finally:
        await first_cache.close()
        await second_cache.close()


async def test_what_a_gateway_measured_survives_a_sync(cache_opener: Callable[[], Cache]) -> None:
    cache = cache_opener()
    try:
        registry, roster = gateway(cache)
        instance, _ = registry.register("crm", "crm@a", "http://a:8888", (), 10)
        await roster.registered(instance)
        registry.record(instance, failure=False, outlier=False, seconds=0.050)
        instance.in_flight = 2
        await roster.sync()
        same = registry.get("crm@a")
        assert same is instance and same.latency_ewma == 0.050 and same.in_flight == 2
    finally:
        await cache.close()


async def test_a_registration_not_yet_in_the_index_is_not_dropped_by_a_sync(cache_opener: Callable[[], Cache]) -> None:
    cache = cache_opener()
    try:
        registry, roster = gateway(cache)
        registry.register("crm", "crm@local", "http://l:8888", (), 10)  # its roster write is still to come
        await roster.sync()
        assert registry.get("crm@local") is not None
    finally:
        await cache.close()
