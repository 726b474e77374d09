"""The CRM's part of the `looma` command line: `seed_demo`, which `looma seed --demo` calls.

The auth CLI finds this module by name through the fleet table (`CRM.module` + ".cli"), so it never
imports the CRM. The demo data (looma_crm/demo.py) is written through the code API writes go
through: each body is validated and prepared by its entity, its references are checked, and the
entity's after-write hook keeps talent keys, the stage history and the outbox events for the
projections, in transactions of BATCH rows, waking the projector after each.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from looma_crm import demo, pipeline, store
from looma_crm.domain import COMPANIES, JOBS, NOTES, RELATIONSHIPS, TALENTS
from looma_crm.entities import Entity, validated
from looma_crm.tables import applications, stage_history, talents
from shared.database import UnifiedDataAccess
from shared.database.outbox import wake_projector

BATCH = 200  # rows per write transaction
R = TypeVar("R", bound=demo.Row)

__all__ = ["seed_demo"]


async def seed_demo(data: UnifiedDataAccess, org_id: str, actor: str, size: int | None = None) -> dict[str, int]:
    """Store the demo recruiting data in `org_id` as `actor`: how many of each were written, or {} when
    the org has talents already (the demo data is never added twice). `size` is the number of talents
    (default demo.TALENTS); applications, notes and relationships scale with it."""
    async with data.relational.read() as conn:
        if (await conn.execute(sa.select(talents.c.id).where(store.live(TALENTS.kind, org_id)).limit(1))).first():
            return {}
    plan = demo.build(time.time(), demo.TALENTS if size is None else size)

    async def replay(conn: AsyncConnection, item: demo.ApplicationRow) -> None:
        for stage, at, reason in item.moves:
            await _move(conn, org_id, item.id, stage, at, reason, actor)

    await _create(data, COMPANIES, org_id, actor, plan.companies)
    await _create(data, JOBS, org_id, actor, plan.jobs)
    await _create(data, TALENTS, org_id, actor, plan.talents)
    await _create(data, pipeline.APPLICATIONS, org_id, actor, plan.applications, replay)
    await _create(data, NOTES, org_id, actor, plan.notes)
    await _create(data, RELATIONSHIPS, org_id, actor, plan.relationships)
    await data.relational.analyze()  # a bulk load: plan the first queries on real statistics
    return {"companies": len(plan.companies), "jobs": len(plan.jobs), "talents": len(plan.talents),
            "applications": len(plan.applications), "stage moves": sum(len(a.moves) for a in plan.applications),
            "notes": len(plan.notes), "relationships": len(plan.relationships)}


async def _create(data: UnifiedDataAccess, entity: Entity, org_id: str, actor: str, rows: Sequence[R],
                  then: Callable[[AsyncConnection, R], Awaitable[None]] | None = None) -> None:
    """Create each row as POST /{plural} would, dated when the demo says it was created."""
    for start in range(0, len(rows), BATCH):
        async with data.relational.write() as conn:
            for item in rows[start:start + BATCH]:
                body = validated(entity, item.body)
                await entity.check_references(conn, org_id, body)
                row = await store.insert(conn, entity.kind, org_id, body, actor, entity_id=item.id,
                                         created_at=item.at, updated_at=item.at)
                await entity.after_write(conn, org_id, row)
                if then is not None:
                    await then(conn, item)
        if entity.projected:
            await wake_projector(data.cache)


async def _move(conn: AsyncConnection, org_id: str, application_id: str, stage: str, at: float,
                reason: str | None, actor: str) -> None:
    """A pipeline move (allowed transitions only, recorded in the history), dated `at` instead of now."""
    row = await pipeline.move(conn, org_id, application_id, stage, reason, actor, None)
    await conn.execute(applications.update().where(applications.c.id == application_id)
                       .values(stage_changed_at=at, updated_at=at))
    await conn.execute(stage_history.update().where(stage_history.c.application_id == application_id,
                                                    stage_history.c.at == row["stage_changed_at"]).values(at=at))
