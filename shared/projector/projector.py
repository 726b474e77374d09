"""The projector loop: deliver due outbox events to every projection, at least once.

One projector works at a time (a fleet-wide lock held per batch), events go in outbox order,
and `projection_state` remembers the version each projection holds of each entity, so an event
is applied only over an older version. A crash between applying and recording means the event
is applied again, which the idempotent stores absorb. A failing event is retried with
exponential backoff and, after `max_attempts`, left in the dead-letter state for an operator
(`looma outbox retry`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.database import UnifiedDataAccess
from shared.database.cache import LockTimeout
from shared.database.outbox import (
    DEAD,
    DONE,
    OUTBOX_CHANNEL,
    PENDING,
    OutboxEvent,
    event_from_row,
    outbox_events,
    projection_state,
)
from shared.projector.metrics import ProjectorMetrics
from shared.projector.projections import Projection

log = logging.getLogger("looma.projector")


@dataclass(frozen=True)
class ProjectorPolicy:
    batch_size: int = 200
    max_attempts: int = 8
    backoff_base: float = 0.5
    backoff_max: float = 300.0
    idle_poll: float = 1.0  # the longest a projector sleeps without a wake-up message
    lock_ttl: float = 10.0


class Projector:
    def __init__(self, data: UnifiedDataAccess, projections: Sequence[Projection],
                 metrics: ProjectorMetrics | None = None, policy: ProjectorPolicy = ProjectorPolicy()) -> None:
        self.data = data
        self.projections = list(projections)
        self.metrics = metrics
        self.policy = policy
        self.last_cycle: float | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, sleeping between batches until woken or due."""
        subscription = await self.data.cache.subscribe(OUTBOX_CHANNEL)
        try:
            while not stop.is_set():
                try:
                    delivered = await self.run_once()
                except LockTimeout:
                    delivered = 0  # another projector is working
                except Exception:
                    log.exception("projector cycle failed; retrying")
                    delivered = 0
                self.last_cycle = time.time()
                if delivered < self.policy.batch_size:
                    await subscription.next(timeout=self.policy.idle_poll)
        finally:
            await subscription.close()

    async def run_once(self) -> int:
        """Deliver one batch of due events; the number handled."""
        async with self.data.cache.lock("projector", ttl=self.policy.lock_ttl, wait=self.policy.idle_poll):
            events = await self._due_events()
            applied = await self._applied_versions(events)
            for event in events:
                await self._deliver(event, applied)
        if self.metrics is not None:
            await self.metrics.refresh(self.data.relational)
        return len(events)

    async def _due_events(self) -> list[OutboxEvent]:
        query = (sa.select(outbox_events)
                 .where(outbox_events.c.status == PENDING, outbox_events.c.next_attempt_at <= time.time())
                 .order_by(outbox_events.c.id).limit(self.policy.batch_size))
        async with self.data.relational.read() as conn:
            return [event_from_row(row) for row in (await conn.execute(query)).all()]

    async def _applied_versions(self, events: list[OutboxEvent]) -> dict[tuple[str, str, str], int]:
        if not events:
            return {}
        keys = {(e.entity_type, e.entity_id) for e in events}
        query = sa.select(projection_state).where(
            sa.tuple_(projection_state.c.entity_type, projection_state.c.entity_id).in_(list(keys)))
        async with self.data.relational.read() as conn:
            rows = (await conn.execute(query)).all()
        return {(r.projection, r.entity_type, r.entity_id): r.version for r in rows}

    async def _deliver(self, event: OutboxEvent, applied: dict[tuple[str, str, str], int]) -> None:
        done: list[str] = []
        try:
            for projection in self.projections:
                key = (projection.name, event.entity_type, event.entity_id)
                if not projection.concerns(event) or applied.get(key, -1) >= event.version:
                    continue
                await projection.apply(event)
                done.append(projection.name)
                applied[key] = event.version
        except Exception as error:
            await self._record_failure(event, projection.name, error, done)
            return
        await self._record_success(event, done)

    async def _record_success(self, event: OutboxEvent, projections: list[str]) -> None:
        now = time.time()
        async with self.data.relational.write() as conn:
            await remember(conn, self.data.relational.backend, event, projections, now)
            await conn.execute(outbox_events.update().where(outbox_events.c.id == event.id)
                               .values(status=DONE, delivered_at=now, attempts=event.attempts + 1, last_error=None))
        if self.metrics is not None:
            self.metrics.delivered(projections, now - (event.created_at or now))

    async def _record_failure(self, event: OutboxEvent, projection: str, error: Exception, done: list[str]) -> None:
        attempts = event.attempts + 1
        dead = attempts >= self.policy.max_attempts
        delay = min(self.policy.backoff_base * 2 ** (attempts - 1), self.policy.backoff_max)
        message = f"{projection}: {type(error).__name__}: {error}"[:2000]
        now = time.time()
        async with self.data.relational.write() as conn:
            await remember(conn, self.data.relational.backend, event, done, now)
            await conn.execute(outbox_events.update().where(outbox_events.c.id == event.id).values(
                status=DEAD if dead else PENDING, attempts=attempts, next_attempt_at=now + delay, last_error=message))
        log.warning("outbox event failed" + ("; dead-lettered" if dead else f"; retrying in {delay:.1f}s"),
                    extra={"event_id": event.id, "entity": f"{event.entity_type}/{event.entity_id}",
                           "version": event.version, "attempts": attempts, "error": message})
        if self.metrics is not None:
            self.metrics.failed(projection)


async def remember(conn: AsyncConnection, backend: str, event: OutboxEvent, projections: list[str], now: float) -> None:
    """Record that `projections` hold `event.version`, never lowering a newer version."""
    if not projections:
        return
    dialect = postgresql if backend == "postgresql" else sqlite
    insert = dialect.insert(projection_state).values([
        {"projection": name, "entity_type": event.entity_type, "entity_id": event.entity_id,
         "version": event.version, "applied_at": now} for name in projections])
    await conn.execute(insert.on_conflict_do_update(
        index_elements=["projection", "entity_type", "entity_id"],
        set_={"version": insert.excluded.version, "applied_at": insert.excluded.applied_at},
        where=projection_state.c.version < insert.excluded.version,
    ))
