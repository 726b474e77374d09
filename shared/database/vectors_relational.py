"""The embedded vector store: vectors in a relational table, searched in memory, exactly or through HNSW.

Each process keeps, per (collection, org), the org's vectors as one float32 matrix
(`vector_matrix.OrgMatrix`). A search reads the collection's `revision` (one primary-key row,
bumped in the same transaction as every upsert and delete) and uses the matrix only if it is
current, so writes made by any process that shares the database are seen by the next search. A
matrix that is behind catches up with what was written after its revision: the deletions
(tombstones in `vector_deletions`) and then the rows (`vector_items.revision`). It is reloaded
instead when tombstones it needs have been pruned, or when replaced and deleted rows outnumber
the live ones.

Search is exact (numpy scores every live row) while the org holds fewer than `ann_threshold` live
vectors in the collection, 20,000 by default, and goes through an HNSW index
(`vector_index.OrgIndex`) from there on. Why 20,000 (docs/benchmarks.md, 2026-11-25, 384
dimensions, the 2-core machine with another process on one core): on one BLAS thread exact search
held the targets (top-10 p99 <= 10 ms, >= 300 QPS) at 10k, was at their edge at 20k (p99 6.7 ms,
255 QPS) and far past them at 50k (111 QPS); through the index, 100k held them in every run (p99
under 8 ms, 400-680 QPS, recall@10 0.997). An index at 20k costs about 9 s of one core to build and
35 MB. The index is built in a worker thread when a search first finds the org past the threshold,
and exact search answers until it is ready; it is dropped below half the threshold, so an org near
it does not flap.

The index follows the matrix, never the database directly (`vector_index` says how). With
`index_dir` (the services pass `<data_dir>/vector-index`) each index is saved there as
`<collection>/<sha256 of the org>.hnsw`, with each label's key beside it: a process that starts,
or reaches the threshold, loads the file rather than building, then catches up record by record.
A catch-up of a few rows runs on the event loop at the next search; longer ones, builds and saves
run in a thread while exact search answers. Without `index_dir` indexes live in memory only.

A filter that keeps under a tenth of the org's rows, or under 4,096 of them, is answered exactly
over those rows, which is exact and cheaper than walking the graph for the few that pass; a
wider one uses the index's filtered search. Either way the candidates' scores are computed as
exact search computes them, then `min_score` and ties by id apply the same way, and the graph is
searched with ef raised to at least `top_k`.

Input is checked by the rules every VectorStore applies (`vector_rules`), which define what
filters match.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.database.relational import RelationalStore
from shared.database.vector_index import IndexJobStopped, OrgIndex
from shared.database.vector_matrix import MatrixView, OrgMatrix, best_rows
from shared.database.vector_rules import (
    MAX_ID_LENGTH,
    MAX_ORG_ID_LENGTH,
    checked_filters,
    checked_key,
    checked_records,
    checked_search,
    checked_spec,
)
from shared.database.vectors import (
    CollectionSpec,
    Filters,
    VectorHit,
    VectorIdTaken,
    VectorInputError,
    VectorRecord,
    normalised,
)

if TYPE_CHECKING:
    import numpy as np  # imported where used: every service opens this store, few of them search

__all__ = ["ANN_THRESHOLD", "IndexCounts", "RelationalVectors"]

ID_CHUNK = 500  # ids per IN (...): well under SQLite's and asyncpg's parameter limits
THREAD_ABOVE = 1_000_000  # matrix entries; a larger search runs in a thread, off the event loop
TOMBSTONE_REVISIONS = 10_000  # tombstones older than this many revisions are pruned

# Live vectors of one org in one collection from which search goes through an HNSW index; see the
# module docstring for why 20,000.
ANN_THRESHOLD = 20_000
EXACT_FILTER_SHARE = 0.10  # a filter keeping fewer of the org's rows than this share ...
EXACT_FILTER_ROWS = 4_096  # ... or than this many is answered exactly over those rows
INLINE_SYNC_ROWS = 16  # rows an index adds on the event loop at a search; more go to a thread
SAVE_AFTER_CHANGES = 1_000  # labels added or deleted (and at least a tenth of the index) before a save
INDEX_RETRY_SECONDS = 60.0  # after a failed index job, exact search only for this long

logger = logging.getLogger(__name__)

metadata = sa.MetaData()
vector_collections = sa.Table(
    "vector_collections",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("dim", sa.Integer, nullable=False),
    sa.Column("filterable", sa.JSON, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("pruned_revision", sa.BigInteger, nullable=False),
)
vector_items = sa.Table(
    "vector_items",
    metadata,
    sa.Column("collection", sa.String(64), primary_key=True),
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("org_id", sa.String(64), nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
)
vector_deletions = sa.Table(
    "vector_deletions",
    metadata,
    sa.Column("collection", sa.String(64), primary_key=True),
    sa.Column("revision", sa.BigInteger, primary_key=True),
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("org_id", sa.String(64), nullable=False),
)


# Run in a worker thread: the index ready to search, and how many were loaded, built and saved.
IndexJob = Callable[[], tuple[OrgIndex, int, int, int]]


@dataclass
class IndexCounts:
    """What the store did with ANN indexes, for tests, benchmarks and logs."""

    built: int = 0  # from the org's rows
    loaded: int = 0  # from the index directory, then caught up
    saved: int = 0
    ann_searches: int = 0
    exact_searches: int = 0


@dataclass(frozen=True)
class CollectionState:
    dim: int
    filterable: tuple[str, ...]
    revision: int
    pruned_revision: int


class RelationalVectors:
    """VectorStore over `vector_collections`, `vector_items` and `vector_deletions` in the relational database.

    `index_dir`: where ANN indexes are saved (None: memory only). `ann_threshold`: live vectors of
    an org from which its searches use one. `build_threads`: threads a build or a long catch-up
    may use, by default half the cores, so that searches keep the rest.
    """

    backend = "relational"

    def __init__(self, relational: RelationalStore, *, index_dir: str | os.PathLike[str] | None = None,
                 ann_threshold: int = ANN_THRESHOLD, build_threads: int | None = None) -> None:
        if isinstance(ann_threshold, bool) or not isinstance(ann_threshold, int) or ann_threshold < 1:
            raise ValueError(f"ann_threshold {ann_threshold!r} must be a positive integer")
        self.relational = relational
        self.index_dir = Path(index_dir) if index_dir is not None else None
        self.ann_threshold = ann_threshold
        self.build_threads = build_threads or max(1, (os.cpu_count() or 1) // 2)
        self.index_counts = IndexCounts()
        self._matrices: dict[tuple[str, str], OrgMatrix] = {}
        self._refreshing: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)
        self._indexes: dict[tuple[str, str], OrgIndex] = {}  # ready: current, or a few rows behind
        self._index_jobs: dict[tuple[str, str], asyncio.Task[None]] = {}  # building, catching up or saving
        self._index_failed: dict[tuple[str, str], float] = {}  # monotonic time of the last failed job
        self._stopping = threading.Event()

    async def ensure_collection(self, spec: CollectionSpec) -> None:
        spec = checked_spec(spec)
        for attempt in range(2):
            try:
                async with self.relational.write() as conn:
                    state = await _collection_state(conn, spec.name)
                    if state is None:
                        await conn.execute(vector_collections.insert().values(
                            name=spec.name, dim=spec.dim, filterable=list(spec.filterable), revision=0,
                            pruned_revision=0))
                    elif state.dim != spec.dim:
                        raise VectorInputError(
                            f"collection {spec.name!r} exists with dimension {state.dim}, not {spec.dim}")
                    elif state.filterable != spec.filterable:
                        # Filter terms are computed from metadata at search time: nothing to rebuild.
                        await conn.execute(vector_collections.update().where(vector_collections.c.name == spec.name)
                                           .values(filterable=list(spec.filterable)))
                return
            except IntegrityError:
                if attempt:  # another process created it between our read and insert: check again once
                    raise

    async def upsert(self, collection: str, records: Sequence[VectorRecord]) -> None:
        state = await self._state(collection)
        checked = checked_records(records, state.dim)
        if not checked:
            return
        async with self.relational.write() as conn:
            revision = await _bump_revision(conn, collection)
            if revision is None:
                raise VectorInputError(f"unknown collection {collection!r}")
            by_id = {record.id: record for record in checked}
            for ids in _chunks(list(by_id)):
                held = await conn.execute(sa.select(vector_items.c.id, vector_items.c.org_id).where(
                    vector_items.c.collection == collection, vector_items.c.id.in_(ids)))
                taken = [record_id for record_id, org_id in held if org_id != by_id[record_id].org_id]
                if taken:
                    raise VectorIdTaken(collection, taken)
                await conn.execute(vector_items.delete().where(
                    vector_items.c.collection == collection, vector_items.c.id.in_(ids)))
            await conn.execute(vector_items.insert(), [
                {"collection": collection, "id": record.id, "org_id": record.org_id,
                 "vector": record.vector.astype("<f4").tobytes(), "metadata": record.metadata,
                 "version": record.version, "revision": revision}
                for record in checked])

    async def delete(self, collection: str, org_id: str, ids: Sequence[str]) -> int:
        checked_key(org_id, "org_id", MAX_ORG_ID_LENGTH)
        unique = list(dict.fromkeys(checked_key(record_id, "id", MAX_ID_LENGTH) for record_id in ids))
        if not unique:
            return 0
        async with self.relational.write() as conn:
            # The revision first, as in upsert: writers lock the collection row before any item row.
            revision = await _bump_revision(conn, collection)
            if revision is None:
                return 0
            deleted: list[str] = []
            for chunk in _chunks(unique):
                result = await conn.execute(vector_items.delete().where(
                    vector_items.c.collection == collection, vector_items.c.org_id == org_id,
                    vector_items.c.id.in_(chunk)).returning(vector_items.c.id))
                deleted += result.scalars().all()
            if deleted:
                await conn.execute(vector_deletions.insert(), [
                    {"collection": collection, "revision": revision, "id": record_id, "org_id": org_id}
                    for record_id in deleted])
                await _prune_tombstones(conn, collection, revision - TOMBSTONE_REVISIONS)
        return len(deleted)

    async def get(self, collection: str, org_id: str, ids: Sequence[str]) -> list[VectorRecord]:
        import numpy as np

        checked_key(org_id, "org_id", MAX_ORG_ID_LENGTH)
        unique = list(dict.fromkeys(checked_key(record_id, "id", MAX_ID_LENGTH) for record_id in ids))
        columns = vector_items.c
        found: dict[str, VectorRecord] = {}
        async with self.relational.read() as conn:
            for chunk in _chunks(unique):
                result = await conn.execute(sa.select(columns.id, columns.vector, columns.metadata, columns.version)
                                            .where(columns.collection == collection, columns.org_id == org_id,
                                                   columns.id.in_(chunk)))
                for record_id, vector, record_metadata, version in result:
                    found[record_id] = VectorRecord(record_id, org_id, np.frombuffer(vector, dtype="<f4").astype(
                        np.float32), record_metadata, version)
        return [found[record_id] for record_id in unique if record_id in found]

    async def search(self, collection: str, org_id: str, vector: Sequence[float] | np.ndarray, top_k: int = 10,
                     filters: Filters | None = None, min_score: float | None = None) -> list[VectorHit]:
        checked_search(top_k, min_score)
        checked_key(org_id, "org_id", MAX_ORG_ID_LENGTH)
        state = await self._state(collection)
        query = normalised(vector, state.dim)
        wanted = checked_filters(filters, state.filterable)
        org = await self._current(collection, org_id, state)
        matrix, mask = org.view(wanted)
        index = self._usable_index((collection, org_id), org)
        if index is not None and (not wanted or not _few_kept(mask, len(org.row_of))):
            # No await between the check and the walk: the index cannot change under it. Without a
            # filter the mask only marks dead rows, which the index has already deleted.
            rows, scores = index.search(org, query, top_k, mask if wanted else None, min_score)
            self.index_counts.ann_searches += 1
        elif matrix.size > THREAD_ABOVE:
            rows, scores = await asyncio.to_thread(best_rows, matrix, query, mask, top_k, min_score)
            self.index_counts.exact_searches += 1
        else:
            rows, scores = best_rows(matrix, query, mask, top_k, min_score)
            self.index_counts.exact_searches += 1
        ranked = sorted(zip(rows.tolist(), scores.tolist(), strict=True), key=lambda pair: (-pair[1], org.ids[pair[0]]))
        return [VectorHit(org.ids[row], score, json.loads(org.metadata[row])) for row, score in ranked[:top_k]]

    async def versions(self, collection: str, org_id: str | None = None) -> dict[str, int]:
        query = sa.select(vector_items.c.id, vector_items.c.version).where(vector_items.c.collection == collection)
        if org_id is not None:
            query = query.where(vector_items.c.org_id == org_id)
        async with self.relational.read() as conn:
            return {record_id: version for record_id, version in await conn.execute(query)}

    async def ping(self) -> None:
        await self.relational.ping()

    async def close(self) -> None:
        """Stop index jobs, save indexes changed since their last save, forget what is in memory.

        The relational store is closed by its owner. The store may be used again afterwards.
        """
        self._stopping.set()
        await asyncio.gather(*self._index_jobs.values(), return_exceptions=True)
        if self.index_dir is not None:
            for key, index in list(self._indexes.items()):
                if index.unsaved:
                    try:
                        if await asyncio.to_thread(index.save):
                            self.index_counts.saved += 1
                    except OSError as error:
                        logger.warning("vector index of %s could not be saved: %s", key, error)
        self._indexes.clear()
        self._matrices.clear()
        self._stopping = threading.Event()

    async def wait_for_indexes(self) -> None:
        """Return once no index is being built, caught up or saved (tests and benchmarks wait on this)."""
        while self._index_jobs:
            await asyncio.gather(*self._index_jobs.values(), return_exceptions=True)

    def _usable_index(self, key: tuple[str, str], org: OrgMatrix) -> OrgIndex | None:
        """The org's index if it can answer now, caught up on the spot if only a few rows behind.

        Otherwise None (search exactly), having started whatever job makes it usable: a load or
        a build past the threshold, a long catch-up, a rebuild, a save. Runs without awaiting, so
        no other search sees the index half-synced.
        """
        if key in self._index_jobs:
            return None
        live = len(org.row_of)
        index = self._indexes.get(key)
        if index is None:
            failed = self._index_failed.get(key)
            if live >= self.ann_threshold and (failed is None or time.monotonic() - failed > INDEX_RETRY_SECONDS):
                self._start_index_job(key, None, org)
            return None
        if live < self.ann_threshold // 2:
            del self._indexes[key]  # small again: exact search is fast, and the memory is better freed
            return None
        if not index.current(org):
            backlog = index.backlog(org)
            if backlog is None or backlog > INLINE_SYNC_ROWS:
                self._start_index_job(key, index, org)
                return None
            try:
                index.sync(MatrixView.of(org))
            except Exception:  # as in a job: drop the index, search exactly, try again later
                logger.exception("vector index of collection %r could not catch up", key[0])
                del self._indexes[key]
                self._index_failed[key] = time.monotonic()
                return None
        if index.bloated or (self.index_dir is not None and index.unsaved >= _save_after(len(index))):
            self._start_index_job(key, index, org)
            return None
        return index

    def _start_index_job(self, key: tuple[str, str], index: OrgIndex | None, org: OrgMatrix) -> None:
        self._indexes.pop(key, None)  # until the job is done, searches are exact
        job = self._prepared_index(key, index, MatrixView.of(org), self._index_path(*key), self._stopping)
        self._index_jobs[key] = asyncio.get_running_loop().create_task(self._run_index_job(key, job))

    async def _run_index_job(self, key: tuple[str, str], job: IndexJob) -> None:
        try:
            index, loaded, built, saved = await asyncio.to_thread(job)
        except IndexJobStopped:
            return
        except Exception:  # an index is an optimisation: log, search exactly, try again later
            logger.exception("vector index job for collection %r failed; searching exactly for %.0f s",
                             key[0], INDEX_RETRY_SECONDS)
            self._index_failed[key] = time.monotonic()
            return
        finally:
            self._index_jobs.pop(key, None)
        self._index_failed.pop(key, None)
        self.index_counts.loaded += loaded
        self.index_counts.built += built
        self.index_counts.saved += saved
        if not self._stopping.is_set():
            self._indexes[key] = index

    def _prepared_index(self, key: tuple[str, str], index: OrgIndex | None, view: MatrixView, path: Path | None,
                        stop: threading.Event) -> IndexJob:
        """The job for a worker thread: the index opened or caught up with `view`, rebuilt if bloated, saved if due."""
        threads = self.build_threads

        def job() -> tuple[OrgIndex, int, int, int]:
            started = time.perf_counter()
            loaded = built = saved = 0
            prepared = index
            if prepared is None:
                prepared, was_loaded = OrgIndex.opened(view.matrix.shape[1], path, view, threads=threads, stop=stop)
                loaded, built = int(was_loaded), int(not was_loaded)
            else:
                prepared.sync(view, threads=threads, stop=stop)
            if prepared.bloated:
                prepared, built = OrgIndex.built(view.matrix.shape[1], path, view, threads=threads, stop=stop), 1
            if path is not None and (built or prepared.unsaved >= _save_after(len(prepared))):
                try:
                    saved = int(prepared.save())
                except OSError as error:  # a directory that cannot be written costs the saves, not the index
                    logger.warning("vector index %s could not be saved: %s", path, error)
                    prepared.unsaved = 0  # try again after as many changes, not at every search
            if loaded or built:
                logger.info("vector index of collection %r, %d vectors, %s in %.1f s", key[0], len(prepared),
                            "loaded" if loaded else "built", time.perf_counter() - started)
            return prepared, loaded, built, saved

        return job

    def _index_path(self, collection: str, org_id: str) -> Path | None:
        if self.index_dir is None:
            return None
        # Org ids may hold any character; a digest is a safe file name of fixed length.
        return self.index_dir / collection / f"{hashlib.sha256(org_id.encode()).hexdigest()[:32]}.hnsw"

    async def _state(self, collection: str) -> CollectionState:
        async with self.relational.read() as conn:
            state = await _collection_state(conn, collection)
        if state is None:
            raise VectorInputError(f"unknown collection {collection!r}: call ensure_collection first")
        return state

    async def _current(self, collection: str, org_id: str, state: CollectionState) -> OrgMatrix:
        """The org's matrix at `state.revision` or later: reused, caught up or reloaded."""
        key = (collection, org_id)
        org = self._matrices.get(key)
        if org is not None and org.revision >= state.revision:
            return org
        async with self._refreshing[key]:
            org = self._matrices.get(key)
            if org is not None and org.revision >= state.revision:
                return org  # refreshed while we waited
            if org is None or state.pruned_revision > org.revision or org.dead > len(org.row_of):
                org = await self._load(collection, org_id, state)
            else:
                await self._catch_up(org, collection, org_id, state)
            self._matrices[key] = org
            return org

    async def _load(self, collection: str, org_id: str, state: CollectionState) -> OrgMatrix:
        # Rows written after `state` was read may come too; they are fetched again at the next
        # catch-up, which only costs a dead row. Labelling the matrix older than it is stays correct.
        rows = await self._rows(collection, org_id)
        org = OrgMatrix(state.dim, state.revision, capacity=len(rows) + len(rows) // 4)
        org.add(rows)
        return org

    async def _catch_up(self, org: OrgMatrix, collection: str, org_id: str, state: CollectionState) -> None:
        # Deletions before rows: an id deleted and written again since comes back with its new row.
        tombstones = sa.select(vector_deletions.c.id).where(
            vector_deletions.c.collection == collection, vector_deletions.c.org_id == org_id,
            vector_deletions.c.revision > org.revision)
        async with self.relational.read() as conn:
            org.remove((await conn.execute(tombstones)).scalars().all())
        org.add(await self._rows(collection, org_id, after=org.revision))
        org.revision = state.revision

    async def _rows(self, collection: str, org_id: str,
                    after: int | None = None) -> list[tuple[str, bytes, str, int]]:
        columns = vector_items.c
        query = sa.select(columns.id, columns.vector, sa.cast(columns.metadata, sa.Text), columns.revision).where(
            columns.collection == collection, columns.org_id == org_id)
        if after is not None:
            query = query.where(columns.revision > after)
        async with self.relational.read() as conn:
            return [(record_id, vector, record_metadata, revision) for record_id, vector, record_metadata, revision
                    in await conn.execute(query)]


def _few_kept(mask: np.ndarray | None, live: int) -> bool:
    """Whether a filter keeps few enough rows that scoring them exactly beats walking the graph."""
    return mask is not None and int(mask.sum()) < max(EXACT_FILTER_SHARE * live, EXACT_FILTER_ROWS)


def _save_after(size: int) -> int:
    return max(SAVE_AFTER_CHANGES, size // 10)


async def _collection_state(conn: AsyncConnection, name: str) -> CollectionState | None:
    columns = vector_collections.c
    row = (await conn.execute(sa.select(columns.dim, columns.filterable, columns.revision, columns.pruned_revision)
                              .where(columns.name == name))).first()
    if row is None:
        return None
    return CollectionState(row.dim, tuple(row.filterable), row.revision, row.pruned_revision)


async def _bump_revision(conn: AsyncConnection, name: str) -> int | None:
    """The collection's next revision, taken inside the caller's write transaction (None: no such collection).

    On PostgreSQL the UPDATE holds the row lock until commit, so revisions commit in order: a reader
    that sees revision R can fetch every row written at R or before.
    """
    columns = vector_collections.c
    updated = await conn.execute(vector_collections.update().where(columns.name == name)
                                 .values(revision=columns.revision + 1))
    if updated.rowcount == 0:
        return None
    return (await conn.execute(sa.select(columns.revision).where(columns.name == name))).scalar_one()


async def _prune_tombstones(conn: AsyncConnection, collection: str, through: int) -> None:
    """Drop tombstones at or below `through`; a matrix older than that reloads rather than catches up."""
    if through <= 0:
        return
    pruned = await conn.execute(vector_deletions.delete().where(
        vector_deletions.c.collection == collection, vector_deletions.c.revision <= through))
    if pruned.rowcount:
        await conn.execute(vector_collections.update().where(vector_collections.c.name == collection)
                           .values(pruned_revision=through))  # grows: revisions only grow


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), ID_CHUNK):
        yield values[start:start + ID_CHUNK]
