"""The projector's Prometheus metrics: lag, backlog, deliveries, failures, dead letters."""

from __future__ import annotations

import time

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.database.outbox import DEAD, PENDING, outbox_events
from shared.database.relational import RelationalStore

LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class ProjectorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter("looma_projector_deliveries_total", "Events applied, by projection",
                                  ("projection",), registry=registry)
        self.failures = Counter("looma_projector_failures_total", "Failed deliveries, by projection",
                                ("projection",), registry=registry)
        self.latency = Histogram("looma_outbox_delivery_lag_seconds", "From outbox write to delivery",
                                 buckets=LAG_BUCKETS, registry=registry)
        self.pending = Gauge("looma_outbox_pending_events", "Events waiting for delivery", registry=registry)
        self.dead = Gauge("looma_outbox_dead_letters", "Events that exhausted their attempts", registry=registry)
        self.lag = Gauge("looma_outbox_lag_seconds", "Age of the oldest pending event", registry=registry)

    def delivered(self, projection: str, count: int) -> None:
        self.deliveries.labels(projection).inc(count)

    def observe_lag(self, seconds: float) -> None:
        self.latency.observe(max(0.0, seconds))

    def failed(self, projection: str) -> None:
        self.failures.labels(projection).inc()

    async def refresh(self, relational: RelationalStore) -> None:
        stats = await backlog(relational)
        self.pending.set(stats["pending"])
        self.dead.set(stats["dead"])
        self.lag.set(stats["lag_seconds"])


async def backlog(relational: RelationalStore) -> dict[str, float]:
    """Pending and dead-lettered events, and the age of the oldest pending one."""
    query = sa.select(
        sa.func.count().filter(outbox_events.c.status == PENDING),
        sa.func.count().filter(outbox_events.c.status == DEAD),
        sa.func.min(outbox_events.c.created_at).filter(outbox_events.c.status == PENDING),
    ).where(outbox_events.c.status.in_((PENDING, DEAD)))
    async with relational.read() as conn:
        pending, dead, oldest = (await conn.execute(query)).one()
    return {"pending": pending, "dead": dead, "lag_seconds": 0.0 if oldest is None else max(0.0, time.time() - oldest)}
