"""The outbox: a write that must reach a projection records an event in the same transaction.

The projector (shared/projector) delivers these events to the graph, vector and full-text
stores at least once. An event names the entity, its new version and what each projection
should hold, under the payload keys "graph", "fulltext" and "vectors":

    {"graph": {"label": "Talent", "properties": {...}, "edges": [{"type": "WORKED_AT", "target": "c1"}]},
     "fulltext": {"index": "talents", "fields": {"name": "张三"}, "filters": {"city": "北京"}},
     "vectors": {"collection": "talents", "vector": [...], "metadata": {...}}}

A delete event carries the same keys with only the label, index or collection.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.database.cache import Cache

OUTBOX_CHANNEL = "outbox"
Operation = Literal["upsert", "delete"]

metadata = sa.MetaData()
outbox_events = sa.Table(
    "outbox_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("entity_type", sa.String(64), nullable=False),
    sa.Column("entity_id", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("operation", sa.String(16), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("delivered_at", sa.Float),
    sa.Column("last_error", sa.Text),
)
projection_state = sa.Table(
    "projection_state",
    metadata,
    sa.Column("projection", sa.String(32), primary_key=True),
    sa.Column("entity_type", sa.String(64), primary_key=True),
    sa.Column("entity_id", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("applied_at", sa.Float, nullable=False),
)

PENDING, DONE, DEAD = "pending", "done", "dead"


@dataclass(frozen=True)
class OutboxEvent:
    org_id: str
    entity_type: str
    entity_id: str
    version: int
    operation: Operation
    payload: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    created_at: float | None = None
    attempts: int = 0


async def record(conn: AsyncConnection, *events: OutboxEvent) -> None:
    """Add events inside the caller's write transaction: they commit or roll back with the write."""
    if not events:
        return
    now = time.time()
    await conn.execute(outbox_events.insert(), [
        {"created_at": now, "org_id": e.org_id, "entity_type": e.entity_type, "entity_id": e.entity_id,
         "version": e.version, "operation": e.operation, "payload": e.payload, "status": PENDING,
         "attempts": 0, "next_attempt_at": now}
        for e in events
    ])


async def wake_projector(cache: Cache) -> None:
    """After the transaction commits: tell projectors there is work, so none has to poll hard."""
    await cache.publish(OUTBOX_CHANNEL, b"1")


def event_from_row(row: Any) -> OutboxEvent:
    return OutboxEvent(org_id=row.org_id, entity_type=row.entity_type, entity_id=row.entity_id,
                       version=row.version, operation=row.operation, payload=row.payload, id=row.id,
                       created_at=row.created_at, attempts=row.attempts)


async def retry_dead(conn: AsyncConnection, ids: list[int] | None = None) -> int:
    """Put dead-lettered events (all, or those with these ids) back in line; how many."""
    query = outbox_events.update().where(outbox_events.c.status == DEAD)
    if ids:
        query = query.where(outbox_events.c.id.in_(ids))
    result = await conn.execute(query.values(status=PENDING, attempts=0, next_attempt_at=time.time()))
    return result.rowcount
