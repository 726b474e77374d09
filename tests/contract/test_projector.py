"""Outbox and projector over both relational backends, with the embedded projection stores."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from shared.config import LoomaSettings
from shared.database import UnifiedDataAccess
from shared.database.fulltext import IndexSpec
from shared.database.outbox import DEAD, DONE, PENDING, OutboxEvent, outbox_events, record, retry_dead, wake_projector
from shared.database.schema import upgrade_async
from shared.database.vectors import CollectionSpec
from shared.projector.metrics import ProjectorMetrics
from shared.projector.projections import all_projections
from shared.projector.projector import Projector, ProjectorPolicy
from shared.projector.reconcile import find_drift, repair

ORG = "org-1"
DIM = 4


@pytest.fixture
async def data(relational_url: str, tmp_path: Path) -> AsyncIterator[UnifiedDataAccess]:
    await upgrade_async(relational_url)
    opened = UnifiedDataAccess.from_settings(LoomaSettings(data_dir=tmp_path, database_url=relational_url,
                                                           redis_url=None))
    await opened.fulltext.ensure_index(IndexSpec("talents", ("name", "summary"), ("city",)))
    await opened.vectors.ensure_collection(CollectionSpec("profiles", DIM, ("city",)))
    yield opened
    await opened.close()


def talent(entity_id: str, version: int, name: str, vector: list[float] | None = None,
           operation: str = "upsert") -> OutboxEvent:
    if operation == "delete":
        payload = {"graph": {"label": "Talent"}, "fulltext": {"index": "talents"},
                   "vectors": {"collection": "profiles"}}
    else:
        payload = {
            "graph": {"label": "Talent", "properties": {"name": name}},
            "fulltext": {"index": "talents", "fields": {"name": name, "summary": "资深后端工程师"},
                         "filters": {"city": "北京"}},
            "vectors": {"collection": "profiles", "vector": vector or [1.0, 0.0, 0.0, 0.0],
                        "metadata": {"city": "北京"}},
        }
    return OutboxEvent(ORG, "talent", entity_id, version, operation, payload)  # type: ignore[arg-type]


async def write(data: UnifiedDataAccess, *events: OutboxEvent) -> None:
    async with data.relational.write() as conn:
        await record(conn, *events)


async def statuses(data: UnifiedDataAccess) -> list[tuple[str, int, str]]:
    query = sa.select(outbox_events.c.entity_id, outbox_events.c.version, outbox_events.c.status).order_by(
        outbox_events.c.id)
    async with data.relational.read() as conn:
        return [tuple(row) for row in (await conn.execute(query)).all()]


async def projected(data: UnifiedDataAccess) -> dict[str, dict[str, int]]:
    return {
        "graph": await data.graph.versions(None, "Talent"),
        "fulltext": await data.fulltext.versions("talents"),
        "vectors": await data.vectors.versions("profiles"),
    }


async def test_an_event_rolled_back_with_its_write_never_exists(data: UnifiedDataAccess) -> None:
    with pytest.raises(RuntimeError):
        async with data.relational.write() as conn:
            await record(conn, talent("t1", 1, "张三"))
            raise RuntimeError("the entity write failed")

    assert await statuses(data) == []


async def test_an_upsert_reaches_every_projection(data: UnifiedDataAccess) -> None:
    registry = CollectorRegistry()
    await write(data, talent("t1", 1, "张三"))

    assert await Projector(data, all_projections(data), ProjectorMetrics(registry)).run_once() == 1

    assert await statuses(data) == [("t1", 1, DONE)]
    assert await projected(data) == {"graph": {"t1": 1}, "fulltext": {"t1": 1}, "vectors": {"t1": 1}}
    assert (await data.graph.get_node(ORG, "t1")).properties["name"] == "张三"  # type: ignore[union-attr]
    assert [hit.id for hit in await data.fulltext.search("talents", ORG, "后端")] == ["t1"]
    assert [hit.id for hit in await data.vectors.search("profiles", ORG, [1.0, 0.0, 0.0, 0.0])] == ["t1"]
    assert registry.get_sample_value("looma_projector_deliveries_total", {"projection": "graph"}) == 1
    assert registry.get_sample_value("looma_outbox_pending_events") == 0


async def test_delivering_twice_leaves_one_copy(data: UnifiedDataAccess) -> None:
    await write(data, talent("t1", 1, "张三"))
    projector = Projector(data, all_projections(data))
    await projector.run_once()
    async with data.relational.write() as conn:
        await conn.execute(outbox_events.update().values(status=PENDING))
    async with data.relational.write() as conn:
        await conn.execute(sa.text("DELETE FROM projection_state"))

    await projector.run_once()

    assert await projected(data) == {"graph": {"t1": 1}, "fulltext": {"t1": 1}, "vectors": {"t1": 1}}
    assert len(await data.fulltext.search("talents", ORG, "张三")) == 1


async def test_an_older_version_never_replaces_a_newer_one(data: UnifiedDataAccess) -> None:
    await write(data, talent("t1", 2, "李四"), talent("t1", 1, "张三"))

    await Projector(data, all_projections(data)).run_once()

    assert await projected(data) == {"graph": {"t1": 2}, "fulltext": {"t1": 2}, "vectors": {"t1": 2}}
    assert (await data.graph.get_node(ORG, "t1")).properties["name"] == "李四"  # type: ignore[union-attr]
    assert await data.fulltext.search("talents", ORG, "张三") == []


async def test_a_delete_removes_the_entity_everywhere(data: UnifiedDataAccess) -> None:
    await write(data, talent("t1", 1, "张三"), talent("t2", 1, "王五"))
    await write(data, talent("t1", 2, "", operation="delete"))

    await Projector(data, all_projections(data)).run_once()

    assert await projected(data) == {"graph": {"t2": 1}, "fulltext": {"t2": 1}, "vectors": {"t2": 1}}


async def test_a_failing_event_backs_off_then_dead_letters_then_retries(data: UnifiedDataAccess) -> None:
    bad = talent("t1", 1, "张三", vector=[1.0, 0.0, 0.0])  # one dimension short
    policy = ProjectorPolicy(max_attempts=2, backoff_base=1.0)
    projector = Projector(data, all_projections(data), policy=policy)
    await write(data, bad, talent("t2", 1, "王五"))

    await projector.run_once()
    assert await statuses(data) == [("t1", 1, PENDING), ("t2", 1, DONE)]
    async with data.relational.read() as conn:
        row = (await conn.execute(sa.select(outbox_events).where(outbox_events.c.entity_id == "t1"))).one()
    assert row.attempts == 1 and row.next_attempt_at > time.time() - 0.01
    assert "vectors: VectorInputError" in row.last_error

    await projector.run_once()  # not yet due: nothing happens
    assert (await statuses(data))[0] == ("t1", 1, PENDING)
    await asyncio.sleep(1.1)
    await projector.run_once()
    assert (await statuses(data))[0] == ("t1", 1, DEAD)

    async with data.relational.write() as conn:
        await conn.execute(outbox_events.update().where(outbox_events.c.entity_id == "t1").values(
            payload=talent("t1", 1, "张三").payload))
        assert await retry_dead(conn) == 1
    await projector.run_once()
    assert (await statuses(data))[0] == ("t1", 1, DONE)
    assert (await projected(data))["vectors"] == {"t1": 1, "t2": 1}


async def test_a_wake_up_message_delivers_without_waiting_for_the_idle_poll(data: UnifiedDataAccess) -> None:
    projector = Projector(data, all_projections(data), policy=ProjectorPolicy(idle_poll=30.0))
    stop = asyncio.Event()
    running = asyncio.create_task(projector.run(stop))
    try:
        async with asyncio.timeout(5):
            while projector.last_cycle is None:
                await asyncio.sleep(0.01)
        await write(data, talent("t1", 1, "张三"))
        await wake_projector(data.cache)
        async with asyncio.timeout(5):  # far below the 30 s idle poll
            while (await statuses(data)) != [("t1", 1, DONE)]:
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await wake_projector(data.cache)
        await asyncio.wait_for(running, 10)


async def test_reconcile_finds_and_repairs_drift(data: UnifiedDataAccess) -> None:
    await write(data, talent("t1", 1, "张三"), talent("t2", 1, "王五"), talent("t3", 1, "赵六"))
    projections = all_projections(data)
    await Projector(data, projections).run_once()
    assert await find_drift(data, projections) == []

    await data.graph.delete_nodes(ORG, ["t1"])  # lost from the graph
    await write(data, talent("t2", 2, "", operation="delete"))
    async with data.relational.write() as conn:  # ...and the delete marked delivered, but lost
        await conn.execute(outbox_events.update().where(outbox_events.c.version == 2).values(status=DONE))

    drift = {(d.projection, d.entity_id, d.action) for d in await find_drift(data, projections)}
    assert drift == {("graph", "t1", "replay"), ("graph", "t2", "delete"), ("fulltext", "t2", "delete"),
                     ("vectors", "t2", "delete")}

    assert await repair(data, projections, await find_drift(data, projections)) == (4, [])
    assert await find_drift(data, projections) == []
    assert await projected(data) == {"graph": {"t1": 1, "t3": 1}, "fulltext": {"t1": 1, "t3": 1},
                                     "vectors": {"t1": 1, "t3": 1}}


async def test_reconcile_leaves_undelivered_events_to_the_projector(data: UnifiedDataAccess) -> None:
    await write(data, talent("t1", 1, "张三"))
    projections = all_projections(data)
    await Projector(data, projections).run_once()
    await write(data, talent("t1", 2, "李四"))  # pending: the projector has not run yet

    assert await find_drift(data, projections) == []


def company(entity_id: str) -> OutboxEvent:
    return OutboxEvent(ORG, "company", entity_id, 1, "upsert", {"graph": {"label": "Company",
                                                                          "properties": {"name": entity_id}}})


def linked(entity_id: str, version: int, *targets: str, **payload: object) -> OutboxEvent:
    """A talent's graph-only event listing a WORKED_AT edge per target, or with `payload` as its graph part."""
    graph = payload or {"label": "Talent", "properties": {"name": entity_id},
                        "edges": [{"type": "WORKED_AT", "target": target, "properties": {"version": version}}
                                  for target in targets]}
    return OutboxEvent(ORG, "talent", entity_id, version, "upsert", {"graph": graph})


