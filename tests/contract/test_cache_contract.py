"""The Cache contract, run against the embedded SQLite-file cache and Redis alike.

The two-process tests at the end are the embedded cache's own: Redis is shared by design, while
the embedded cache must prove that values, messages and locks cross process boundaries.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from shared.database.cache import KEEP_ALIVE_TASK, Cache, LockTimeout, Subscription, Throttle, open_cache
from shared.database.cache_embedded import EmbeddedCache
from tests.contract.processes import python_process

SHORT_TTL = 0.2
PAST_SHORT_TTL = 0.35
RECEIVE_TIMEOUT = 3.0
QUIET_PERIOD = 0.3
SHORT_WAIT = 0.2
CONCURRENT_CALLS = 20
IDLE_RATE = 0.001  # one request per 1,000 s: no capacity comes back while a test runs
FAST_RATE = 20.0  # one request per 50 ms
TIMING_TOLERANCE = 0.1  # time the test's own calls may take
CLOCK_SLACK = 0.005  # the test's sleep and the store's clock round differently
CONCURRENT_THROTTLES = 200
CONCURRENT_BURST = 37


@asynccontextmanager
async def subscribed(cache: Cache, channel: str) -> AsyncIterator[Subscription]:
    subscription = await cache.subscribe(channel)
    try:
        yield subscription
    finally:
        await subscription.close()


async def test_cache_satisfies_the_protocol_and_pings(cache: Cache) -> None:
    assert isinstance(cache, Cache)
    await cache.ping()


async def test_get_returns_what_set_stored(cache: Cache) -> None:
    assert await cache.get("talent:1") is None

    await cache.set("talent:1", "张伟 🚀".encode())
    await cache.set("talent:2", b"\x00\xff binary")

    assert await cache.get("talent:1") == "张伟 🚀".encode()
    assert await cache.get("talent:2") == b"\x00\xff binary"


async def test_set_overwrites_the_value(cache: Cache) -> None:
    await cache.set("job:1", b"draft")
    await cache.set("job:1", b"open")

    assert await cache.get("job:1") == b"open"


async def test_delete_reports_whether_the_key_existed(cache: Cache) -> None:
    await cache.set("job:1", b"open")

    assert await cache.delete("job:1") is True
    assert await cache.get("job:1") is None
    assert await cache.delete("job:1") is False


async def test_value_expires_after_its_ttl(cache: Cache) -> None:
    await cache.set("session", b"live", ttl=SHORT_TTL)
    await cache.set("forever", b"kept")
    assert await cache.get("session") == b"live"

    await asyncio.sleep(PAST_SHORT_TTL)

    assert await cache.get("session") is None
    assert await cache.get("forever") == b"kept"
    assert await cache.delete("session") is False


async def test_set_without_ttl_clears_an_earlier_ttl(cache: Cache) -> None:
    await cache.set("session", b"short", ttl=SHORT_TTL)
    await cache.set("session", b"long")

    await asyncio.sleep(PAST_SHORT_TTL)

    assert await cache.get("session") == b"long"


async def test_add_sets_only_when_the_key_is_absent(cache: Cache) -> None:
    assert await cache.add("idempotency:k1", b"first") is True
    assert await cache.add("idempotency:k1", b"second") is False

    assert await cache.get("idempotency:k1") == b"first"


async def test_add_succeeds_once_the_old_value_expired(cache: Cache) -> None:
    assert await cache.add("idempotency:k1", b"first", ttl=SHORT_TTL) is True

    await asyncio.sleep(PAST_SHORT_TTL)

    assert await cache.add("idempotency:k1", b"second") is True
    assert await cache.get("idempotency:k1") == b"second"


async def test_incr_counts_from_zero_and_adds_the_amount(cache: Cache) -> None:
    assert await cache.incr("logins") == 1
    assert await cache.incr("logins", 5) == 6
    assert await cache.incr("logins", -2) == 4

    assert await cache.get("logins") == b"4"


async def test_incr_applies_ttl_only_when_it_creates_the_counter(cache: Cache) -> None:
    assert await cache.incr("window", ttl=SHORT_TTL) == 1
    assert await cache.incr("window", ttl=60) == 2

    await asyncio.sleep(PAST_SHORT_TTL)

    assert await cache.get("window") is None
    assert await cache.incr("window", ttl=60) == 1


async def test_incr_with_ttl_leaves_an_existing_counter_without_expiry(cache: Cache) -> None:
    assert await cache.incr("total") == 1
    assert await cache.incr("total", ttl=SHORT_TTL) == 2

    await asyncio.sleep(PAST_SHORT_TTL)

    assert await cache.get("total") == b"2"


async def test_incr_rejects_a_value_that_is_not_an_integer(cache: Cache) -> None:
    await cache.set("name", b"not a number")

    with pytest.raises(ValueError, match="name"):
        await cache.incr("name")
    assert await cache.get("name") == b"not a number"


async def test_concurrent_incr_calls_lose_no_increment(cache: Cache) -> None:
    await cache.ping()  # connected already, as in a running service, so the calls share a connection
    results = await asyncio.gather(*(cache.incr("hits") for _ in range(CONCURRENT_CALLS)))

    assert sorted(results) == list(range(1, CONCURRENT_CALLS + 1))
    assert await cache.get("hits") == str(CONCURRENT_CALLS).encode()


async def test_throttle_admits_the_burst_from_idle_then_refuses_for_one_interval(cache: Cache) -> None:
    rate, burst = 1.0, 5

    admitted = [await cache.throttle("org:1", rate, burst) for _ in range(burst)]
    refused = await cache.throttle("org:1", rate, burst)

    assert [answer.allowed for answer in admitted] == [True] * burst
    assert [answer.remaining for answer in admitted] == list(range(burst - 1, -1, -1))
    assert [answer.retry_after for answer in admitted] == [0.0] * burst
    assert admitted[0].reset_after == 1 / rate
    assert refused.allowed is False
    assert refused.remaining == 0
    assert refused.retry_after == pytest.approx(1 / rate, abs=TIMING_TOLERANCE)
    assert refused.reset_after == pytest.approx(burst / rate, abs=TIMING_TOLERANCE)


async def test_throttle_admits_one_more_after_waiting_retry_after(cache: Cache) -> None:
    burst = 3
    for _ in range(burst):
        assert (await cache.throttle("route:search", FAST_RATE, burst)).allowed
    refused = await cache.throttle("route:search", FAST_RATE, burst)
    assert refused.allowed is False
    assert refused.retry_after is not None

    await asyncio.sleep(refused.retry_after + CLOCK_SLACK)

    admitted = await cache.throttle("route:search", FAST_RATE, burst)
    assert admitted.allowed is True
    assert admitted.remaining == 0
    assert (await cache.throttle("route:search", FAST_RATE, burst)).allowed is False


async def test_throttles_with_different_keys_are_independent(cache: Cache) -> None:
    for _ in range(2):
        assert (await cache.throttle("org:1", IDLE_RATE, 2)).allowed
    assert (await cache.throttle("org:1", IDLE_RATE, 2)).allowed is False

    other = await cache.throttle("org:2", IDLE_RATE, 2)

    assert other.allowed is True
    assert other.remaining == 1


async def test_throttle_cost_counts_as_that_many_requests(cache: Cache) -> None:
    rate, burst = 1.0, 5

    first = await cache.throttle("export", rate, burst, cost=3)
    refused = await cache.throttle("export", rate, burst, cost=3)
    rest = await cache.throttle("export", rate, burst, cost=2)

    assert (first.allowed, first.remaining, first.reset_after) == (True, 2, 3 / rate)
    assert (refused.allowed, refused.remaining) == (False, 2)
    assert refused.retry_after == pytest.approx(1 / rate, abs=TIMING_TOLERANCE)
    assert (rest.allowed, rest.remaining) == (True, 0)


async def test_concurrent_throttle_calls_from_two_clients_admit_exactly_the_burst(
    cache_opener: Callable[[], Cache],
) -> None:
    first, second = cache_opener(), cache_opener()
    try:
        await first.ping()
        await second.ping()
        answers = await asyncio.gather(
            *(
                client.throttle("gateway:org:1", IDLE_RATE, CONCURRENT_BURST)
                for client in (first, second)
                for _ in range(CONCURRENT_THROTTLES // 2)
            )
        )
    finally:
        await first.close()
        await second.close()

    admitted = [answer for answer in answers if answer.allowed]
    assert len(admitted) == CONCURRENT_BURST
    assert sorted(answer.remaining for answer in admitted) == list(range(CONCURRENT_BURST))


async def test_refused_requests_do_not_use_up_capacity(cache: Cache) -> None:
    assert (await cache.throttle("user:7", FAST_RATE, 1)).allowed
    refusals = [await cache.throttle("user:7", FAST_RATE, 1) for _ in range(5)]
    assert [refusal.allowed for refusal in refusals] == [False] * 5
    waits = [refusal.retry_after or math.inf for refusal in refusals]
    assert waits == sorted(waits, reverse=True)

    await asyncio.sleep(1 / FAST_RATE + CLOCK_SLACK)

    assert (await cache.throttle("user:7", FAST_RATE, 1)).allowed is True
    assert (await cache.throttle("user:7", FAST_RATE, 1)).allowed is False


@pytest.mark.parametrize(
    ("rate", "burst", "cost", "named"),
    [
        (0, 5, 1, "rate"),
        (-1.0, 5, 1, "rate"),
        (math.nan, 5, 1, "rate"),
        (math.inf, 5, 1, "rate"),
        (2_000_000.0, 5, 1, "rate"),
        (1.0, 0, 1, "burst"),
        (1.0, 2.5, 1, "burst"),
        (1.0, 5, 0, "cost"),
        (1.0, 5, 1.5, "cost"),
        (1e-9, 5, 1, "burst / rate"),
    ],
)
async def test_throttle_rejects_invalid_arguments(cache: Cache, rate: float, burst: int, cost: int, named: str) -> None:
    with pytest.raises(ValueError, match=f"throttle {named} must"):
        await cache.throttle("org:1", rate, burst, cost)
    assert await cache.get("org:1") is None


async def test_throttle_refuses_a_cost_above_the_burst_for_good_and_keeps_the_capacity(cache: Cache) -> None:
    over = await cache.throttle("bulk", 1.0, 5, cost=6)

    assert over == Throttle(allowed=False, remaining=5, retry_after=None, reset_after=0.0)
    assert (await cache.throttle("bulk", 1.0, 5, cost=5)).allowed is True


async def test_throttle_rejects_a_key_holding_another_value(cache: Cache) -> None:
    await cache.set("name", b"not a throttle")

    with pytest.raises(ValueError, match="name"):
        await cache.throttle("name", 1.0, 5)
    assert await cache.get("name") == b"not a throttle"


async def test_throttle_state_expires_once_the_full_burst_is_back(cache: Cache) -> None:
    burst = 2
    for _ in range(burst):
        assert (await cache.throttle("org:9", FAST_RATE, burst)).allowed
    assert await cache.get("org:9") is not None

    await asyncio.sleep(burst / FAST_RATE + 0.05)

    assert await cache.get("org:9") is None
    again = [await cache.throttle("org:9", FAST_RATE, burst) for _ in range(burst)]
    assert [(answer.allowed, answer.remaining) for answer in again] == [(True, 1), (True, 0)]


async def test_message_published_after_subscribe_is_received(cache: Cache) -> None:
    async with subscribed(cache, "revocations") as subscription:
        await cache.publish("revocations", b"token:abc")

        assert await subscription.next(RECEIVE_TIMEOUT) == b"token:abc"


async def test_messages_arrive_in_publish_order(cache: Cache) -> None:
    sent = [f"event {i} 事件".encode() for i in range(10)]
    async with subscribed(cache, "projector") as subscription:
        for message in sent:
            await cache.publish("projector", message)

        received = [await subscription.next(RECEIVE_TIMEOUT) for _ in sent]
    assert received == sent


async def test_subscriber_of_another_channel_receives_nothing(cache: Cache) -> None:
    async with subscribed(cache, "revocations") as wanted, subscribed(cache, "invalidations") as other:
        await cache.publish("revocations", b"token:abc")

        assert await wanted.next(RECEIVE_TIMEOUT) == b"token:abc"
        assert await other.next(QUIET_PERIOD) is None


async def test_next_returns_none_when_nothing_arrives_in_time(cache: Cache) -> None:
    async with subscribed(cache, "quiet") as subscription:
        assert await subscription.next(QUIET_PERIOD) is None


async def test_message_published_before_subscribe_is_not_delivered(cache: Cache) -> None:
    await cache.publish("revocations", b"too early")
    async with subscribed(cache, "revocations") as subscription:
        await cache.publish("revocations", b"on time")

        assert await subscription.next(RECEIVE_TIMEOUT) == b"on time"
        assert await subscription.next(QUIET_PERIOD) is None


async def test_every_subscriber_of_a_channel_receives_the_message(cache: Cache) -> None:
    async with subscribed(cache, "invalidations") as first, subscribed(cache, "invalidations") as second:
        await cache.publish("invalidations", b"talent:1")

        assert await first.next(RECEIVE_TIMEOUT) == b"talent:1"
        assert await second.next(RECEIVE_TIMEOUT) == b"talent:1"


async def test_lock_is_exclusive_while_held(cache: Cache) -> None:
    async with cache.lock("reindex"):
        with pytest.raises(LockTimeout):
            async with cache.lock("reindex", wait=SHORT_WAIT):
                pass


async def test_lock_can_be_taken_again_after_release(cache: Cache) -> None:
    async with cache.lock("reindex", wait=SHORT_WAIT):
        pass

    async with cache.lock("reindex", wait=SHORT_WAIT):
        pass


async def test_locks_with_different_names_do_not_block_each_other(cache: Cache) -> None:
    async with cache.lock("reindex"), cache.lock("reconcile", wait=SHORT_WAIT):
        pass


def stop_renewing(name: str) -> None:
    """What a holder's death does to its lock: nobody renews it any more."""
    for task in asyncio.all_tasks():
        if task.get_name() == f"{KEEP_ALIVE_TASK}{name}":
            task.cancel()


