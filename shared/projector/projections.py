"""How outbox events land in each projection store.

A projection applies the part of an event's payload under its own key and ignores events
without one. It applies a batch with one bulk call per store operation; applying is idempotent,
so the same events twice leave the store as once.

The graph part of an upsert names the node's label and properties and, optionally, its outgoing
edges (`edges`: each `{type, target, properties}`). An event is the whole of its entity's
version, and the projector may apply only the newest of several events of one entity, so an
`edges` list is the complete set of the node's outgoing edges: after the upsert, the node's
outgoing edges are exactly those listed, and any other edge from it (one a newer version no
longer lists) is deleted. A payload with no `edges` key leaves the node's edges as they are.
Edges that point at the node belong to their sources' events and are never touched here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

from shared.catalog import MAX_CHUNKS, MODEL_FIELD, RESUME_CHUNKS, VECTOR_COLLECTIONS, chunk_id, document_of
from shared.database import UnifiedDataAccess
from shared.database.fulltext import Document, FullTextStore
from shared.database.graph import Edge, GraphStore, Node
from shared.database.outbox import OutboxEvent
from shared.database.vectors import VectorRecord, VectorStore
from shared.projector.embedding import EmbeddingUnavailable, PassageEmbedder


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
        if not upserts:
            return
        await self.graph.upsert_nodes([Node(e.entity_id, self.part(e)["label"], e.org_id,
                                            self.part(e).get("properties", {}), e.version) for e in upserts])
        edges = [Edge(e.entity_id, edge["type"], edge["target"], e.org_id, edge.get("properties", {}))
                 for e in upserts for edge in self.part(e).get("edges", [])]
        if edges:
            await self.graph.upsert_edges(edges)
        await self._delete_unlisted_edges(upserts)

    async def _delete_unlisted_edges(self, upserts: Sequence[OutboxEvent]) -> None:
        """Delete each listed node's outgoing edges that its `edges` no longer names, one delete per org."""
        listed: dict[tuple[str, str], set[tuple[str, str, str]]] = {}
        for e in upserts:
            part = self.part(e)
            if "edges" in part:  # a node listed twice keeps its last list, as upsert_nodes keeps its last node
                listed[(e.org_id, e.entity_id)] = {(e.entity_id, edge["type"], edge["target"])
                                                   for edge in part["edges"]}
        unlisted: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        for (org_id, node_id), keys in listed.items():
            for edge in await self.graph.edges_from(org_id, node_id):
                if (edge.source, edge.type, edge.target) not in keys:
                    unlisted[org_id].append((edge.source, edge.type, edge.target))
        for org_id, keys in unlisted.items():
            await self.graph.delete_edges(org_id, keys)

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


class ProjectionUnavailable(RuntimeError):
    """A store or service the projection needs cannot be reached now.

    The projector retries the events after a short delay without counting an attempt: an
    outage of the vector service delays embeddings, it does not dead-letter them.
    """


