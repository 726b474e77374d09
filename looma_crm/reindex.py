"""`looma reindex`: embed every talent and job with the configured model, without stopping search.

Vectors live in one collection per model (shared/catalog.py). Reindexing fills the collection of
the model `LOOMA_EMBEDDING_*` names, in this process, from the CRM's own rows: a talent or job is
embedded when that collection lacks it or holds an older revision, and a vector whose entity is
gone is deleted. The collections of other models are not touched, so a vector service still
running the previous model keeps answering from them while this runs.

A model change is then: run `looma reindex` with the new model's settings; restart the vector
service with them; run `looma reindex` again, which embeds only what changed in between. The same
command also fills the vectors of data written before talents and jobs were embedded.

A pass reads each entity's revision before embedding it; an edit the projector delivers during
the pass may be overwritten by the older text, so the command checks the versions again after the
pass and embeds what is behind, up to PASSES times.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa

from looma_crm.projections import job_events, talent_events
from looma_crm.tables import jobs, talents
from shared.catalog import JOBS, MODEL_FIELD, TALENTS, VectorCollection
from shared.database import UnifiedDataAccess
from shared.database.vectors import VectorRecord
from shared.projector.embedding import PassageEmbedder

BATCH = 64  # entities embedded and written together
PASSES = 3
PAGE = 1_000  # rows read at a time


@dataclass(frozen=True)
class Source:
    collection: VectorCollection
    table: sa.Table
    payload: Callable[[dict[str, Any]], dict[str, Any]]  # a row's `vectors` part, as the outbox carries it


SOURCES = {
    "talents": Source(TALENTS, talents, lambda row: talent_events(row, [])[-1].payload["vectors"]),
    "jobs": Source(JOBS, jobs, lambda row: job_events(row)[-1].payload["vectors"]),
}


class Progress(Protocol):
    def start(self, collection: str, total: int) -> None: ...

    def advance(self, count: int) -> None: ...


@dataclass
class Outcome:
    embedded: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    behind: dict[str, int] = field(default_factory=dict)  # still behind after the last pass


async def reindex(data: UnifiedDataAccess, embedder: PassageEmbedder, dim: int, names: Sequence[str],
                  progress: Progress, batch: int = BATCH) -> Outcome:
    model = await embedder.model_id()
    outcome = Outcome()
    for name in names:
        source = SOURCES[name]
        stored = source.collection.stored_as(model)
        await data.vectors.ensure_collection(source.collection.spec(model, dim))
        embedded = deleted = 0
        for _ in range(PASSES):
            held = await data.vectors.versions(stored)
            live, removed = await _revisions(data, source.table)
            stale = [entity for entity, (revision, _) in live.items() if held.get(entity) != revision]
            gone: dict[str, list[str]] = {}
            for entity in held.keys() & removed.keys():
                gone.setdefault(removed[entity], []).append(entity)
            if not stale and not gone:
                break
            progress.start(name, len(stale))
            async for rows in _rows(data, source.table, stale, batch):
                parts = [source.payload(row) for row in rows]
                vectors, made_by = await embedder.embed_passages([part["text"] for part in parts])
                if made_by != model:
                    raise RuntimeError(f"the embedder changed model from {model} to {made_by} during the reindex")
                await data.vectors.upsert(stored, [
                    VectorRecord(row["id"], row["org_id"], vector, {**part["metadata"], MODEL_FIELD: model},
                                 row["revision"])
                    for row, part, vector in zip(rows, parts, vectors, strict=True)])
                embedded += len(rows)
                progress.advance(len(rows))
            for org_id, ids in gone.items():
                deleted += await data.vectors.delete(stored, org_id, ids)
        held = await data.vectors.versions(stored)
        live, _ = await _revisions(data, source.table)
        outcome.embedded[name], outcome.deleted[name] = embedded, deleted
        outcome.behind[name] = sum(1 for entity, (revision, _) in live.items() if held.get(entity) != revision)
    return outcome


async def _revisions(data: UnifiedDataAccess, table: sa.Table) -> tuple[dict[str, tuple[int, str]], dict[str, str]]:
    """Every org's live entities (id -> (revision, org)) and deleted ones (id -> org)."""
    query = sa.select(table.c.id, table.c.revision, table.c.org_id, table.c.deleted_at)
    live, removed = {}, {}
    async with data.relational.read() as conn:
        for row in await conn.execute(query):
            if row.deleted_at is None:
                live[row.id] = (row.revision, row.org_id)
            else:
                removed[row.id] = row.org_id
    return live, removed


async def _rows(data: UnifiedDataAccess, table: sa.Table, ids: list[str], batch: int) -> AsyncIterator[list[dict[str, Any]]]:
    for start in range(0, len(ids), PAGE):
        chunk = ids[start:start + PAGE]
        query = sa.select(table.c.id, table.c.org_id, table.c.revision, table.c.data, table.c.deleted_at).where(
            table.c.id.in_(chunk), table.c.deleted_at.is_(None))
        async with data.relational.read() as conn:
            rows = [dict(row._mapping) for row in await conn.execute(query)]
        for offset in range(0, len(rows), batch):
            yield rows[offset:offset + batch]