async def test_lock_of_a_holder_that_never_released_expires_after_its_ttl(cache: Cache) -> None:
    abandoned = cache.lock("projector", ttl=SHORT_TTL)
    await abandoned.__aenter__()
    stop_renewing("projector")

    async with cache.lock("projector", wait=RECEIVE_TIMEOUT):
        await abandoned.__aexit__(None, None, None)
        with pytest.raises(LockTimeout):
            async with cache.lock("projector", wait=SHORT_WAIT):
                pass


async def test_a_held_lock_outlives_its_ttl_while_its_holder_runs(cache: Cache) -> None:
    async with cache.lock("projector", ttl=SHORT_TTL):
        await asyncio.sleep(SHORT_TTL * 4)  # renewed every SHORT_TTL / 3
        with pytest.raises(LockTimeout):
            async with cache.lock("projector", wait=SHORT_WAIT):
                pass

    async with cache.lock("projector", wait=SHORT_WAIT):  # released at the end of the block
        pass


def test_open_cache_without_a_url_is_the_embedded_cache(tmp_path: Path) -> None:
    assert open_cache(None, str(tmp_path / "cache.db")).backend == "embedded"


@pytest.mark.server
async def test_open_cache_with_a_url_is_redis(redis_server_url: str, tmp_path: Path) -> None:
    opened = open_cache(redis_server_url, str(tmp_path / "cache.db"))
    try:
        assert opened.backend == "redis"
        await opened.ping()
    finally:
        await opened.close()