class VectorProjection(_PayloadProjection):
    """Vectors: given in the event, or embedded from its text by the vector service.

    A payload naming one of the catalog's collections (`talents`, `jobs`, `resume_chunks`) carries
    `text` and `metadata`; its vector is made by the model the embedder answers with, and stored
    in that model's collection (`VectorCollection.stored_as`) with the model id in its metadata.
    Any other collection is a store collection taking the event's `vector` as it is. Without an
    embedder, events of catalog collections are not this projection's: `looma reconcile` or
    `looma reindex` fills them once the vector service is reachable.
    """

    name = "vectors"

    def __init__(self, vectors: VectorStore, embedder: PassageEmbedder | None = None) -> None:
        self.vectors = vectors
        self.embedder = embedder

    def concerns(self, event: OutboxEvent) -> bool:
        if self.name not in event.payload:
            return False
        return self.embedder is not None or self.part(event)["collection"] not in VECTOR_COLLECTIONS

    def target(self, event: OutboxEvent) -> str:
        return self.part(event)["collection"]

    async def apply_many(self, events: Sequence[OutboxEvent]) -> None:
        for (collection, org_id), ids in self.deletes_by(events, "collection", self.name).items():
            if collection == RESUME_CHUNKS.name:  # a document's chunks: every id it may have had
                ids = [chunk_id(entity, index) for entity in ids for index in range(MAX_CHUNKS)]
            await self.vectors.delete(await self._stored(collection), org_id, ids)
        upserts = [e for e in events if e.operation == "upsert" and not self.part(e).get("chunked")]
        for event in events:
            if event.operation == "upsert" and self.part(event).get("chunked"):
                await self._apply_chunked(event)
        records: dict[str, list[VectorRecord]] = defaultdict(list)
        to_embed = [e for e in upserts if self.part(e)["collection"] in VECTOR_COLLECTIONS]
        for e in upserts:
            part = self.part(e)
            if part["collection"] not in VECTOR_COLLECTIONS:
                if "vector" not in part:
                    raise ValueError(f"vectors payload for {part['collection']!r} has no vector")
                records[part["collection"]].append(VectorRecord(e.entity_id, e.org_id, part["vector"],
                                                                part.get("metadata", {}), e.version))
        if to_embed:
            vectors, model = await self._embed([str(self.part(e).get("text") or "") for e in to_embed])
            for e, vector in zip(to_embed, vectors, strict=True):
                part = self.part(e)
                stored = VECTOR_COLLECTIONS[part["collection"]].stored_as(model)
                metadata = {**part.get("metadata", {}), MODEL_FIELD: model}
                records[stored].append(VectorRecord(e.entity_id, e.org_id, vector, metadata, e.version))
        for collection, batch in records.items():
            await self.vectors.upsert(collection, batch)

    async def _apply_chunked(self, event: OutboxEvent) -> None:
        """A long text (a resume) as chunks `{id}#{index}`, each with its span; chunks it no longer has go."""
        from shared.embeddings.chunking import Section, chunk_text

        part = self.part(event)
        sections = [Section(s["name"], s["start"], s["end"]) for s in part.get("sections", [])]
        chunks = chunk_text(str(part.get("text") or ""), sections=sections or None)[:MAX_CHUNKS]
        stored = await self._stored(part["collection"])
        if chunks:
            vectors, model = await self._embed([chunk.text for chunk in chunks])
            stored = VECTOR_COLLECTIONS[part["collection"]].stored_as(model)
            await self.vectors.upsert(stored, [VectorRecord(
                chunk_id(event.entity_id, chunk.index), event.org_id, vector,
                {**part.get("metadata", {}), "section": chunk.section, "start": chunk.start, "end": chunk.end,
                 "index": chunk.index, MODEL_FIELD: model}, event.version)
                for chunk, vector in zip(chunks, vectors, strict=True)])
        await self.vectors.delete(stored, event.org_id,
                                  [chunk_id(event.entity_id, index) for index in range(len(chunks), MAX_CHUNKS)])

    async def versions(self, target: str) -> dict[str, int]:
        held = await self.vectors.versions(await self._stored(target))
        if target == RESUME_CHUNKS.name:  # reconcile compares documents, not their chunks
            return {document_of(vector_id): version for vector_id, version in held.items()}
        return held

    async def _stored(self, collection: str) -> str:
        if collection not in VECTOR_COLLECTIONS:
            return collection
        assert self.embedder is not None  # concerns() keeps catalog events away without one
        try:
            return VECTOR_COLLECTIONS[collection].stored_as(await self.embedder.model_id())
        except EmbeddingUnavailable as error:
            raise ProjectionUnavailable(str(error)) from error

    async def _embed(self, texts: list[str]) -> tuple[Any, str]:
        assert self.embedder is not None
        try:
            return await self.embedder.embed_passages(texts)
        except EmbeddingUnavailable as error:
            raise ProjectionUnavailable(str(error)) from error


def all_projections(data: UnifiedDataAccess, embedder: PassageEmbedder | None = None) -> list[Projection]:
    return [GraphProjection(data.graph), FullTextProjection(data.fulltext), VectorProjection(data.vectors, embedder)]
