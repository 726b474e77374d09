"""The vector projection of catalog collections: text in the event, the vector made by an embedder.

The embedder here is in-process (LocalPassages over a small deterministic model); the fleet test
tests/e2e/test_talent_vectors.py covers the real one, the vector service over HTTP.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from shared.catalog import MODEL_FIELD, RESUME_CHUNKS, TALENT_INDEX, TALENTS
from shared.config import LoomaSettings
from shared.database import UnifiedDataAccess
from shared.database.outbox import DONE, PENDING, OutboxEvent, outbox_events, record
from shared.database.schema import upgrade_async
from shared.embeddings import Embedder
from shared.projector.embedding import EmbeddingUnavailable, LocalPassages
from shared.projector.projections import all_projections
from shared.projector.projector import Projector, ProjectorPolicy

ORG = "org-1"
DIM = 8


class HashedModel:
    """Vectors from a hash of the text: the same text, the same vector."""

    model_id = "test/hashed-8"
    dim = DIM
    concurrency = 1

    async def load(self) -> None:
        return None

    async def encode(self, texts: list[str], kind: str) -> np.ndarray:
        rows = [np.frombuffer(hashlib.sha256(text.encode()).digest()[:DIM], dtype=np.uint8).astype(np.float32) + 1
                for text in texts]
        return np.stack(rows)

    async def close(self) -> None:
        return None


class Outage:
    """A PassageEmbedder that is down until `up` is set."""

    def __init__(self, working: LocalPassages) -> None:
        self.working, self.up, self.calls = working, False, 0

    async def embed_passages(self, texts: Sequence[str]) -> tuple[np.ndarray, str]:
        self.calls += 1
        if not self.up:
            raise EmbeddingUnavailable("vector service: connection refused")
        return await self.working.embed_passages(texts)

    async def model_id(self) -> str:
        if not self.up:
            raise EmbeddingUnavailable("vector service: connection refused")
        return await self.working.model_id()

    async def close(self) -> None:
        return None


@pytest.fixture
async def data(relational_url: str, tmp_path: Path) -> AsyncIterator[UnifiedDataAccess]:
    await upgrade_async(relational_url)
    opened = UnifiedDataAccess.from_settings(LoomaSettings(data_dir=tmp_path, database_url=relational_url,
                                                           redis_url=None))
    await opened.fulltext.ensure_index(TALENT_INDEX)
    await opened.vectors.ensure_collection(TALENTS.spec(HashedModel.model_id, DIM))
    await opened.vectors.ensure_collection(RESUME_CHUNKS.spec(HashedModel.model_id, DIM))
    yield opened
    await opened.close()


@pytest.fixture
async def passages() -> LocalPassages:
    embedder = Embedder(HashedModel(), batch_size=16)  # type: ignore[arg-type]
    await embedder.load()
    return LocalPassages(embedder)


def talent(entity_id: str, version: int, text: str | None, city: str = "北京") -> OutboxEvent:
    if text is None:
        return OutboxEvent(ORG, "talent", entity_id, version, "delete", {"vectors": {"collection": "talents"}})
    return OutboxEvent(ORG, "talent", entity_id, version, "upsert", {
        "vectors": {"collection": "talents", "text": text, "metadata": {"city": city}}})


async def write(data: UnifiedDataAccess, *events: OutboxEvent) -> None:
    async with data.relational.write() as conn:
        await record(conn, *events)


async def outbox(data: UnifiedDataAccess) -> list[tuple[str, int, str, int]]:
    query = sa.select(outbox_events.c.entity_id, outbox_events.c.version, outbox_events.c.status,
                      outbox_events.c.attempts).order_by(outbox_events.c.id)
    async with data.relational.read() as conn:
        return [tuple(row) for row in (await conn.execute(query)).all()]


async def test_text_is_embedded_into_the_models_collection_with_its_model_id(
        data: UnifiedDataAccess, passages: LocalPassages) -> None:
    await write(data, talent("t1", 1, "资深后端工程师 Go Kubernetes"), talent("t2", 1, "Data scientist, NLP", "上海"))

    assert await Projector(data, all_projections(data, passages)).run_once() == 2

    stored = TALENTS.stored_as(HashedModel.model_id)
    assert await data.vectors.versions(stored) == {"t1": 1, "t2": 1}
    expected = (await passages.embed_passages(["资深后端工程师 Go Kubernetes"]))[0][0]
    hits = await data.vectors.search(stored, ORG, expected, top_k=1)
    assert hits[0].id == "t1" and hits[0].score > 0.9999
    assert hits[0].metadata == {"city": "北京", MODEL_FIELD: HashedModel.model_id}
    shanghai = await data.vectors.search(stored, ORG, expected, top_k=5, filters={"city": "上海"})
    assert [hit.id for hit in shanghai] == ["t2"]


async def test_a_newer_text_replaces_the_vector_and_a_delete_removes_it(
        data: UnifiedDataAccess, passages: LocalPassages) -> None:
    projector = Projector(data, all_projections(data, passages))
    stored = TALENTS.stored_as(HashedModel.model_id)
    await write(data, talent("t1", 1, "Java 工程师"))
    await projector.run_once()
    await write(data, talent("t1", 2, "产品经理"))
    await projector.run_once()
    assert await data.vectors.versions(stored) == {"t1": 2}
    manager = (await passages.embed_passages(["产品经理"]))[0][0]
    assert (await data.vectors.search(stored, ORG, manager, top_k=1))[0].score > 0.9999

    await write(data, talent("t1", 3, None))
    await projector.run_once()
    assert await data.vectors.versions(stored) == {}


async def test_without_an_embedder_text_events_are_left_for_later(data: UnifiedDataAccess) -> None:
    await write(data, talent("t1", 1, "Java 工程师"))
    await Projector(data, all_projections(data)).run_once()

    assert await outbox(data) == [("t1", 1, DONE, 1)]  # delivered to the projections that are there
    assert await data.vectors.versions(TALENTS.stored_as(HashedModel.model_id)) == {}


async def test_an_unreachable_vector_service_delays_without_spending_attempts(
        data: UnifiedDataAccess, passages: LocalPassages) -> None:
    embedder = Outage(passages)
    policy = ProjectorPolicy(max_attempts=2, unavailable_retry=0.2)
    projector = Projector(data, all_projections(data, embedder), policy=policy)
    await write(data, talent("t1", 1, "Java 工程师"), talent("t2", 1, "测试工程师"))

    for _ in range(4):  # more failures than max_attempts: an outage never dead-letters
        await projector.run_once()
        await asyncio.sleep(0.25)
    assert await outbox(data) == [("t1", 1, PENDING, 0), ("t2", 1, PENDING, 0)]
    async with data.relational.read() as conn:
        errors = (await conn.execute(sa.select(outbox_events.c.last_error))).scalars().all()
    assert all("vectors: unavailable: vector service: connection refused" in error for error in errors)

    embedder.up = True
    await projector.run_once()
    assert [status for _, _, status, _ in await outbox(data)] == [DONE, DONE]
    assert await data.vectors.versions(TALENTS.stored_as(HashedModel.model_id)) == {"t1": 1, "t2": 1}


RESUME_TEXT = "张伟 资深后端工程师。\n\n" + "负责分布式存储系统的设计与优化，使用 Go 和 Kubernetes 构建平台。\n" * 30


def resume(entity_id: str, version: int, text: str | None) -> OutboxEvent:
    if text is None:
        return OutboxEvent(ORG, "resume", entity_id, version, "delete", {"vectors": {"collection": "resume_chunks"}})
    return OutboxEvent(ORG, "resume", entity_id, version, "upsert", {"vectors": {
        "collection": "resume_chunks", "text": text, "chunked": True,
        "sections": [{"name": "experience", "start": 0, "end": len(text)}],
        "metadata": {"talent_id": "t1", "resume_id": entity_id}}})


async def test_a_long_text_is_stored_as_chunks_that_keep_their_spans(
        data: UnifiedDataAccess, passages: LocalPassages) -> None:
    projector = Projector(data, all_projections(data, passages))
    stored = RESUME_CHUNKS.stored_as(HashedModel.model_id)
    await write(data, resume("r1", 1, RESUME_TEXT))
    await projector.run_once()

    held = await data.vectors.versions(stored)
    assert len(held) > 2 and set(held) == {f"r1#{i}" for i in range(len(held))}
    hits = await data.vectors.search(stored, ORG, [1.0] * DIM, top_k=100)
    for hit in hits:
        start, end = hit.metadata["start"], hit.metadata["end"]
        chunk = RESUME_TEXT[start:end]
        assert hit.score > 0 and chunk.strip() == chunk and chunk
        assert hit.metadata["section"] == "experience" and hit.metadata["talent_id"] == "t1"
    projection = next(p for p in all_projections(data, passages) if p.name == "vectors")
    assert await projection.versions("resume_chunks") == {"r1": 1}

    await write(data, resume("r1", 2, "产品经理，5 年经验。"))
    await projector.run_once()
    assert await data.vectors.versions(stored) == {"r1#0": 2}

    await write(data, resume("r1", 3, None))
    await projector.run_once()
    assert await data.vectors.versions(stored) == {}
