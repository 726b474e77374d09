"""The gateway's policies on their own: breaker, balancing, retry budget, rate limits, outlier ejection.

No I/O: time is a fake clock the tests move by hand.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

import pytest

from ai_services.ai_gateway.balancing import Balancer
from ai_services.ai_gateway.breaker import Breaker, BreakerPolicy
from ai_services.ai_gateway.limits import Limit, Limiter, MemoryThrottle, burst_of
from ai_services.ai_gateway.registry import OutlierPolicy, Registry
from ai_services.ai_gateway.retries import RetryBudget, may_retry
from shared.fleet import instance_id
from tests.clock import FakeClock


# --- breaker --------------------------------------------------------------------------------------


def test_the_breaker_opens_after_the_configured_consecutive_failures_and_a_success_resets_the_count() -> None:
    clock = FakeClock()
    moves: list[tuple[str, str]] = []
    breaker = Breaker(BreakerPolicy(failures=3, open_seconds=5, probes=1), lambda a, b: moves.append((a, b)), clock)
    for _ in range(2):
        breaker.record(breaker.acquire(), False)  # type: ignore[arg-type]
    breaker.record(breaker.acquire(), True)  # type: ignore[arg-type]
    for _ in range(2):
        breaker.record(breaker.acquire(), False)  # type: ignore[arg-type]
    assert breaker.current() == "closed"
    breaker.record(breaker.acquire(), False)  # type: ignore[arg-type]
    assert breaker.current() == "open"
    assert breaker.acquire() is None
    assert moves == [("closed", "open")]


def test_an_open_breaker_turns_half_open_lets_limited_probes_through_and_closes_on_their_success() -> None:
    clock = FakeClock()
    moves: list[tuple[str, str]] = []
    breaker = Breaker(BreakerPolicy(failures=1, open_seconds=5, probes=2), lambda a, b: moves.append((a, b)), clock)
    breaker.record(breaker.acquire(), False)  # type: ignore[arg-type]
    clock.advance(4.9)
    assert breaker.acquire() is None
    clock.advance(0.2)
    first, second, third = breaker.acquire(), breaker.acquire(), breaker.acquire()
    assert (first, second, third) == ("probe", "probe", None)  # only `probes` at once
    breaker.record("probe", True)
    assert breaker.current() == "half_open"
    breaker.record("probe", True)
    assert breaker.current() == "closed"
    assert moves == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


def test_a_failed_probe_opens_the_breaker_again_for_a_full_period() -> None:
    clock = FakeClock()
    breaker = Breaker(BreakerPolicy(failures=1, open_seconds=5, probes=1), clock=clock)
    breaker.record(breaker.acquire(), False)  # type: ignore[arg-type]
    clock.advance(5)
    breaker.record(breaker.acquire(), False)  # type: ignore[arg-type]
    assert breaker.current() == "open"
    clock.advance(4)
    assert not breaker.allows()
    clock.advance(1)
    assert breaker.allows()


# --- balancing ------------------------------------------------------------------------------------


@dataclass
class Node:
    instance_id: str
    weight: int = 1
    in_flight: int = 0
    latency_ewma: float | None = None


def test_weighted_round_robin_gives_turns_in_proportion_and_interleaved() -> None:
    nodes = [Node("a", weight=3), Node("b", weight=1), Node("c", weight=1)]
    balancer = Balancer("weighted")
    picks = [balancer.choose(nodes).instance_id for _ in range(10)]
    assert Counter(picks) == {"a": 6, "b": 2, "c": 2}
    assert "aaa" not in "".join(picks)  # smooth, not in bursts


def test_least_connections_picks_the_least_busy() -> None:
    nodes = [Node("a", in_flight=4), Node("b", in_flight=1), Node("c", in_flight=2)]
    assert {Balancer("least_connections").choose(nodes).instance_id for _ in range(5)} == {"b"}


def test_p2c_sends_most_traffic_to_the_faster_of_two_instances() -> None:
    nodes = [Node("fast", latency_ewma=0.010), Node("slow", latency_ewma=0.210)]
    balancer = Balancer("p2c", rng=random.Random(7))
    picks = Counter(balancer.choose(nodes).instance_id for _ in range(200))
    assert picks["fast"] == 200  # of two candidates the cheaper always wins


def test_p2c_weighs_latency_by_requests_in_flight_and_tries_unmeasured_instances() -> None:
    balancer = Balancer("p2c", rng=random.Random(1))
    busy_fast = Node("a", latency_ewma=0.010, in_flight=30)
    idle_slow = Node("b", latency_ewma=0.100, in_flight=0)
    assert balancer.choose([busy_fast, idle_slow]).instance_id == "b"
    assert balancer.choose([Node("new"), Node("measured", latency_ewma=0.001)]).instance_id == "new"


# --- outlier ejection -----------------------------------------------------------------------------


def two_instances(clock: FakeClock) -> tuple[Registry, str, str]:
    registry = Registry(static_routes={"/api/v1/talents": "crm"}, default_ttl=10, clock=clock,
                        outlier_policy=OutlierPolicy(failures=3, ejection_seconds=2, max_ejection_seconds=8),
                        breaker_policy=BreakerPolicy(failures=100))
    a, b = instance_id("crm", "http://a:1"), instance_id("crm", "http://b:1")
    registry.register("crm", a, "http://a:1", (), 10)
    registry.register("crm", b, "http://b:1", (), 10)
    return registry, a, b


def test_consecutive_failures_eject_an_instance_for_a_time_that_doubles() -> None:
    clock = FakeClock()
    registry, a, b = two_instances(clock)
    instance = registry.get(a)
    assert instance is not None
    for _ in range(3):
        registry.record(instance, failure=True, outlier=True, seconds=None)
    assert {registry.pick("crm").instance_id for _ in range(10)} == {b}  # type: ignore[union-attr]
    clock.advance(2.1)
    assert a in {registry.pick("crm").instance_id for _ in range(50)}  # type: ignore[union-attr]
    for _ in range(3):
        registry.record(instance, failure=True, outlier=True, seconds=None)
    clock.advance(2.1)
    assert instance.ejected(clock())  # the second ejection lasts 4 s
    clock.advance(2)
    assert not instance.ejected(clock())


def test_the_last_available_instance_is_never_ejected() -> None:
    clock = FakeClock()
    registry, a, b = two_instances(clock)
    first, second = registry.get(a), registry.get(b)
    assert first is not None and second is not None
    for _ in range(3):
        registry.record(first, failure=True, outlier=True, seconds=None)
    for _ in range(3):
        registry.record(second, failure=True, outlier=True, seconds=None)
    assert first.ejected(clock()) and not second.ejected(clock())
    assert registry.pick("crm") is second


def test_a_success_between_failures_resets_the_count() -> None:
    clock = FakeClock()
    registry, a, _ = two_instances(clock)
    instance = registry.get(a)
    assert instance is not None
    for outcome in (True, True, False, True, True):
        registry.record(instance, failure=outcome, outlier=outcome, seconds=0.01)
    assert not instance.ejected(clock())


# --- retries --------------------------------------------------------------------------------------


def test_only_idempotent_methods_or_requests_with_an_idempotency_key_are_retried() -> None:
    assert may_retry("GET", {}) and may_retry("PUT", {}) and may_retry("DELETE", {})
    assert not may_retry("POST", {}) and not may_retry("PATCH", {})
    assert may_retry("POST", {"idempotency-key": "k1"})


def test_the_retry_budget_allows_a_fifth_of_the_traffic_beyond_its_floor() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.2, floor_per_second=2, clock=clock)
    assert [budget.withdraw() for _ in range(3)] == [True, True, False]  # the floor, then nothing
    for _ in range(100):
        budget.deposit()
    assert sum(budget.withdraw() for _ in range(50)) == 20
    clock.advance(1.0)
    assert [budget.withdraw() for _ in range(3)] == [True, True, False]  # the floor refills over a second


# --- rate limits ----------------------------------------------------------------------------------


async def test_the_limiter_refuses_past_the_burst_naming_the_limit_with_retry_after() -> None:
    clock = FakeClock()
    limiter = Limiter(MemoryThrottle(clock=clock), burst_seconds=1.0)
    limits = [Limit("user", "u1", per_minute=120)]  # 2 a second, burst 2
    assert burst_of(120, 1.0) == 2
    verdicts = [await limiter.check(limits) for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]
    refused = verdicts[2]
    headers = refused.headers(1.0)
    assert refused.limit == limits[0]
    assert headers["Retry-After"] == "1"
    assert headers["RateLimit-Remaining"] == "0"
    assert headers["RateLimit-Limit"] == "2"
    assert headers["RateLimit-Policy"] == "120;w=60"
    clock.advance(0.5)
    assert (await limiter.check(limits)).allowed


async def test_each_user_and_org_has_its_own_bucket_and_the_narrowest_refusal_is_reported() -> None:
    limiter = Limiter(MemoryThrottle(clock=FakeClock()), burst_seconds=1.0)
    org = Limit("org", "o1", per_minute=180)  # burst 3
    for user in ("u1", "u2", "u3"):
        assert (await limiter.check([Limit("user", user, 60), org])).allowed
    verdict = await limiter.check([Limit("user", "u4", 60), org])
    assert not verdict.allowed and verdict.limit == org
    verdict = await limiter.check([Limit("user", "u1", 60), org])
    assert not verdict.allowed and verdict.limit is not None and verdict.limit.scope == "user"


async def test_memory_throttle_forgets_full_buckets_when_it_holds_too_many_keys() -> None:
    clock = FakeClock()
    store = MemoryThrottle(clock=clock, max_keys=10)
    for n in range(10):
        await store.throttle(f"k{n}", rate=100, burst=1)
    clock.advance(1.0)
    await store.throttle("new", rate=100, burst=1)
    assert len(store._tats) == 1


@pytest.mark.parametrize("per_minute,seconds,burst", [(60, 10, 10), (1, 10, 1), (100_000, 10, 16_667)])
def test_the_burst_is_the_configured_seconds_worth_of_the_rate(per_minute: int, seconds: float, burst: int) -> None:
    assert burst_of(per_minute, seconds) == burst


def test_an_instance_that_was_slow_once_is_tried_again_as_its_latency_figure_fades() -> None:
    clock = FakeClock()
    registry, a, b = two_instances(clock)
    slow, fast = registry.get(a), registry.get(b)
    assert slow is not None and fast is not None
    registry.record(slow, failure=False, outlier=False, seconds=0.200)
    registry.record(fast, failure=False, outlier=False, seconds=0.002)
    assert {registry.pick("crm").instance_id for _ in range(20)} == {b}  # type: ignore[union-attr]
    clock.advance(12.0)  # nothing measured for a while: both figures fade, the slow one reaches 0.5 ms
    registry.record(fast, failure=False, outlier=False, seconds=0.002)
    registry.heartbeat(a)
    registry.heartbeat(b)
    assert registry.pick("crm") is slow


def test_a_failed_active_check_takes_an_instance_out_only_while_another_is_available() -> None:
    clock = FakeClock()
    registry, a, b = two_instances(clock)
    first, second = registry.get(a), registry.get(b)
    assert first is not None and second is not None
    first.check_failed = True
    assert {registry.pick("crm").instance_id for _ in range(10)} == {b}  # type: ignore[union-attr]
    second.check_failed = True
    assert registry.pick("crm") is not None  # heartbeats say both are up: a check alone empties nothing
