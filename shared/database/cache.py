"""The cache capability: values with TTLs, counters, rate limits, pub/sub and locks shared by the fleet.

Two implementations pass one contract suite (tests/contract/test_cache_contract.py):
`EmbeddedCache` keeps its state in a SQLite file in the data directory, so that every process on
that directory sees the same values and messages; `RedisCache` uses a Redis server.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

MICROSECONDS_PER_SECOND = 1_000_000
MAX_THROTTLE_RATE = float(MICROSECONDS_PER_SECOND)  # one request per microsecond, the unit of throttle times
# Bounds burst / rate, so that a TAT in microseconds stays far inside the integers a Lua number holds exactly.
MAX_THROTTLE_WINDOW = 10 * 365 * 86_400.0


class LockTimeout(TimeoutError):
    """The lock was still held by someone else when the wait ran out."""

    def __init__(self, name: str, waited: float) -> None:
        super().__init__(f"lock {name!r} still held after waiting {waited:.2f}s")
        self.name = name


@dataclass(frozen=True)
class Throttle:
    """The answer of `Cache.throttle`, in the terms of the HTTP `Retry-After` and `RateLimit` headers.

    `remaining` is how many more cost-1 requests would be admitted right now, after this one.
    `retry_after` is the wait in seconds until this same request would be admitted: 0.0 when it was,
    None when it never can be (its cost is larger than the burst). `reset_after` is the wait until
    the full burst is available again.
    """

    allowed: bool
    remaining: int
    retry_after: float | None
    reset_after: float


def throttle_interval(rate: float, burst: int, cost: int) -> int:
    """Check `throttle`'s arguments; the emission interval 1/rate in whole microseconds.

    Throttle times are reckoned in whole microseconds, the resolution of Redis's clock, so the
    interval is rounded to the nearest microsecond and every comparison is between integers.
    """
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"throttle rate must be a finite number of requests per second above 0, got {rate!r}")
    if rate > MAX_THROTTLE_RATE:
        raise ValueError(f"throttle rate must be at most {MAX_THROTTLE_RATE:,.0f} per second, got {rate!r}")
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
        raise ValueError(f"throttle burst must be an integer of at least 1, got {burst!r}")
    if isinstance(cost, bool) or not isinstance(cost, int) or cost < 1:
        raise ValueError(f"throttle cost must be an integer of at least 1, got {cost!r}")
    if burst / rate > MAX_THROTTLE_WINDOW:
        raise ValueError(
            f"throttle burst / rate must be at most {MAX_THROTTLE_WINDOW:,.0f} seconds,"
            f" got burst {burst} at rate {rate!r}"
        )
    return max(1, round(MICROSECONDS_PER_SECOND / rate))


def gcra(tat: float | None, now: float, rate: float, burst: int, cost: int = 1) -> tuple[float | None, Throttle]:
    """GCRA's decision on one request at `now`, given the limit's stored TAT (None when it has none).

    Returns the TAT to store when the request is admitted, None when it is refused (nothing is to
    change), and the answer. Times are seconds on one clock, reckoned in whole microseconds as in
    `throttle_interval`. RedisCache's script is the same arithmetic in Lua.
    """
    interval = throttle_interval(rate, burst, cost)
    now_us = round(now * MICROSECONDS_PER_SECOND)
    tat_us = now_us if tat is None else max(now_us, round(tat * MICROSECONDS_PER_SECOND))
    tolerance = interval * burst
    admitted_us = tat_us + cost * interval
    wait = admitted_us - tolerance - now_us
    if cost <= burst and wait <= 0:
        remaining = (tolerance - (admitted_us - now_us)) // interval
        answer = Throttle(True, remaining, 0.0, (admitted_us - now_us) / MICROSECONDS_PER_SECOND)
        return admitted_us / MICROSECONDS_PER_SECOND, answer
    remaining = max(0, (tolerance - (tat_us - now_us)) // interval)
    retry_after = None if cost > burst else wait / MICROSECONDS_PER_SECOND
    return None, Throttle(False, remaining, retry_after, (tat_us - now_us) / MICROSECONDS_PER_SECOND)


@runtime_checkable
class Subscription(Protocol):
    """Messages published on one channel after the subscription was made, in publish order."""

    async def next(self, timeout: float | None = None) -> bytes | None:
        """The next message, or None when `timeout` seconds pass without one."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def close(self) -> None: ...


@runtime_checkable
class Cache(Protocol):
    backend: str

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None: ...

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        """Set `key` only if it is absent; True when this call set it."""

    async def delete(self, key: str) -> bool:
        """Remove `key`; True when it existed."""

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        """Add to a counter (absent counts as 0). `ttl` applies only when this call creates it."""

    async def throttle(self, key: str, rate: float, burst: int, cost: int = 1) -> Throttle:
        """Admit or refuse one request against the rate limit named `key`, atomically fleet-wide.

        GCRA: with the emission interval T = 1/rate seconds, each admitted request moves the
        limit's theoretical arrival time (TAT) `cost` * T later, starting from now when it lies in
        the past, and a request is admitted when the new TAT is at most burst * T ahead of now. So
        from idle exactly `burst` cost-1 requests pass back to back, then one every T seconds.
        A refused request changes nothing. A cost above `burst` is always refused, with
        `retry_after` None. The TAT is stored under `key` until it has passed, after which the key
        is absent and the full burst is available.

        Raises ValueError naming the argument when rate is not finite and above 0 (or above one
        per microsecond), burst or cost is not an integer of at least 1, or burst / rate is
        longer than MAX_THROTTLE_WINDOW; and when `key` holds a value that is not a throttle's.
        """

    async def publish(self, channel: str, message: bytes) -> None: ...

    async def subscribe(self, channel: str) -> Subscription:
        """Start receiving `channel`; messages published after this returns are delivered."""

    def lock(self, name: str, ttl: float = 30.0, wait: float = 10.0) -> AbstractAsyncContextManager[None]:
        """Hold a fleet-wide lock for the block. It expires after `ttl` if its holder dies.

        While the block runs, the holder renews the lock every `ttl / 3` seconds (`keep_alive`), so a
        block may outlast `ttl`: the TTL bounds how long a dead holder blocks others, not the work.
        Raises LockTimeout when it cannot be taken within `wait` seconds.
        """

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


KEEP_ALIVE_TASK = "lock-keep-alive:"  # + the lock's name: the task renewing a held lock


async def keep_alive(renew: Callable[[], Awaitable[bool]], ttl: float, name: str) -> None:
    """Renew a held lock every `ttl / 3` seconds until cancelled; stop, warning, once it is lost.

    A renewal that fails (the cache unreachable for a moment) is tried again at the next beat.
    """
    while True:
        await asyncio.sleep(ttl / 3)
        try:
            if not await renew():
                logging.getLogger("looma.cache").warning("lock lost while held", extra={"lock": name})
                return
        except Exception as error:  # noqa: BLE001 - the next beat tries again; expiry is the fallback
            logging.getLogger("looma.cache").warning("lock renewal failed", extra={"lock": name, "error": str(error)})


def open_cache(redis_url: str | None, embedded_path: str) -> Cache:
    """Redis when a URL is configured, otherwise the embedded cache in the data directory."""
    if redis_url:
        from shared.database.cache_redis import RedisCache

        return RedisCache(redis_url)
    from shared.database.cache_embedded import EmbeddedCache

    return EmbeddedCache(embedded_path)
