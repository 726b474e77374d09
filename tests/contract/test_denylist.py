"""The denylist across processes, on the embedded cache and on Redis.

A child process plays the auth service: it revokes a token or cuts a subject off. A verifier's
Denylist listening in this process must know it from memory within a second (pub/sub), and a
Denylist that starts after the fact must still refuse through `denies_fresh` (the cache).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from shared.database.cache import Cache
from shared.database.cache_embedded import EmbeddedCache
from shared.database.cache_redis import RedisCache
from shared.service.auth.denylist import Denylist
from tests.contract.processes import PythonProcess, python_process

PROPAGATION = 1.0  # seconds within which a running verifier must hear of a revocation
LISTEN_TIMEOUT = 5.0

REVOKE_IN_A_CHILD = """
    import asyncio, sys
    from shared.database.cache_embedded import EmbeddedCache
    from shared.database.cache_redis import RedisCache
    from shared.service.auth.denylist import Denylist

    async def main(backend: str, *where: str) -> None:
        cache = EmbeddedCache(where[0]) if backend == "embedded" else RedisCache(where[0], namespace=where[1])
        await cache.ping()
        denylist = Denylist(lambda: cache)
        print("ready", flush=True)
        while True:
            command, *args = (await asyncio.to_thread(sys.stdin.readline)).split()
            if command == "revoke":
                await denylist.revoke_token(args[0], float(args[1]))
            elif command == "cut-off":
                await denylist.cut_off(args[0], float(args[1]), at=float(args[2]))
            else:
                break
            print("done", flush=True)
        await cache.close()

    asyncio.run(main(*sys.argv[1:]))
"""


def child_arguments(cache: Cache) -> tuple[str, ...]:
    """How a child process opens the same cache as `cache`."""
    if isinstance(cache, EmbeddedCache):
        return ("embedded", str(cache.path))
    assert isinstance(cache, RedisCache)
    return ("redis", cache.url, cache.namespace)


@asynccontextmanager
async def revoker(cache: Cache) -> AsyncIterator[PythonProcess]:
    """The child playing the auth service, with its cache connection already open."""
    async with python_process(REVOKE_IN_A_CHILD, *child_arguments(cache)) as child:
        assert await child.read_line() == "ready"
        yield child
        await child.send_line("quit")
        await child.finish()


@asynccontextmanager
async def listening(cache: Cache) -> AsyncIterator[Denylist]:
    """A verifier's Denylist, subscribed to the channel."""
    denylist = Denylist(lambda: cache)
    denylist.start()
    try:
        await asyncio.wait_for(denylist.listening.wait(), LISTEN_TIMEOUT)
        yield denylist
    finally:
        await denylist.stop()


async def seconds_until(condition: Callable[[], bool], limit: float) -> float | None:
    """How long until `condition` held, polling; None when it did not within `limit` seconds."""
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < limit:
        if condition():
            return elapsed
        await asyncio.sleep(0.005)
    return None


async def test_a_revocation_and_a_cut_off_reach_a_running_verifier_within_a_second(
    cache_opener: Callable[[], Cache],
) -> None:
    cache = cache_opener()
    jti, subject = uuid.uuid4().hex, f"user-{uuid.uuid4().hex[:8]}"
    cutoff = time.time()
    before, after = cutoff - 5, cutoff + 1
    try:
        async with listening(cache) as denylist, revoker(cache) as child:
            assert not denylist.denies(jti, ("user-1",), before)

            await child.send_line(f"revoke {jti} {time.time() + 300}")
            heard = await seconds_until(lambda: denylist.denies(jti, ("user-1",), before), PROPAGATION)
            assert heard is not None, f"the revocation was not heard within {PROPAGATION}s"
            assert await child.read_line() == "done"

            await child.send_line(f"cut-off {subject} 300 {cutoff!r}")
            heard = await seconds_until(lambda: denylist.denies("jti-1", (subject,), before), PROPAGATION)
            assert heard is not None, f"the cut-off was not heard within {PROPAGATION}s"
            assert await child.read_line() == "done"

            assert not denylist.denies(uuid.uuid4().hex, ("user-1",), before)
            assert denylist.denies("jti-2", ("key-9", subject), before)  # an API key the subject owns
            assert not denylist.denies("jti-3", (subject,), after)
            assert not denylist.denies("jti-4", ("someone-else",), before)
    finally:
        await cache.close()


async def test_a_denylist_started_afterwards_refuses_through_the_cache(cache_opener: Callable[[], Cache]) -> None:
    cache = cache_opener()
    jti, subject = uuid.uuid4().hex, f"user-{uuid.uuid4().hex[:8]}"
    cutoff = time.time()
    before, after = cutoff - 5, cutoff + 1
    try:
        async with revoker(cache) as child:
            await child.send_line(f"revoke {jti} {time.time() + 300}")
            assert await child.read_line() == "done"
            await child.send_line(f"cut-off {subject} 300 {cutoff!r}")
            assert await child.read_line() == "done"

        latecomer = Denylist(lambda: cache)
        assert not latecomer.denies(jti, ("user-1",), before)  # nothing heard: it was not listening
        assert not latecomer.denies("jti-1", (subject,), before)

        assert await latecomer.denies_fresh(jti, ("user-1",), before)
        assert latecomer.denies(jti, ("user-1",), before)  # remembered from the cache read
        assert not await latecomer.denies_fresh(uuid.uuid4().hex, ("user-1",), before)
        assert await latecomer.denies_fresh("jti-1", (subject,), before)
        assert await latecomer.denies_fresh("jti-2", ("key-9", subject), before)
        assert not await latecomer.denies_fresh("jti-3", (subject,), after)
        assert not await latecomer.denies_fresh("jti-4", ("someone-else",), before)
    finally:
        await cache.close()
