"""`looma reconcile`: find where a projection differs from the source of truth, and repair it.

The source is the newest outbox event of each entity: it is written in the same transaction as
the entity itself, so it always describes the entity's latest committed version. Entities whose
newest event is not yet delivered are left alone: pending ones are the projector's to deliver,
dead-lettered ones the operator's (`looma outbox`). A projection
has drifted for an entity when it is missing it or holds another version (replay the newest
event), or still holds an entity whose newest event deletes it (apply the delete). Entities a
projection holds that no event mentions are reported, not removed: nothing says whose they are.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from shared.database import UnifiedDataAccess
from shared.database.outbox import DONE, OutboxEvent, event_from_row, outbox_events, projection_state
from shared.projector.projections import Projection
from shared.projector.projector import remember


@dataclass(frozen=True)
class Drift:
    projection: str
    target: str
    entity_id: str
    expected: int | None  # None: the entity is deleted at the source
    found: int | None  # None: the projection does not hold it
    action: Literal["replay", "delete", "report"]
    event: OutboxEvent | None = None


async def latest_events(data: UnifiedDataAccess) -> list[tuple[OutboxEvent, str]]:
    """Each entity's newest event, with its delivery status."""
    newest = (sa.select(sa.func.max(outbox_events.c.id).label("id"))
              .group_by(outbox_events.c.entity_type, outbox_events.c.entity_id).subquery())
    query = sa.select(outbox_events).join(newest, outbox_events.c.id == newest.c.id)
    async with data.relational.read() as conn:
        return [(event_from_row(row), row.status) for row in (await conn.execute(query)).all()]


async def find_drift(data: UnifiedDataAccess, projections: Sequence[Projection]) -> list[Drift]:
    events = await latest_events(data)
    drift: list[Drift] = []
    for projection in projections:
        by_target: dict[str, list[OutboxEvent]] = defaultdict(list)
        for event, status in events:
            if projection.concerns(event):
                by_target[projection.target(event)].append((event, status))
        for target, target_events in sorted(by_target.items()):
            found = await projection.versions(target)
            known = set()
            for event, status in target_events:
                known.add(event.entity_id)
                if status != DONE:
                    continue  # still the projector's (pending) or the operator's (dead: `looma outbox`)
                held = found.get(event.entity_id)
                if event.operation == "delete" and held is not None:
                    drift.append(Drift(projection.name, target, event.entity_id, None, held, "delete", event))
                elif event.operation == "upsert" and held != event.version:
                    drift.append(Drift(projection.name, target, event.entity_id, event.version, held, "replay", event))
            drift.extend(Drift(projection.name, target, entity_id, None, version, "report")
                         for entity_id, version in sorted(found.items()) if entity_id not in known)
    return drift


async def repair(data: UnifiedDataAccess, projections: Sequence[Projection],
                 drift: Sequence[Drift]) -> tuple[int, list[str]]:
    """Apply each drifted entity's newest event again, under the projector's lock.

    The count repaired, and what could not be, with why.
    """
    by_name = {p.name: p for p in projections}
    repaired, failed = 0, []
    async with data.cache.lock("projector", ttl=60, wait=30):
        for item in drift:
            if item.event is None:
                continue
            try:
                await by_name[item.projection].apply(item.event)
            except Exception as error:
                failed.append(f"{item.projection} {item.entity_id}: {type(error).__name__}: {error}")
                continue
            async with data.relational.write() as conn:
                await conn.execute(projection_state.delete().where(
                    projection_state.c.projection == item.projection,
                    projection_state.c.entity_type == item.event.entity_type,
                    projection_state.c.entity_id == item.event.entity_id))
                await remember(conn, data.relational.backend, item.projection, [item.event], time.time())
            repaired += 1
    return repaired, failed
