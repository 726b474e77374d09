"""The cache capability: values with TTLs, counters, pub/sub and locks shared by the whole fleet.

Two implementations pass one contract suite (tests/contract/test_cache_contract.py):
`EmbeddedCache` keeps its state in a SQLite file in the data directory, so that every process on
that directory sees the same values and messages; `RedisCache` uses a Redis server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable


class LockTimeout(TimeoutError):
    """The lock was still held by someone else when the wait ran out."""

    def __init__(self, name: str, waited: float) -> None:
        super().__init__(f"lock {name!r} still held after waiting {waited:.2f}s")
        self.name = name


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

    async def publish(self, channel: str, message: bytes) -> None: ...

    async def subscribe(self, channel: str) -> Subscription:
        """Start receiving `channel`; messages published after this returns are delivered."""

    def lock(self, name: str, ttl: float = 30.0, wait: float = 10.0) -> AbstractAsyncContextManager[None]:
        """Hold a fleet-wide lock for the block. It expires after `ttl` if its holder dies.

        Raises LockTimeout when it cannot be taken within `wait` seconds.
        """

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def open_cache(redis_url: str | None, embedded_path: str) -> Cache:
    """Redis when a URL is configured, otherwise the embedded cache in the data directory."""
    if redis_url:
        from shared.database.cache_redis import RedisCache

        return RedisCache(redis_url)
    from shared.database.cache_embedded import EmbeddedCache

    return EmbeddedCache(embedded_path)
