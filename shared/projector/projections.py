"""How one outbox event lands in each projection store.

A projection applies the part of an event's payload under its own key and ignores events
without one. Applying is idempotent: the same event twice leaves the store as once.
"""

from __future__ import annotations

from typing import Any, Protocol

from shared.database import UnifiedDataAccess
from shared.database.fulltext import Document, FullTextStore
from shared.database.graph import Edge, GraphStore, Node
from shared.database.outbox import OutboxEvent
from shared.database.vectors import VectorRecord, VectorStore


class Projection(Protocol):
    name: str

    def concerns(self, event: OutboxEvent) -> bool: ...

    async def apply(self, event: OutboxEvent) -> None: ...

    async def versions(self, target: str) -> dict[str, int]:
        """Entity id to projected version, for one label, index or collection: for reconcile."""

    def target(self, event: OutboxEvent) -> str:
        """The label, index or collection the event names for this projection."""


class GraphProjection:
    name = "graph"

    def __init__(self, graph: GraphStore) -> None:
        self.graph = graph

    def concerns(self, event: OutboxEvent) -> bool:
        return "graph" in event.payload

    def target(self, event: OutboxEvent) -> str:
        return event.payload["graph"]["label"]

    async def apply(self, event: OutboxEvent) -> None:
        part: dict[str, Any] = event.payload["graph"]
        if event.operation == "delete":
            await self.graph.delete_nodes(event.org_id, [event.entity_id])
            return
        await self.graph.upsert_nodes([Node(event.entity_id, part["label"], event.org_id,
                                            part.get("properties", {}), event.version)])
        edges = [Edge(event.entity_id, e["type"], e["target"], event.org_id, e.get("properties", {}))
                 for e in part.get("edges", [])]
        if edges:
            await self.graph.upsert_edges(edges)

    async def versions(self, target: str) -> dict[str, int]:
        return await self.graph.versions(None, target)


class FullTextProjection:
    name = "fulltext"

    def __init__(self, fulltext: FullTextStore) -> None:
        self.fulltext = fulltext

    def concerns(self, event: OutboxEvent) -> bool:
        return "fulltext" in event.payload

    def target(self, event: OutboxEvent) -> str:
        return event.payload["fulltext"]["index"]

    async def apply(self, event: OutboxEvent) -> None:
        part: dict[str, Any] = event.payload["fulltext"]
        if event.operation == "delete":
            await self.fulltext.delete(part["index"], event.org_id, [event.entity_id])
            return
        await self.fulltext.index(part["index"], [Document(event.entity_id, event.org_id, part.get("fields", {}),
                                                           part.get("filters", {}), event.version)])

    async def versions(self, target: str) -> dict[str, int]:
        return await self.fulltext.versions(target)


class VectorProjection:
    name = "vectors"

    def __init__(self, vectors: VectorStore) -> None:
        self.vectors = vectors

    def concerns(self, event: OutboxEvent) -> bool:
        return "vectors" in event.payload

    def target(self, event: OutboxEvent) -> str:
        return event.payload["vectors"]["collection"]

    async def apply(self, event: OutboxEvent) -> None:
        part: dict[str, Any] = event.payload["vectors"]
        if event.operation == "delete":
            await self.vectors.delete(part["collection"], event.org_id, [event.entity_id])
            return
        if "vector" not in part:
            raise ValueError("vectors payload has no vector; embedding text needs the vector service")
        await self.vectors.upsert(part["collection"], [VectorRecord(event.entity_id, event.org_id, part["vector"],
                                                                    part.get("metadata", {}), event.version)])

    async def versions(self, target: str) -> dict[str, int]:
        return await self.vectors.versions(target)


def all_projections(data: UnifiedDataAccess) -> list[Projection]:
    return [GraphProjection(data.graph), FullTextProjection(data.fulltext), VectorProjection(data.vectors)]
