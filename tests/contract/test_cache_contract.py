"""The Cache contract, run against the embedded SQLite-file cache and Redis alike.

The two-process tests at the end are the embedded cache's own: Redis is shared by design, while
the embedded cache must prove that values, messages and locks cross process boundaries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from shared.database.cache import Cache, LockTimeout, Subscription, open_cache
from shared.database.cache_embedded import EmbeddedCache
from tests.contract.processes import python_process

SHORT_TTL = 0.2
PAST_SHORT_TTL = 0.35
RECEIVE_TIMEOUT = 3.0
QUIET_PERIOD = 0.3
SHORT_WAIT = 0.2
CONCURRENT_CALLS = 20


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


async def test_lock_of_a_holder_that_never_released_expires_after_its_ttl(cache: Cache) -> None:
    abandoned = cache.lock("projector", ttl=SHORT_TTL)
    await abandoned.__aenter__()

    async with cache.lock("projector", wait=RECEIVE_TIMEOUT):
        await abandoned.__aexit__(None, None, None)
        with pytest.raises(LockTimeout):
            async with cache.lock("projector", wait=SHORT_WAIT):
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
