"""The embedded cache: a SQLite file in the data directory, shared by every process using it.

Values, counters, rate limits and locks are rows with an expiry time. Pub/sub appends to a
message log that each process polls every POLL_INTERVAL seconds, so a message published by one
process reaches the subscribers of every other process on the same data directory.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import TypeVar

import aiosqlite

from shared.database.cache import LockTimeout, Throttle, gcra, KEEP_ALIVE_TASK, keep_alive, throttle_interval

log = logging.getLogger("looma.cache")

POLL_INTERVAL = 0.025
MESSAGE_RETENTION = 60.0
SUBSCRIPTION_BUFFER = 10_000
LOCK_RETRY_INTERVAL = 0.02
_PURGE_EVERY = 500

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS cache_entries (key TEXT PRIMARY KEY, value BLOB NOT NULL, expires_at REAL)",
    "CREATE TABLE IF NOT EXISTS cache_messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL,"
    " payload BLOB NOT NULL, created_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS cache_messages_channel ON cache_messages (channel, seq)",
)

T = TypeVar("T")


class EmbeddedSubscription:
    def __init__(self, cache: EmbeddedCache, channel: str, after_seq: int) -> None:
        self.channel = channel
        self.after_seq = after_seq
        self._cache = cache
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=SUBSCRIPTION_BUFFER)

    def deliver(self, seq: int, payload: bytes) -> None:
        if seq <= self.after_seq:
            return
        if self._queue.full():
            log.warning("subscription buffer full, dropping a message", extra={"channel": self.channel})
            return
        self._queue.put_nowait(payload)

    async def next(self, timeout: float | None = None) -> bytes | None:
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            yield await self._queue.get()

    async def close(self) -> None:
        self._cache._unsubscribe(self)

    async def __aenter__(self) -> EmbeddedSubscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class EmbeddedCache:
    backend = "embedded"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._subscriptions: set[EmbeddedSubscription] = set()
        self._cursor = 0
        self._poller: asyncio.Task[None] | None = None
        self._writes = 0

    async def _connection(self) -> aiosqlite.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = await aiosqlite.connect(self.path, timeout=15, isolation_level=None)
            await db.execute("PRAGMA busy_timeout = 15000")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            for statement in _SCHEMA:
                await db.execute(statement)
            self._db = db
        return self._db

    async def _run(self, work: Callable[[aiosqlite.Connection], Awaitable[T]], write: bool = False) -> T:
        """Run `work` alone on the connection; a write runs inside BEGIN IMMEDIATE ... COMMIT.

        A write is shielded from cancellation: a caller that gives up (a request timing out) must
        not leave the transaction open, since an open write transaction holds the data directory's
        write lock against every other process. Any transaction still open from a failed COMMIT
        is rolled back before the next use of the connection.
        """
        if write:
            return await asyncio.shield(self._serialised(work, write=True))
        return await self._serialised(work, write=False)

    async def _serialised(self, work: Callable[[aiosqlite.Connection], Awaitable[T]], write: bool) -> T:
        async with self._lock:
            db = await self._connection()
            if db.in_transaction:
                await db.execute("ROLLBACK")
            if not write:
                return await work(db)
            await db.execute("BEGIN IMMEDIATE")
            try:
                result = await work(db)
                await self._maybe_purge(db)
                await db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    with suppress(sqlite3.Error):
                        await db.execute("ROLLBACK")
                raise
            return result

    async def _maybe_purge(self, db: aiosqlite.Connection) -> None:
        self._writes += 1
        if self._writes % _PURGE_EVERY:
            return
        now = time.time()
        await db.execute("DELETE FROM cache_entries WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,))
        await db.execute("DELETE FROM cache_messages WHERE created_at < ?", (now - MESSAGE_RETENTION,))

    @staticmethod
    async def _live_value(db: aiosqlite.Connection, key: str) -> bytes | None:
        async with db.execute(
            "SELECT value FROM cache_entries WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
            (key, time.time()),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else bytes(row[0])

    @staticmethod
    def _expiry(ttl: float | None) -> float | None:
        return None if ttl is None else time.time() + ttl

    async def get(self, key: str) -> bytes | None:
        return await self._run(lambda db: self._live_value(db, key))

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        async def work(db: aiosqlite.Connection) -> None:
            await db.execute(
                "INSERT INTO cache_entries (key, value, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
                (key, value, self._expiry(ttl)),
            )

        await self._run(work, write=True)

    async def add(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        async def work(db: aiosqlite.Connection) -> bool:
            if await self._live_value(db, key) is not None:
                return False
            await db.execute(
                "INSERT OR REPLACE INTO cache_entries (key, value, expires_at) VALUES (?, ?, ?)",
                (key, value, self._expiry(ttl)),
            )
            return True

        return await self._run(work, write=True)

    async def delete(self, key: str) -> bool:
        return await self._delete_where(key, None)

    async def _delete_where(self, key: str, expected: bytes | None) -> bool:
        async def work(db: aiosqlite.Connection) -> bool:
            existed = await self._live_value(db, key)
            if existed is None or (expected is not None and existed != expected):
                return False
            await db.execute("DELETE FROM cache_entries WHERE key = ?", (key,))
            return True

        return await self._run(work, write=True)

    async def _extend_where(self, key: str, expected: bytes, ttl: float) -> bool:
        """Push `key`'s expiry to `ttl` from now if it still holds `expected`."""
        async def work(db: aiosqlite.Connection) -> bool:
            if await self._live_value(db, key) != expected:
                return False
            await db.execute("UPDATE cache_entries SET expires_at = ? WHERE key = ?", (time.time() + ttl, key))
            return True

        return await self._run(work, write=True)

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        async def work(db: aiosqlite.Connection) -> int:
            current = await self._live_value(db, key)
            if current is None:
                value = amount
                await db.execute(
                    "INSERT OR REPLACE INTO cache_entries (key, value, expires_at) VALUES (?, ?, ?)",
                    (key, str(value).encode(), self._expiry(ttl)),
                )
                return value
            try:
                value = int(current) + amount
            except ValueError:
                raise ValueError(f"cache key {key!r} does not hold an integer") from None
            await db.execute("UPDATE cache_entries SET value = ? WHERE key = ?", (str(value).encode(), key))
            return value

        return await self._run(work, write=True)

    async def throttle(self, key: str, rate: float, burst: int, cost: int = 1) -> Throttle:
        throttle_interval(rate, burst, cost)  # a bad argument fails before the file is locked

        async def work(db: aiosqlite.Connection) -> Throttle:
            # Read, decide and write in one write transaction, with `now` taken inside it: other
            # processes on the file wait, and each sees the TAT the previous one stored.
            now = time.time()
            stored = await self._live_value(db, key)
            try:
                tat = None if stored is None else float(stored)
            except ValueError:
                raise ValueError(f"cache key {key!r} does not hold a throttle state") from None
            admitted_tat, answer = gcra(tat, now, rate, burst, cost)
            if admitted_tat is not None:
                await db.execute(
                    "INSERT INTO cache_entries (key, value, expires_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
                    (key, repr(admitted_tat).encode(), admitted_tat),
                )
            return answer

        return await self._run(work, write=True)

    async def publish(self, channel: str, message: bytes) -> None:
        async def work(db: aiosqlite.Connection) -> None:
            await db.execute(
                "INSERT INTO cache_messages (channel, payload, created_at) VALUES (?, ?, ?)",
                (channel, message, time.time()),
            )

        await self._run(work, write=True)

    async def subscribe(self, channel: str) -> EmbeddedSubscription:
        async def work(db: aiosqlite.Connection) -> EmbeddedSubscription:
            async with db.execute("SELECT COALESCE(MAX(seq), 0) FROM cache_messages") as cursor:
                (latest,) = await cursor.fetchone()  # type: ignore[misc]
            subscription = EmbeddedSubscription(self, channel, int(latest))
            if not self._subscriptions:
                self._cursor = int(latest)
            self._subscriptions.add(subscription)
            return subscription

        subscription = await self._run(work)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="looma-cache-poller")
        return subscription

    def _unsubscribe(self, subscription: EmbeddedSubscription) -> None:
        self._subscriptions.discard(subscription)

    async def _poll(self) -> None:
        while self._subscriptions:
            try:
                await self._run(self._dispatch_new_messages)
            except Exception:
                log.exception("pub/sub poll failed; retrying")
            await asyncio.sleep(POLL_INTERVAL)

    async def _dispatch_new_messages(self, db: aiosqlite.Connection) -> None:
        channels = {s.channel for s in self._subscriptions}
        if not channels:
            return
        async with db.execute("SELECT COALESCE(MAX(seq), 0) FROM cache_messages") as cursor:
            (latest,) = await cursor.fetchone()  # type: ignore[misc]
        if latest <= self._cursor:
            return
        marks = ",".join("?" * len(channels))
        async with db.execute(
            "SELECT seq, channel, payload FROM cache_messages"
            f" WHERE seq > ? AND seq <= ? AND channel IN ({marks}) ORDER BY seq",
            (self._cursor, latest, *channels),
        ) as cursor:
            rows = await cursor.fetchall()
        for seq, channel, payload in rows:
            for subscription in self._subscriptions:
                if subscription.channel == channel:
                    subscription.deliver(seq, bytes(payload))
        self._cursor = int(latest)

    @asynccontextmanager
    async def lock(self, name: str, ttl: float = 30.0, wait: float = 10.0) -> AsyncIterator[None]:
        key, token = f"lock:{name}", uuid.uuid4().hex.encode()
        deadline = time.monotonic() + wait
        while not await self.add(key, token, ttl):
            if time.monotonic() >= deadline:
                raise LockTimeout(name, wait)
            await asyncio.sleep(LOCK_RETRY_INTERVAL)
        renewing = asyncio.create_task(keep_alive(lambda: self._extend_where(key, token, ttl), ttl, name),
                                       name=f"{KEEP_ALIVE_TASK}{name}")
        try:
            yield
        finally:
            renewing.cancel()
            if not await self._delete_where(key, token):
                log.warning("lock expired before release", extra={"lock": name})

    async def ping(self) -> None:
        async def work(db: aiosqlite.Connection) -> None:
            await db.execute("SELECT 1")

        await self._run(work)

    async def close(self) -> None:
        self._subscriptions.clear()
        if self._poller is not None:
            self._poller.cancel()
            try:
                await self._poller
            except asyncio.CancelledError:
                pass
            self._poller = None
        if self._db is not None:
            await self._db.close()
            self._db = None
