"""How outbox events land in each projection store.

A projection applies the part of an event's payload under its own key and ignores events
without one. It applies a batch with one bulk call per store operation; applying is idempotent,
so the same events twice leave the store as once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

from shared.database import UnifiedDataAccess
from shared.database.fulltext import Document, FullTextStore
from shared.database.graph import Edge, GraphStore, Node
from shared.database.outbox import OutboxEvent
from shared.database.vectors import VectorRecord, VectorStore


class Projection(Protocol):
    name: str

    def concerns(self, event: OutboxEvent) -> bool: ...

    def target(self, event: OutboxEvent) -> str:
        """The label, index or collection the event names for this projection."""

    async def apply_many(self, events: Sequence[OutboxEvent]) -> None:
        """Apply events of distinct entities; on any failure, the caller retries them one by one."""

    async def apply(self, event: OutboxEvent) -> None: ...

    async def versions(self, target: str) -> dict[str, int]:
        """Entity id to projected version, for one label, index or collection: for reconcile."""


class _PayloadProjection:
    name = ""

    def concerns(self, event: OutboxEvent) -> bool:
        return self.name in event.payload

    def part(self, event: OutboxEvent) -> dict[str, Any]:
        return event.payload[self.name]

    async def apply(self, event: OutboxEvent) -> None:
        await self.apply_many([event])

    @staticmethod
    def deletes_by(events: Sequence[OutboxEvent], key: str, part: str) -> dict[tuple[str, str], list[str]]:
        grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
        for event in events:
            if event.operation == "delete":
                grouped[(event.payload[part][key], event.org_id)].append(event.entity_id)
        return grouped


class GraphProjection(_PayloadProjection):
    name = "graph"

    def __init__(self, graph: GraphStore) -> None:
        self.graph = graph

    def target(self, event: OutboxEvent) -> str:
        return self.part(event)["label"]

    async def apply_many(self, events: Sequence[OutboxEvent]) -> None:
        upserts = [e for e in events if e.operation == "upsert"]
        for (_, org_id), ids in self.deletes_by(events, "label", self.name).items():
            await self.graph.delete_nodes(org_id, ids)
        if upserts:
            await self.graph.upsert_nodes([Node(e.entity_id, self.part(e)["label"], e.org_id,
                                                self.part(e).get("properties", {}), e.version) for e in upserts])
        edges = [Edge(e.entity_id, edge["type"], edge["target"], e.org_id, edge.get("properties", {}))
                 for e in upserts for edge in self.part(e).get("edges", [])]
        if edges:
            await self.graph.upsert_edges(edges)

    async def versions(self, target: str) -> dict[str, int]:
        return await self.graph.versions(None, target)


class FullTextProjection(_PayloadProjection):
    name = "fulltext"

    def __init__(self, fulltext: FullTextStore) -> None:
        self.fulltext = fulltext

    def target(self, event: OutboxEvent) -> str:
        return self.part(event)["index"]

    async def apply_many(self, events: Sequence[OutboxEvent]) -> None:
        for (index, org_id), ids in self.deletes_by(events, "index", self.name).items():
            await self.fulltext.delete(index, org_id, ids)
        documents: dict[str, list[Document]] = defaultdict(list)
        for e in events:
            if e.operation == "upsert":
                part = self.part(e)
                documents[part["index"]].append(Document(e.entity_id, e.org_id, part.get("fields", {}),
                                                         part.get("filters", {}), e.version))
        for index, batch in documents.items():
            await self.fulltext.index(index, batch)

    async def versions(self, target: str) -> dict[str, int]:
        return await self.fulltext.versions(target)


class VectorProjection(_PayloadProjection):
    name = "vectors"

    def __init__(self, vectors: VectorStore) -> None:
        self.vectors = vectors

    def target(self, event: OutboxEvent) -> str:
        return self.part(event)["collection"]

    async def apply_many(self, events: Sequence[OutboxEvent]) -> None:
        for (collection, org_id), ids in self.deletes_by(events, "collection", self.name).items():
            await self.vectors.delete(collection, org_id, ids)
        records: dict[str, list[VectorRecord]] = defaultdict(list)
        for e in events:
            if e.operation == "upsert":
                part = self.part(e)
                if "vector" not in part:
                    raise ValueError("vectors payload has no vector; embedding text needs the vector service")
                records[part["collection"]].append(VectorRecord(e.entity_id, e.org_id, part["vector"],
                                                                part.get("metadata", {}), e.version))
        for collection, batch in records.items():
            await self.vectors.upsert(collection, batch)

    async def versions(self, target: str) -> dict[str, int]:
        return await self.vectors.versions(target)


def all_projections(data: UnifiedDataAccess) -> list[Projection]:
    return [GraphProjection(data.graph), FullTextProjection(data.fulltext), VectorProjection(data.vectors)]