PUBLISH_FROM_A_CHILD = """
    import asyncio, sys
    from shared.database.cache_embedded import EmbeddedCache

    async def main(path: str) -> None:
        cache = EmbeddedCache(path)
        await cache.set("token:abc", "已撤销".encode())
        await cache.publish("revocations", "token:abc 已撤销".encode())
        await cache.close()

    asyncio.run(main(sys.argv[1]))
"""

SUBSCRIBE_IN_A_CHILD = """
    import asyncio, sys
    from shared.database.cache_embedded import EmbeddedCache

    async def main(path: str) -> None:
        cache = EmbeddedCache(path)
        subscription = await cache.subscribe("invalidations")
        print("subscribed", flush=True)
        message = await subscription.next(timeout=5)
        print("received", message.decode() if message else None, flush=True)
        print("value", (await cache.get("talent:1")).decode(), flush=True)
        await cache.close()

    asyncio.run(main(sys.argv[1]))
"""

HOLD_LOCK_IN_A_CHILD = """
    import asyncio, sys
    from shared.database.cache_embedded import EmbeddedCache

    async def main(path: str) -> None:
        cache = EmbeddedCache(path)
        async with cache.lock("projector", ttl=30):
            print("held", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
        await cache.close()

    asyncio.run(main(sys.argv[1]))
"""

