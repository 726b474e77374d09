"""The cache capability on a Redis server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as redis
from redis.exceptions import LockError

from shared.database.cache import MICROSECONDS_PER_SECOND, LockTimeout, Throttle, KEEP_ALIVE_TASK, keep_alive, throttle_interval

# GCRA in one script, so that reading, deciding and storing the TAT are one atomic step, timed by
# the server's clock so that every gateway machine agrees. Times are whole microseconds, which a
# Lua number holds exactly, and the TAT is stored as a plain integer (%.0f, never an exponent).
# The arithmetic is that of `gcra` in cache.py.
# KEYS[1]: the limit's key. ARGV: emission interval (microseconds), burst, cost.
# Returns {allowed (0/1), remaining, retry_after (microseconds, -1 for never), reset_after}.
_THROTTLE_SCRIPT = """
local interval, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
    tat = tonumber(stored)
    if not tat then
        return redis.error_reply('NOTTHROTTLE the key does not hold a throttle state')
    end
    tat = math.max(tat, now)
end
local tolerance = interval * burst
local admitted_tat = tat + cost * interval
local wait = admitted_tat - tolerance - now
if cost <= burst and wait <= 0 then
    redis.call('SET', KEYS[1], string.format('%.0f', admitted_tat), 'PX', math.ceil((admitted_tat - now) / 1000))
    return {1, math.floor((tolerance - (admitted_tat - now)) / interval), 0, admitted_tat - now}
end
if cost > burst then
    wait = -1
end
return {0, math.max(0, math.floor((tolerance - (tat - now)) / interval)), wait, tat - now}
"""


class RedisSubscription:
    def __init__(self, pubsub: redis.client.PubSub, channel: str) -> None:
        self.channel = channel
        self._pubsub = pubsub

    async def next(self, timeout: float | None = None) -> bytes | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=remaining)
            if message is not None and message["type"] == "message":
                return bytes(message["data"])
            if deadline is not None and time.monotonic() >= deadline:
                return None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            message = await self.next()
            if message is not None:
                yield message

    async def close(self) -> None:
        await self._pubsub.aclose()

    async def __aenter__(self) -> RedisSubscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class RedisCache:
    backend = "redis"

    def __init__(self, url: str, namespace: str = "looma:") -> None:
        self.url = url
        self.namespace = namespace
        self._client = redis.Redis.from_url(url)
        self._throttle_script = self._client.register_script(_THROTTLE_SCRIPT)

    def _key(self, key: str) -> str:
        return self.namespace + key

    async def get(self, key: str) -> bytes | None:
        return await self._client.get(self._key(key))

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        await self._client.set(self._key(key), value, px=_millis(ttl))

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        return bool(await self._client.set(self._key(key), value, px=_millis(ttl), nx=True))

    async def delete(self, key: str) -> bool:
        return bool(await self._client.delete(self._key(key)))

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        full = self._key(key)
        async with self._client.pipeline(transaction=True) as pipe:
            if ttl is not None:
                # Creating the counter at 0 with SET NX gives it the TTL only if it was absent;
                # PEXPIRE NX would also set one on an existing counter that has no expiry.
                pipe.set(full, 0, px=_millis(ttl), nx=True)
            pipe.incrby(full, amount)
            try:
                results = await pipe.execute()
            except redis.ResponseError as error:
                raise ValueError(f"cache key {key!r} does not hold an integer") from error
        return int(results[-1])

    async def throttle(self, key: str, rate: float, burst: int, cost: int = 1) -> Throttle:
        interval = throttle_interval(rate, burst, cost)
        try:
            allowed, remaining, wait, reset = await self._throttle_script(
                keys=[self._key(key)], args=[interval, burst, cost]
            )
        except redis.ResponseError as error:
            raise ValueError(f"cache key {key!r} does not hold a throttle state") from error
        retry_after = None if wait < 0 else wait / MICROSECONDS_PER_SECOND
        return Throttle(bool(allowed), int(remaining), retry_after, reset / MICROSECONDS_PER_SECOND)

    async def publish(self, channel: str, message: bytes) -> None:
        await self._client.publish(self._key(channel), message)

    async def subscribe(self, channel: str) -> RedisSubscription:
        pubsub = self._client.pubsub()
        await pubsub.subscribe(self._key(channel))
        # Wait for the server's confirmation: only then are later publishes sure to arrive.
        while True:
            confirmation = await pubsub.get_message(timeout=5.0)
            if confirmation is None:
                await pubsub.aclose()
                raise TimeoutError(f"Redis did not confirm the subscription to {channel!r}")
            if confirmation["type"] == "subscribe":
                return RedisSubscription(pubsub, channel)

    @asynccontextmanager
    async def lock(self, name: str, ttl: float = 30.0, wait: float = 10.0) -> AsyncIterator[None]:
        held = self._client.lock(self._key(f"lock:{name}"), timeout=ttl, blocking_timeout=wait, sleep=0.02)
        if not await held.acquire():
            raise LockTimeout(name, wait)

        async def renew() -> bool:
            try:
                return bool(await held.reacquire())  # the TTL back to `ttl`, if the token still holds it
            except LockError:
                return False

        renewing = asyncio.create_task(keep_alive(renew, ttl, name), name=f"{KEEP_ALIVE_TASK}{name}")
        try:
            yield
        finally:
            renewing.cancel()
            try:
                await held.release()
            except LockError:
                pass  # it expired while held; the next holder already owns it

    async def ping(self) -> None:
        await asyncio.wait_for(self._client.ping(), timeout=5.0)

    async def close(self) -> None:
        await self._client.aclose()


def _millis(seconds: float | None) -> int | None:
    return None if seconds is None else max(1, int(seconds * 1000))
