"""The embedded vector store: vectors in a relational table, exact cosine search with numpy.

Each process keeps, per (collection, org), the org's vectors as one float32 matrix. A search reads
the collection's `revision` (one primary-key row, bumped in the same transaction as every upsert
and delete) and uses the matrix only if it is current, so writes made by any process that shares
the database are seen by the next search. A matrix that is behind catches up with what was
written after its revision: the deletions (tombstones in `vector_deletions`) and then the rows
(`vector_items.revision`). It is reloaded instead when tombstones it needs have been pruned, or
when replaced and deleted rows outnumber the live ones.

The rules every VectorStore applies the same way (names, records, filters, search arguments) are
here too, as public functions, and `vectors_weaviate` uses them.

Filters: `{field: value}` keeps records whose metadata value equals it, `{field: [values]}` those
whose value is one of them; when the stored value is a list, any of its elements counts. Values
compare as JSON, with 5 and 5.0 equal but 1 and true not. Only the collection's filterable fields
may be named.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.database.relational import RelationalStore
from shared.database.vectors import CollectionSpec, Filters, VectorHit, VectorInputError, VectorRecord, normalised
from shared.utils.text import utf8_encodable

if TYPE_CHECKING:
    import numpy as np  # imported where used: every service opens this store, few of them search

__all__ = [
    "COLLECTION_NAME",
    "FIELD_NAME",
    "MAX_DIM",
    "MAX_ID_LENGTH",
    "MAX_ORG_ID_LENGTH",
    "MAX_TOP_K",
    "CheckedRecord",
    "RelationalVectors",
    "checked_filters",
    "checked_key",
    "checked_records",
    "checked_search",
    "checked_spec",
    "record_terms",
    "term",
]

COLLECTION_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_DIM = 65_535  # Weaviate's limit, so that a collection works on both stores
MAX_ID_LENGTH = 128
MAX_ORG_ID_LENGTH = 64
MAX_TOP_K = 10_000  # Weaviate's default QUERY_MAXIMUM_RESULTS
ID_CHUNK = 500  # ids per IN (...): well under SQLite's and asyncpg's parameter limits
THREAD_ABOVE = 1_000_000  # matrix entries; a larger search runs in a thread, off the event loop
TOMBSTONE_REVISIONS = 10_000  # tombstones older than this many revisions are pruned

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


# --- The rules both stores apply --------------------------------------------------------------


@dataclass(frozen=True)
class CheckedRecord:
    id: str
    org_id: str
    vector: np.ndarray  # float32, unit length
    metadata: dict[str, Any]  # as it comes back from JSON
    version: int


def checked_spec(spec: CollectionSpec) -> CollectionSpec:
    if not isinstance(spec.name, str) or not COLLECTION_NAME.fullmatch(spec.name):
        raise VectorInputError(f"collection name {spec.name!r} must match {COLLECTION_NAME.pattern}")
    if isinstance(spec.dim, bool) or not isinstance(spec.dim, int) or not 1 <= spec.dim <= MAX_DIM:
        raise VectorInputError(f"collection dimension {spec.dim!r} must be an integer from 1 to {MAX_DIM}")
    fields = tuple(spec.filterable)
    for field in fields:
        if not isinstance(field, str) or not FIELD_NAME.fullmatch(field):
            raise VectorInputError(f"filterable field {field!r} must match {FIELD_NAME.pattern}")
    if len(set(fields)) != len(fields):
        raise VectorInputError(f"filterable fields {list(fields)} name a field twice")
    return CollectionSpec(spec.name, spec.dim, fields)


def checked_key(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value:
        raise VectorInputError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > limit:
        raise VectorInputError(f"{what} is {len(value)} characters long, at most {limit} allowed")
    if "\x00" in value or not utf8_encodable(value):
        raise VectorInputError(f"{what} {value!r} holds a NUL or an unpaired surrogate")
    return value


def checked_records(records: Sequence[VectorRecord], dim: int) -> list[CheckedRecord]:
    """Every record checked before anything is written; of two with one id, the later wins."""
    by_id: dict[str, CheckedRecord] = {}
    for position, record in enumerate(records):
        try:
            checked = CheckedRecord(
                id=checked_key(record.id, "id", MAX_ID_LENGTH),
                org_id=checked_key(record.org_id, "org_id", MAX_ORG_ID_LENGTH),
                vector=normalised(record.vector, dim),
                metadata=_json_metadata(record.metadata),
                version=_checked_version(record.version),
            )
        except VectorInputError as error:
            raise VectorInputError(f"record {position} (id {record.id!r}): {error}") from None
        by_id.pop(checked.id, None)
        by_id[checked.id] = checked
    return list(by_id.values())


def checked_filters(filters: Filters | None, filterable: Sequence[str]) -> dict[str, frozenset[str]]:
    """Field to the terms that match it (see `term`); refuses fields the collection does not filter on."""
    wanted: dict[str, frozenset[str]] = {}
    for field, value in (filters or {}).items():
        if field not in filterable:
            allowed = ", ".join(repr(name) for name in filterable) or "none"
            raise VectorInputError(f"cannot filter on {field!r}: the filterable fields are {allowed}")
        values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        try:
            wanted[field] = frozenset(term(one) for one in values)
        except VectorInputError as error:
            raise VectorInputError(f"filter on {field!r}: {error}") from None
    return wanted


def checked_search(top_k: Any, min_score: Any) -> None:
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise VectorInputError(f"top_k {top_k!r} must be an integer from 1 to {MAX_TOP_K}")
    if min_score is not None and (isinstance(min_score, bool) or not isinstance(min_score, (int, float))
                                  or not math.isfinite(min_score)):
        raise VectorInputError(f"min_score {min_score!r} must be a finite number")


def term(value: Any) -> str:
    """A metadata value as the string filters compare: canonical JSON, integral floats as integers."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise VectorInputError(f"filter value {value!r} is not JSON: {error}") from None


