"""The monitor at work: collect the fleet, evaluate the rules, hand notifications to the courier.

Every instance of the monitor collects (its fleet view stays fresh); only the one holding the
evaluation lease, a key in the shared cache renewed each cycle, evaluates and delivers, so two
monitors never announce the same alert twice. If the holder dies, its lease expires after three
intervals and another instance takes over; the notification queue is in the database, so nothing
queued is lost. `clock` is the one source of "now" for scrapes, `for` durations and retries.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from contextlib import suppress

from ai_services.monitor_service.evaluation import Outcome, evaluate, forget_old
from ai_services.monitor_service.fleet import FleetCollector, FleetSnapshot
from ai_services.monitor_service.notify import Courier
from ai_services.monitor_service.settings import MonitorSettings
from shared.config import LoomaSettings
from shared.database import UnifiedDataAccess
from shared.service.auth.service_token import ServiceToken

log = logging.getLogger("looma.monitor")

LEASE_KEY = "monitor:evaluator"
SHORTEST_LEASE = 10.0  # seconds; a lease must outlast one slow cycle


class EvaluationLease:
    """Which monitor instance evaluates: the holder of a cache key that expires unless renewed."""

    def __init__(self, data: Callable[[], UnifiedDataAccess], ttl: float) -> None:
        self._data, self.ttl = data, ttl
        self.holder = uuid.uuid4().hex.encode()

    async def hold(self) -> bool:
        cache = self._data().cache
        if await cache.add(LEASE_KEY, self.holder, ttl=self.ttl):
            return True
        if await cache.get(LEASE_KEY) == self.holder:
            await cache.set(LEASE_KEY, self.holder, ttl=self.ttl)
            return True
        return False

    async def release(self) -> None:
        cache = self._data().cache
        if await cache.get(LEASE_KEY) == self.holder:
            await cache.delete(LEASE_KEY)


class Monitor:
    def __init__(self, settings: LoomaSettings, config: MonitorSettings, token: ServiceToken | None,
                 data: Callable[[], UnifiedDataAccess]) -> None:
        self.settings, self.config, self._data = settings, config, data
        self.clock: Callable[[], float] = time.time
        now = lambda: self.clock()  # noqa: E731 -- tests replace `clock`; the parts read it through this
        self.collector = FleetCollector(settings, config, token, lambda: data().relational, now)
        self.leading = False  # whether this instance held the lease at its last cycle
        self.courier = Courier(lambda: data().relational, config, now, active=lambda: self.leading)
        self.lease = EvaluationLease(data, max(SHORTEST_LEASE, 3 * config.interval))
        self.latest: FleetSnapshot | None = None

    async def snapshot(self) -> FleetSnapshot:
        """The latest collection if it is younger than an interval, else a new one."""
        latest, interval = self.latest, self.config.interval
        if latest is not None and interval > 0 and self.clock() - latest.collected_at < interval:
            return latest
        self.latest = await self.collector.collect()
        return self.latest

    async def cycle(self) -> Outcome | None:
        """Collect, then evaluate if this instance holds the lease; what the evaluation changed."""
        snapshot = self.latest = await self.collector.collect()
        self.leading = await self.lease.hold()
        if not self.leading:
            return None
        now = self.clock()
        async with self._data().relational.write() as conn:
            outcome = await evaluate(conn, snapshot, now, self.settings.public_url)
            await forget_old(conn, now, self.config.retention)
        if outcome.notifications:
            self.courier.wake()
        if outcome.fired or outcome.resolved:
            log.info("alerts changed", extra={"fired": len(outcome.fired), "resolved": len(outcome.resolved)})
        return outcome

    async def run(self) -> None:
        """Evaluate every `interval` seconds and deliver in between, until cancelled."""
        courier = asyncio.create_task(self.courier.run(), name="monitor-courier")
        try:
            while True:
                started = time.monotonic()
                try:
                    await self.cycle()
                except Exception as error:
                    log.warning("evaluation failed", extra={"error": f"{type(error).__name__}: {error}"})
                await asyncio.sleep(max(0.0, self.config.interval - (time.monotonic() - started)))
        finally:
            courier.cancel()
            with suppress(asyncio.CancelledError):
                await courier

    async def close(self) -> None:
        await self.courier.close()
        await self.collector.close()
        if self.leading:
            with suppress(Exception):
                await self.lease.release()