THROTTLE_IN_A_CHILD = """
    import asyncio, sys
    from shared.database.cache_embedded import EmbeddedCache

    async def main(path: str, calls: int, rate: float, burst: int) -> None:
        cache = EmbeddedCache(path)
        await cache.ping()
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        answers = await asyncio.gather(*(cache.throttle("gateway:org:1", rate, burst) for _ in range(calls)))
        print(sum(answer.allowed for answer in answers), flush=True)
        await cache.close()

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])))
"""


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[EmbeddedCache]:
    cache = EmbeddedCache(tmp_path / "cache.db")
    yield cache
    await cache.close()


async def test_embedded_value_and_message_from_another_process_arrive(embedded: EmbeddedCache) -> None:
    async with subscribed(embedded, "revocations") as subscription:
        async with python_process(PUBLISH_FROM_A_CHILD, str(embedded.path)) as child:
            await child.finish()

        assert await embedded.get("token:abc") == "已撤销".encode()
        assert await subscription.next(RECEIVE_TIMEOUT) == "token:abc 已撤销".encode()


async def test_embedded_value_and_message_reach_another_process(embedded: EmbeddedCache) -> None:
    async with python_process(SUBSCRIBE_IN_A_CHILD, str(embedded.path)) as child:
        assert await child.read_line() == "subscribed"
        await embedded.set("talent:1", "张伟".encode())
        await embedded.publish("invalidations", "talent:1 更新".encode())

        output, _ = await child.finish()

    assert output.splitlines() == ["received talent:1 更新", "value 张伟"]


