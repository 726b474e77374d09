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
from contextlib import AbstractAsyncContextManager
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
from shared.projector.projections import Projection, ProjectionUnavailable

log = logging.getLogger("looma.projector")

METRICS_REFRESH = 1.0  # seconds between backlog queries


@dataclass(frozen=True)
class ProjectorPolicy:
    batch_size: int = 200
    max_attempts: int = 8
    backoff_base: float = 0.5
    backoff_max: float = 300.0
    idle_poll: float = 1.0  # the longest a projector sleeps without a wake-up message
    unavailable_retry: float = 2.0  # seconds before events a projection could not reach are tried again
    lock_ttl: float = 10.0


class Projector:
    def __init__(self, data: UnifiedDataAccess, projections: Sequence[Projection],
                 metrics: ProjectorMetrics | None = None, policy: ProjectorPolicy = ProjectorPolicy()) -> None:
        self.data = data
        self.projections = list(projections)
        self.metrics = metrics
        self.policy = policy
        self.last_cycle: float | None = None
        self._refreshed = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, sleeping between batches until woken or due.

        The fleet-wide lock is held as a lease of half its TTL, over many batches, so that a busy
        projector does not pay for the lock on every batch; a dead holder's lease expires by itself.
        """
        subscription = await self.data.cache.subscribe(OUTBOX_CHANNEL)
        try:
            while not stop.is_set():
                try:
                    async with self._lock():
                        lease_ends = time.monotonic() + self.policy.lock_ttl / 2
                        while not stop.is_set() and time.monotonic() < lease_ends:
                            delivered = await self._cycle()
                            if delivered < self.policy.batch_size:
                                wait = min(self.policy.idle_poll, max(0.0, lease_ends - time.monotonic()))
                                await subscription.next(timeout=wait)
                except LockTimeout:
                    await subscription.next(timeout=self.policy.idle_poll)  # another projector leads
                except Exception:
                    log.exception("projector cycle failed; retrying")
                    await asyncio.sleep(self.policy.idle_poll)
        finally:
            await subscription.close()

    async def run_once(self) -> int:
        """Deliver one batch of due events under the lock; the number handled."""
        async with self._lock():
            return await self._cycle()

    def _lock(self) -> AbstractAsyncContextManager[None]:
        return self.data.cache.lock("projector", ttl=self.policy.lock_ttl, wait=self.policy.idle_poll)

    async def _cycle(self) -> int:
        events = await self._due_events()
        if events:
            await self._deliver(events, await self._applied_versions(events))
        self.last_cycle = time.time()
        if self.metrics is not None and self.last_cycle - self._refreshed >= METRICS_REFRESH:
            await self.metrics.refresh(self.data.relational)
            self._refreshed = self.last_cycle
        return len(events)

    async def _due_events(self) -> list[OutboxEvent]:
        query = (sa.select(outbox_events)
                 .where(outbox_events.c.status == PENDING, outbox_events.c.next_attempt_at <= time.time())
                 .order_by(outbox_events.c.id).limit(self.policy.batch_size))
        async with self.data.relational.read() as conn:
            return [event_from_row(row) for row in (await conn.execute(query)).all()]

    async def _applied_versions(self, events: list[OutboxEvent]) -> dict[tuple[str, str, str], int]:
        keys = {(e.entity_type, e.entity_id) for e in events}
        query = sa.select(projection_state).where(
            sa.tuple_(projection_state.c.entity_type, projection_state.c.entity_id).in_(list(keys)))
        async with self.data.relational.read() as conn:
            rows = (await conn.execute(query)).all()
        return {(r.projection, r.entity_type, r.entity_id): r.version for r in rows}

    async def _deliver(self, events: list[OutboxEvent], applied: dict[tuple[str, str, str], int]) -> None:
        """Apply the batch projection by projection, in bulk; one event at a time only to isolate a failure.

        For each projection only the newest event of each entity is applied: older ones in the same
        batch are superseded, and so are events older than what the projection already holds.
        """
        failures: dict[int, str] = {}
        deferred: set[int] = set()  # failed because a projection's store or service is unreachable
        chosen: dict[str, list[OutboxEvent]] = {}
        for projection in self.projections:
            newest: dict[tuple[str, str], OutboxEvent] = {}
            for event in events:
                if not projection.concerns(event) or applied.get((projection.name, *_entity(event)), -1) >= event.version:
                    continue
                current = newest.get(_entity(event))
                if current is None or event.version >= current.version:
                    newest[_entity(event)] = event
            chosen[projection.name] = list(newest.values())
        # The stores are independent of each other: write to them side by side.
        results = await asyncio.gather(*(self._apply(p, chosen[p.name], failures, deferred)
                                         for p in self.projections))
        done = {p.name: applied_events for p, applied_events in zip(self.projections, results, strict=True)}
        failed_entities = {_entity(e) for e in events if e.id in failures}
        waiting_entities = {_entity(e) for e in events if e.id in deferred}
        for event in events:
            if event.id not in failures and _entity(event) in failed_entities:
                failures[event.id] = "superseded by a newer event of the same entity that failed"
                if _entity(event) in waiting_entities:
                    deferred.add(event.id)  # type: ignore[arg-type]
        await self._record(events, done, failures, deferred)

    async def _apply(self, projection: Projection, chosen: list[OutboxEvent], failures: dict[int, str],
                     deferred: set[int]) -> list[OutboxEvent]:
        if not chosen:
            return []
        try:
            await projection.apply_many(chosen)
            return chosen
        except ProjectionUnavailable as error:
            self._defer(projection, chosen, error, failures, deferred)
            return []
        except Exception:
            pass  # find which events fail, one at a time
        succeeded = []
        for event in chosen:
            try:
                await projection.apply(event)
                succeeded.append(event)
            except ProjectionUnavailable as error:
                self._defer(projection, [event], error, failures, deferred)
            except Exception as error:
                failures[event.id] = f"{projection.name}: {type(error).__name__}: {error}"[:2000]  # type: ignore[index]
                if self.metrics is not None:
                    self.metrics.failed(projection.name)
        return succeeded

    def _defer(self, projection: Projection, events: list[OutboxEvent], error: Exception, failures: dict[int, str],
               deferred: set[int]) -> None:
        for event in events:
            failures[event.id] = f"{projection.name}: unavailable: {error}"[:2000]  # type: ignore[index]
            deferred.add(event.id)  # type: ignore[arg-type]
        if self.metrics is not None:
            self.metrics.failed(projection.name)

    async def _record(self, events: list[OutboxEvent], done: dict[str, list[OutboxEvent]],
                      failures: dict[int, str], deferred: set[int]) -> None:
        now = time.time()
        backend = self.data.relational.backend
        delivered = [e for e in events if e.id not in failures]
        async with self.data.relational.write() as conn:
            for name, applied_events in done.items():
                await remember(conn, backend, name, applied_events, now)
            if delivered:
                await conn.execute(outbox_events.update().where(outbox_events.c.id.in_([e.id for e in delivered]))
                                   .values(status=DONE, delivered_at=now, attempts=outbox_events.c.attempts + 1,
                                           last_error=None))
            for event in events:
                if event.id in failures:
                    await self._record_failure(conn, event, failures[event.id], now, event.id in deferred)
        if deferred:
            first = next(e for e in events if e.id in deferred)
            log.warning(f"{len(deferred)} outbox events wait for an unavailable projection; retrying in "
                        f"{self.policy.unavailable_retry:.0f}s", extra={"error": failures[first.id]})  # type: ignore[index]
        if self.metrics is not None:
            for name, applied_events in done.items():
                self.metrics.delivered(name, len(applied_events))
            for event in delivered:
                self.metrics.observe_lag(now - (event.created_at or now))

    async def _record_failure(self, conn: AsyncConnection, event: OutboxEvent, message: str, now: float,
                              deferred: bool = False) -> None:
        if deferred:  # not the event's fault: try again soon, without spending an attempt (logged per batch)
            await conn.execute(outbox_events.update().where(outbox_events.c.id == event.id).values(
                next_attempt_at=now + self.policy.unavailable_retry, last_error=message))
            return
        attempts = event.attempts + 1
        dead = attempts >= self.policy.max_attempts
        delay = min(self.policy.backoff_base * 2 ** (attempts - 1), self.policy.backoff_max)
        await conn.execute(outbox_events.update().where(outbox_events.c.id == event.id).values(
            status=DEAD if dead else PENDING, attempts=attempts, next_attempt_at=now + delay, last_error=message))
        log.warning("outbox event failed" + ("; dead-lettered" if dead else f"; retrying in {delay:.1f}s"),
                    extra={"event_id": event.id, "entity": f"{event.entity_type}/{event.entity_id}",
                           "version": event.version, "attempts": attempts, "error": message})


def _entity(event: OutboxEvent) -> tuple[str, str]:
    return event.entity_type, event.entity_id


async def remember(conn: AsyncConnection, backend: str, projection: str, events: list[OutboxEvent],
                   now: float) -> None:
    """Record that `projection` holds each event's version of its entity, never lowering a newer one."""
    if not events:
        return
    dialect = postgresql if backend == "postgresql" else sqlite
    insert = dialect.insert(projection_state).values([
        {"projection": projection, "entity_type": e.entity_type, "entity_id": e.entity_id,
         "version": e.version, "applied_at": now} for e in events])
    await conn.execute(insert.on_conflict_do_update(
        index_elements=["projection", "entity_type", "entity_id"],
        set_={"version": insert.excluded.version, "applied_at": insert.excluded.applied_at},
        where=projection_state.c.version < insert.excluded.version,
    ))