async def outgoing(data: UnifiedDataAccess, node_id: str) -> list[tuple[str, str, str]]:
    return [(edge.source, edge.type, edge.target) for edge in await data.graph.edges_from(ORG, node_id)]


async def test_an_edge_a_newer_version_no_longer_lists_is_removed(data: UnifiedDataAccess) -> None:
    projector = Projector(data, all_projections(data))
    await write(data, company("c-a"), company("c-b"), linked("t2", 1, "c-a"),
                linked("t1", 1, "c-a", "c-b"),
                linked("t3", 1, label="Talent", properties={}, edges=[{"type": "KNOWS", "target": "t1"}]))
    await projector.run_once()
    assert await outgoing(data, "t1") == [("t1", "WORKED_AT", "c-a"), ("t1", "WORKED_AT", "c-b")]

    await write(data, linked("t1", 2, "c-b"))
    await projector.run_once()

    assert await outgoing(data, "t1") == [("t1", "WORKED_AT", "c-b")]
    assert (await data.graph.edges_from(ORG, "t1"))[0].properties == {"version": 2}
    # Other nodes' edges stay, those into t1 included.
    assert await outgoing(data, "t2") == [("t2", "WORKED_AT", "c-a")]
    assert await outgoing(data, "t3") == [("t3", "KNOWS", "t1")]

    # No `edges` key leaves the edges as they are; an empty list removes them all.
    await write(data, linked("t1", 3, label="Talent", properties={"name": "t1"}))
    await projector.run_once()
    assert await outgoing(data, "t1") == [("t1", "WORKED_AT", "c-b")]
    await write(data, linked("t1", 4))
    await projector.run_once()
    assert await outgoing(data, "t1") == []
    assert await outgoing(data, "t3") == [("t3", "KNOWS", "t1")]
    assert (await projected(data))["graph"] == {"t1": 4, "t2": 1, "t3": 1}