async def test_embedded_lock_held_by_another_process_is_exclusive(embedded: EmbeddedCache) -> None:
    async with python_process(HOLD_LOCK_IN_A_CHILD, str(embedded.path)) as child:
        assert await child.read_line() == "held"
        with pytest.raises(LockTimeout):
            async with embedded.lock("projector", wait=SHORT_WAIT):
                pass

        await child.send_line("release")
        await child.finish()

    async with embedded.lock("projector", wait=SHORT_WAIT):
        pass


async def test_embedded_throttle_is_exact_across_processes(embedded: EmbeddedCache) -> None:
    calls = CONCURRENT_THROTTLES // 2
    args = (str(embedded.path), str(calls), str(IDLE_RATE), str(CONCURRENT_BURST))
    await embedded.ping()
    async with python_process(THROTTLE_IN_A_CHILD, *args) as child:
        assert await child.read_line() == "ready"
        await child.send_line("go")
        answers = await asyncio.gather(
            *(embedded.throttle("gateway:org:1", IDLE_RATE, CONCURRENT_BURST) for _ in range(calls))
        )
        output, _ = await child.finish()

    assert sum(answer.allowed for answer in answers) + int(output) == CONCURRENT_BURST


async def test_writes_given_up_by_their_callers_leave_the_store_usable_by_others(cache_opener) -> None:  # type: ignore[no-untyped-def]
    """A request that times out mid-write must not leave the store locked against other processes."""
    first, second = cache_opener(), cache_opener()
    try:
        await first.set("warm", b"1")
        for _ in range(30):
            task = asyncio.create_task(first.incr("counter", ttl=60))
            await asyncio.sleep(0)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        await asyncio.wait_for(second.set("other", b"1"), timeout=3)
        assert await second.get("other") == b"1"
        assert 0 <= int(await first.get("counter") or 0) <= 30
    finally:
        await first.close()
        await second.close()