def record_terms(value: Any) -> set[str]:
    """The terms under which a stored metadata value is found: its own, or each element's."""
    return {term(one) for one in value} if isinstance(value, list) else {term(value)}


def _json_metadata(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise VectorInputError("metadata must be a mapping with string keys")
    try:
        text = json.dumps(dict(value), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise VectorInputError(f"metadata is not JSON: {error}") from None
    if not utf8_encodable(text):
        raise VectorInputError("metadata holds an unpaired surrogate")
    return json.loads(text)


def _checked_version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise VectorInputError(f"version {value!r} must be a non-negative 64-bit integer")
    return value


# --- One org's vectors in memory ---------------------------------------------------------------


class OrgMatrix:
    """One org's vectors of one collection as of `revision`, searched with numpy.

    Rows are only ever appended: replacing a record appends its new row and marks the old one dead
    in a new `alive` array. A search running in a thread keeps a consistent view of the rows it
    started with while the event loop appends more. Metadata stays JSON text until a hit or a
    filter needs it: parsing every record's at load would double the load time.
    """

    def __init__(self, dim: int, revision: int, capacity: int) -> None:
        import numpy as np

        self.dim = dim
        self.revision = revision
        self.matrix = np.empty((max(capacity, 16), dim), dtype="<f4")  # as stored
        self.size = 0
        self.alive = np.zeros(0, dtype=bool)
        self.ids: list[str] = []
        self.metadata: list[str] = []  # JSON
        self.row_of: dict[str, int] = {}
        self.terms: dict[str, dict[str, list[int]]] = {}  # field -> term -> rows, built on first filter

    @property
    def dead(self) -> int:
        return self.size - len(self.row_of)

    def add(self, rows: Sequence[tuple[str, bytes, str]]) -> None:
        """Append (id, float32 bytes, metadata JSON) rows; an id already held moves to its new row."""
        import numpy as np

        if not rows:
            return
        start, count = self.size, len(rows)
        if start + count > len(self.matrix):
            grown = np.empty((max(start + count, 2 * len(self.matrix)), self.dim), dtype="<f4")
            grown[:start] = self.matrix[:start]
            self.matrix = grown  # a search in flight keeps the old array, whose rows stay valid
        # Each row's bytes straight into the matrix: no joined copy of the whole load on the way.
        target = memoryview(self.matrix[start:start + count]).cast("B")
        width = 4 * self.dim
        for offset, (record_id, vector, _) in enumerate(rows):
            if len(vector) != width:
                raise ValueError(f"stored vector of {record_id!r} has {len(vector)} bytes, expected {width}")
            target[offset * width:(offset + 1) * width] = vector
        alive = np.ones(start + count, dtype=bool)
        alive[:start] = self.alive
        ids = [row[0] for row in rows]
        if self.row_of:  # catching up: an id already held moves to its new row
            for record_id in ids:
                replaced = self.row_of.get(record_id)
                if replaced is not None:
                    alive[replaced] = False
        self.row_of.update(zip(ids, range(start, start + count), strict=True))
        self.ids += ids
        self.metadata += [row[2] for row in rows]
        for field, by_term in self.terms.items():
            for row in range(start, start + count):
                self._index_row(by_term, field, row, self.metadata[row])
        self.alive = alive
        self.size = start + count

    def remove(self, ids: Iterable[str]) -> None:
        alive = self.alive.copy()
        for record_id in ids:
            row = self.row_of.pop(record_id, None)
            if row is not None:
                alive[row] = False
        self.alive = alive

    def view(self, wanted: Mapping[str, frozenset[str]]) -> tuple[np.ndarray, np.ndarray | None]:
        """The rows to score and the mask of those that may be returned (None: all of them)."""
        import numpy as np

        size = self.size
        mask = self.alive if self.dead else None
        for field, terms in wanted.items():
            rows = self._rows_with(field, terms)
            matches = np.zeros(size, dtype=bool)
            matches[rows[rows < size]] = True
            mask = matches if mask is None else mask & matches
        return self.matrix[:size], mask

    def _rows_with(self, field: str, terms: frozenset[str]) -> np.ndarray:
        import numpy as np

        by_term = self.terms.get(field)
        if by_term is None:
            by_term = {}
            for row, record_metadata in enumerate(self.metadata):
                self._index_row(by_term, field, row, record_metadata)
            self.terms[field] = by_term
        rows: list[int] = []
        for one in terms:
            rows.extend(by_term.get(one, ()))
        return np.array(rows, dtype=np.intp)

    @staticmethod
    def _index_row(by_term: dict[str, list[int]], field: str, row: int, record_metadata: str) -> None:
        value = json.loads(record_metadata).get(field, _MISSING)
        if value is not _MISSING:
            for one in record_terms(value):
                by_term.setdefault(one, []).append(row)


_MISSING = object()


def best_rows(matrix: np.ndarray, query: np.ndarray, mask: np.ndarray | None, top_k: int,
              min_score: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Rows that can be among the `top_k` best, with their scores: the top k plus any tied with the k-th.

    Pure numpy, so it may run in a thread (matrix products release the GIL).
    """
    import numpy as np

    scores = matrix @ query
    np.clip(scores, -1.0, 1.0, out=scores)  # rounding can push identical unit vectors past 1
    rows: np.ndarray | None = None
    if mask is not None or min_score is not None:
        keep = np.ones(len(scores), dtype=bool) if mask is None else mask
        if min_score is not None:
            keep = keep & (scores >= min_score)
        rows = np.flatnonzero(keep)
        scores = scores[rows]
    if len(scores) > top_k:
        cut = len(scores) - top_k
        kth = scores[np.argpartition(scores, cut)[cut:]].min()
        chosen = np.flatnonzero(scores >= kth)
    else:
        chosen = np.arange(len(scores))
    return (chosen if rows is None else rows[chosen]), scores[chosen]


# --- The store ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectionState:
    dim: int
    filterable: tuple[str, ...]
    revision: int
    pruned_revision: int


class RelationalVectors:
    """VectorStore over `vector_collections`, `vector_items` and `vector_deletions` in the relational database."""

    backend = "relational"

    def __init__(self, relational: RelationalStore) -> None:
        self.relational = relational
        self._matrices: dict[tuple[str, str], OrgMatrix] = {}
        self._refreshing: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)

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
                taken = sorted(record_id for record_id, org_id in held if org_id != by_id[record_id].org_id)
                if taken:
                    raise VectorInputError(f"ids {taken} already belong to another org in {collection!r}")
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

    async def search(self, collection: str, org_id: str, vector: Sequence[float] | np.ndarray, top_k: int = 10,
                     filters: Filters | None = None, min_score: float | None = None) -> list[VectorHit]:
        checked_search(top_k, min_score)
        checked_key(org_id, "org_id", MAX_ORG_ID_LENGTH)
        state = await self._state(collection)
        query = normalised(vector, state.dim)
        wanted = checked_filters(filters, state.filterable)
        org = await self._current(collection, org_id, state)
        matrix, mask = org.view(wanted)
        if matrix.size > THREAD_ABOVE:
            rows, scores = await asyncio.to_thread(best_rows, matrix, query, mask, top_k, min_score)
        else:
            rows, scores = best_rows(matrix, query, mask, top_k, min_score)
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
        self._matrices.clear()  # the relational store is closed by its owner

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

    async def _rows(self, collection: str, org_id: str, after: int | None = None) -> list[tuple[str, bytes, str]]:
        columns = vector_items.c
        query = sa.select(columns.id, columns.vector, sa.cast(columns.metadata, sa.Text)).where(
            columns.collection == collection, columns.org_id == org_id)
        if after is not None:
            query = query.where(columns.revision > after)
        async with self.relational.read() as conn:
            return [(record_id, vector, record_metadata) for record_id, vector, record_metadata
                    in await conn.execute(query)]


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
