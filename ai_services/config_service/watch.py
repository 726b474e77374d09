"""Watching config: waking this instance's watchers when any instance commits a change.

A write announces itself on the cache's pub/sub channel after its transaction commits (Redis, or
the embedded cache shared through the data directory), so every config-service instance hears of
it. A woken watcher does not trust the message: it re-reads the store from its cursor, which is
exact (tables.py), and it re-reads every RECHECK seconds anyway, so a message lost while the
cache was away delays a change but never loses it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from ai_services.config_service.store import Batch, Entry
from shared.database.cache import Cache, Subscription

log = logging.getLogger("looma.config")

CHANNEL = "config.changes"
RECHECK = 5.0  # seconds between re-reads of the store while nothing is heard
KEEPALIVE = 15.0  # seconds between SSE comments on a quiet stream (the gateway drops a stream idle for 30)
RESUBSCRIBE_AFTER = 1.0

Reader = Callable[[int | None], Awaitable[Batch]]


@dataclass(frozen=True)
class Interest:
    """What one watcher follows: some keys, as one org (or the service-wide values) sees them."""

    keys: frozenset[str]
    org_id: str | None

    def covers(self, note: dict[str, Any] | None) -> bool:
        if note is None:
            return True
        org = note.get("org_id") or None
        return note.get("key") in self.keys and (org is None or org == self.org_id)


@dataclass(eq=False)
class _Waiter:
    interest: Interest
    event: asyncio.Event = field(default_factory=asyncio.Event)


class ChangeFeed:
    """The watchers of this instance, and the channel that wakes them."""

    def __init__(self) -> None:
        self._waiters: set[_Waiter] = set()
        self._following: asyncio.Task[None] | None = None
        self.closed = False

    def start(self, cache: Cache) -> None:
        """Follow the channel in the background, from now until `stop`."""
        self.closed = False
        self._following = asyncio.create_task(self.follow(cache), name="config-change-feed")

    async def stop(self) -> None:
        """Answer every watcher now, and stop following the channel."""
        self.close()
        if self._following is not None:
            self._following.cancel()
            with suppress(asyncio.CancelledError):
                await self._following
            self._following = None

    async def follow(self, cache: Cache) -> None:
        """Wake watchers on every announcement, from any instance, until cancelled."""
        while True:
            try:
                subscription = await _subscribed(cache)
                self.wake(None)  # whatever was announced while not subscribed: everyone re-reads
                try:
                    async for message in subscription:
                        self.wake(_note(message))
                finally:
                    await subscription.close()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("lost the config change channel; retrying",
                            extra={"error": str(error) or type(error).__name__})
                await asyncio.sleep(RESUBSCRIBE_AFTER)

    async def announce(self, cache: Cache, entry: Entry) -> None:
        """Tell every instance that `entry` was committed."""
        note = {"key": entry.key, "org_id": entry.org_id, "seq": entry.seq}
        self.wake(note)
        try:
            await cache.publish(CHANNEL, json.dumps(note).encode())
        except Exception as error:  # the write stands; other instances see it at their next re-read
            log.warning("could not announce a config change", extra={"key": entry.key, "seq": entry.seq,
                                                                      "error": str(error) or type(error).__name__})

    def wake(self, note: dict[str, Any] | None) -> None:
        for waiter in self._waiters:
            if waiter.interest.covers(note):
                waiter.event.set()

    def close(self) -> None:
        """Shutting down: every watcher answers with what it has, now."""
        self.closed = True
        self.wake(None)

    async def next_batch(self, read: Reader, interest: Interest, since: int | None, timeout: float) -> Batch:
        """The first non-empty batch after `since`, or the empty one when `timeout` seconds pass."""
        waiter = _Waiter(interest)
        self._waiters.add(waiter)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                waiter.event.clear()  # before reading: a change committed during the read wakes us again
                batch = await read(since)
                remaining = deadline - loop.time()
                if batch.items or self.closed or remaining <= 0:
                    return batch
                with suppress(TimeoutError):
                    await asyncio.wait_for(waiter.event.wait(), min(remaining, RECHECK))
        finally:
            self._waiters.discard(waiter)


async def _subscribed(cache: Cache) -> Subscription:
    """Subscribe; stopped meanwhile, let the subscription finish opening and close it, since a
    connection cancelled while it opens is left behind half-made."""
    opening = asyncio.ensure_future(cache.subscribe(CHANNEL))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        with suppress(Exception):
            await (await opening).close()
        raise


def _note(message: bytes) -> dict[str, Any] | None:
    """The announcement, or None (wake everyone) when it cannot be read."""
    try:
        note = json.loads(message)
    except ValueError:
        return None
    return note if isinstance(note, dict) else None


def sse_events(batch: Batch) -> str:
    """One `change` event per item. Only the last carries the batch's cursor as its id, so a client
    that reconnects with Last-Event-ID after a cut mid-batch is sent the whole batch again."""
    events = []
    for index, item in enumerate(batch.items):
        event_id = f"id: {batch.cursor}\n" if index == len(batch.items) - 1 else ""
        events.append(f"event: change\n{event_id}data: {json.dumps(item.view(), separators=(',', ':'))}\n\n")
    return "".join(events)