async def test_events_coalesced_in_one_batch_leave_the_newest_versions_edges(data: UnifiedDataAccess) -> None:
    projector = Projector(data, all_projections(data))
    await write(data, company("c-a"), company("c-b"), company("c-c"), linked("t1", 1, "c-b", "c-c"))
    await projector.run_once()
    assert await outgoing(data, "t1") == [("t1", "WORKED_AT", "c-b"), ("t1", "WORKED_AT", "c-c")]

    await write(data, linked("t1", 2, "c-a", "c-b"), linked("t1", 3, "c-a"))
    assert await projector.run_once() == 2

    assert await outgoing(data, "t1") == [("t1", "WORKED_AT", "c-a")]
    assert (await data.graph.edges_from(ORG, "t1"))[0].properties == {"version": 3}
    assert (await projected(data))["graph"] == {"t1": 3}
    assert await statuses(data) == [("c-a", 1, DONE), ("c-b", 1, DONE), ("c-c", 1, DONE), ("t1", 1, DONE),
                                    ("t1", 2, DONE), ("t1", 3, DONE)]


async def test_two_events_of_one_entity_in_one_batch_from_scratch_leave_the_newest_edges(
        data: UnifiedDataAccess) -> None:
    await write(data, company("c-a"), company("c-b"), linked("t1", 2, "c-a", "c-b"), linked("t1", 3, "c-a"))

    await Projector(data, all_projections(data)).run_once()

    assert await outgoing(data, "t1") == [("t1", "WORKED_AT", "c-a")]
