"""The embedded vector store: vectors in a relational table, searched in memory, exactly or through HNSW.

Each process keeps, per (collection, org), the org's vectors as one float32 matrix. A search reads
the collection's `revision` (one primary-key row, bumped in the same transaction as every upsert
and delete) and uses the matrix only if it is current, so writes made by any process that shares
the database are seen by the next search. A matrix that is behind catches up with what was
written after its revision: the deletions (tombstones in `vector_deletions`) and then the rows
(`vector_items.revision`). It is reloaded instead when tombstones it needs have been pruned, or
when replaced and deleted rows outnumber the live ones.

Search is exact (numpy scores every live row) while the org holds fewer than `ann_threshold` live
vectors in the collection, 20,000 by default, and goes through an HNSW index (`ann.AnnIndex`)
from there on. Why 20,000 (docs/benchmarks.md, 2026-11-25, 384 dimensions, the 2-core machine
with another process on one core): on one BLAS thread exact search held the targets (top-10 p99
<= 10 ms, >= 300 QPS) at 10k, was at their edge at 20k (p99 6.7 ms, 255 QPS) and far past them
at 50k (111 QPS); through the index, 100k held them in every run (p99 under 8 ms, 400-680 QPS,
recall@10 0.997). An index at 20k costs about 9 s of one core to build and 35 MB. The index is
built in a worker thread when a search first finds the org past the threshold, and exact search
answers until it is ready; it is dropped below half the threshold, so an org near it does not
flap.

The index follows the matrix, never the database directly (`OrgIndex`): labels are numbered in
the order rows are added and never reused; a replaced or deleted record's label is marked
deleted and its new row gets a new label; when deleted labels outnumber live ones it is rebuilt.
With `index_dir` (the services pass `<data_dir>/vector-index`) each index is saved there as
`<collection>/<sha256 of the org>.hnsw`, with each label's key (the record id and the revision it
was written at) beside it: a process that starts, or reaches the threshold, loads the file rather
than building, then catches up as the matrix does, only record by record: labels whose record is
gone or was written again since are deleted, rows the file lacks are added. This holds whichever
process saved last, so processes sharing the database and the directory stay correct. A catch-up
of a few rows runs on the event loop at the next search; longer ones, builds and saves run in a
thread while exact search answers. Without `index_dir` indexes live in memory only.

A filter that keeps under a tenth of the org's rows, or under 4,096 of them, is answered exactly
over those rows, which is exact and cheaper than walking the graph for the few that pass; a
wider one uses the index's filtered search. Either way the candidates' scores are computed as
exact search computes them, then `min_score` and ties by id apply the same way, and the graph is
searched with ef raised to at least `top_k`.

The rules every VectorStore applies the same way (names, records, filters, search arguments) are
here too, as public functions, and `vectors_weaviate` uses them.

Filters: `{field: value}` keeps records whose metadata value equals it, `{field: [values]}` those
whose value is one of them; when the stored value is a list, any of its elements counts. Values
compare as JSON, with 5 and 5.0 equal but 1 and true not. Only the collection's filterable fields
may be named.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import os
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.database.ann import AnnIndex
from shared.database.relational import RelationalStore
from shared.database.vectors import (
    CollectionSpec,
    Filters,
    VectorHit,
    VectorIdTaken,
    VectorInputError,
    VectorRecord,
    normalised,
)
from shared.utils.text import utf8_encodable

if TYPE_CHECKING:
    import numpy as np  # imported where used: every service opens this store, few of them search

__all__ = [
    "ANN_THRESHOLD",
    "COLLECTION_NAME",
    "FIELD_NAME",
    "MAX_DIM",
    "MAX_ID_LENGTH",
    "MAX_ORG_ID_LENGTH",
    "MAX_TOP_K",
    "CheckedRecord",
    "IndexCounts",
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

# Live vectors of one org in one collection from which search goes through an HNSW index; see the
# module docstring for why 20,000.
ANN_THRESHOLD = 20_000
EXACT_FILTER_SHARE = 0.10  # a filter keeping fewer of the org's rows than this share ...
EXACT_FILTER_ROWS = 4_096  # ... or than this many is answered exactly over those rows
INLINE_SYNC_ROWS = 16  # rows an index adds on the event loop at a search; more go to a thread
INDEX_CHUNK = 4_096  # rows per AnnIndex.add in a job: how soon a closing store stops a build
SAVE_AFTER_CHANGES = 1_000  # labels added or deleted (and at least a tenth of the index) before a save
INDEX_RETRY_SECONDS = 60.0  # after a failed index job, exact search only for this long
UNSAVED_INDEX = Path("in-memory.hnsw")  # the path of an index that is never saved or loaded

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
    started with while the event loop appends more (`MatrixView`). Metadata stays JSON text until a
    hit or a filter needs it: parsing every record's at load would double the load time. Each row
    keeps the revision it was written at, which is how an ANN index loaded from a file tells which
    of its labels still hold the current version of their record.
    """

    def __init__(self, dim: int, revision: int, capacity: int) -> None:
        import numpy as np

        self.dim = dim
        self.revision = revision
        self.matrix = np.empty((max(capacity, 16), dim), dtype="<f4")  # as stored
        self.revisions = np.empty(len(self.matrix), dtype=np.int64)  # the revision each row was written at
        self.size = 0
        self.alive = np.zeros(0, dtype=bool)
        self.ids: list[str] = []
        self.metadata: list[str] = []  # JSON
        self.row_of: dict[str, int] = {}
        self.terms: dict[str, dict[str, list[int]]] = {}  # field -> term -> rows, built on first filter

    @property
    def dead(self) -> int:
        return self.size - len(self.row_of)

    def add(self, rows: Sequence[tuple[str, bytes, str, int]]) -> None:
        """Append (id, float32 bytes, metadata JSON, revision) rows; an id already held moves to its new row."""
        import numpy as np

        if not rows:
            return
        start, count = self.size, len(rows)
        if start + count > len(self.matrix):
            capacity = max(start + count, 2 * len(self.matrix))
            grown = np.empty((capacity, self.dim), dtype="<f4")
            grown[:start] = self.matrix[:start]
            revisions = np.empty(capacity, dtype=np.int64)
            revisions[:start] = self.revisions[:start]
            # A search or an index job in flight keeps the old arrays, whose rows stay valid.
            self.matrix, self.revisions = grown, revisions
        self.revisions[start:start + count] = [row[3] for row in rows]
        # Each row's bytes straight into the matrix: no joined copy of the whole load on the way.
        target = memoryview(self.matrix[start:start + count]).cast("B")
        width = 4 * self.dim
        for offset, (record_id, vector, _, _) in enumerate(rows):
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
        rows = [row for row in (self.row_of.pop(record_id, None) for record_id in ids) if row is not None]
        if rows:  # a new array only when something goes: an index in step with `alive` stays in step
            alive = self.alive.copy()
            alive[rows] = False
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

    Pure numpy, so it may run in a thread (matrix products release the GIL). A mask that keeps
    under a quarter of the rows is applied before scoring: gathering those rows costs less than
    scoring them all.
    """
    import numpy as np

    if mask is not None:
        kept = np.flatnonzero(mask)
        if 4 * len(kept) < len(mask):
            chosen, scores = best_rows(matrix[kept], query, None, top_k, min_score)
            return kept[chosen], scores
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


# --- One org's ANN index ----------------------------------------------------------------------


@dataclass(frozen=True)
class MatrixView:
    """What a worker thread may read of an OrgMatrix while the event loop appends to it: the rows below `size`.

    Safe because the matrix's arrays are only ever replaced, never shrunk, and rows below `size`
    are never written again; `alive` is a new array after every change.
    """

    org: OrgMatrix
    size: int
    alive: np.ndarray
    matrix: np.ndarray
    revisions: np.ndarray
    revision: int

    @classmethod
    def of(cls, org: OrgMatrix) -> MatrixView:
        return cls(org, org.size, org.alive, org.matrix, org.revisions, org.revision)


class IndexJobStopped(Exception):
    """An index job noticed that its store is closing and gave up between two chunks."""


class OrgIndex:
    """An AnnIndex over one org's rows of one collection, kept in step with the org's OrgMatrix.

    Labels are numbered from 0 in the order rows are added and never reused, so they stay stable
    for the life of the index: a record replaced or deleted has its label marked deleted, and its
    new row gets a new label. `keys[label]` is the (record id, revision written at) the label
    holds, saved with the index; `rows[label]` is the row of `source` (the matrix last synced with)
    it mirrors, -1 once deleted. In step with the same matrix, a sync compares arrays: labels whose
    row died are deleted, rows appended since are added. Against another matrix (the org's matrix
    was reloaded, or the index was loaded from a file) it matches keys record by record instead.
    """

    def __init__(self, ann: AnnIndex) -> None:
        import numpy as np

        self.ann = ann
        self.keys: list[tuple[str, int]] = []
        self.rows = np.empty(0, dtype=np.int64)
        self.source: OrgMatrix | None = None
        self.seen_alive: np.ndarray | None = None  # source.alive when last synced: the same array, nothing changed
        self.synced_size = 0
        self.revision = 0  # the matrix revision last synced with: what a save says the file reflects
        self.unsaved = 0  # labels added or deleted since the last save

    @classmethod
    def opened(cls, dim: int, path: Path | None, view: MatrixView, *, threads: int = 1,
               stop: threading.Event | None = None) -> tuple[OrgIndex, bool]:
        """The saved index at `path` caught up with `view`, or one built from `view`; and whether it was loaded."""
        if path is not None:
            ann = AnnIndex(dim, path)
            try:
                if ann.load() and ann.keys is not None:
                    index = cls(ann)
                    index.keys = [(str(record_id), int(revision)) for record_id, revision in ann.keys]
                    index.rows = _no_rows(len(index.keys))
                    index.sync(view, threads=threads, stop=stop)
                    if not index.bloated:
                        return index, True
            except (OSError, RuntimeError, ValueError, TypeError, KeyError) as error:  # unreadable or foreign: build
                logger.warning("vector index %s cannot be used (%s); building it again", path, error)
        return cls.built(dim, path, view, threads=threads, stop=stop), False

    @classmethod
    def built(cls, dim: int, path: Path | None, view: MatrixView, *, threads: int = 1,
              stop: threading.Event | None = None) -> OrgIndex:
        index = cls(AnnIndex(dim, path or UNSAVED_INDEX))
        index.sync(view, threads=threads, stop=stop)
        return index

    def __len__(self) -> int:
        return len(self.ann)

    @property
    def bloated(self) -> bool:
        """Deleted labels outnumber live ones: the graph is mostly dead weight, rebuild it."""
        return self.ann.deleted > len(self.ann)

    def current(self, org: OrgMatrix) -> bool:
        return self.source is org and self.seen_alive is org.alive

    def backlog(self, org: OrgMatrix) -> int | None:
        """Rows a sync with `org` would add at most; None when it must match every key (another matrix)."""
        return org.size - self.synced_size if self.source is org else None

    def sync(self, view: MatrixView, *, threads: int = 1, stop: threading.Event | None = None) -> None:
        if view.org is self.source:
            self._advance(view, threads, stop)
        else:
            self._rematch(view, threads, stop)
        self.source, self.seen_alive = view.org, view.alive
        self.synced_size, self.revision = view.size, view.revision

    def save(self) -> bool:
        saved = self.ann.save(self.revision, keys=self.keys)
        self.unsaved = 0  # refused only when the file already reflects a later revision: nothing to add
        return saved

    def _advance(self, view: MatrixView, threads: int, stop: threading.Event | None) -> None:
        import numpy as np

        live = np.flatnonzero(self.rows >= 0)
        gone = live[~view.alive[self.rows[live]]]
        if len(gone):
            self.ann.remove(gone.tolist())
            self.rows[gone] = -1
            self.unsaved += len(gone)
        appended = np.flatnonzero(view.alive[self.synced_size:view.size]) + self.synced_size
        self._add(view, appended, threads, stop)

    def _rematch(self, view: MatrixView, threads: int, stop: threading.Event | None) -> None:
        """Keep the labels whose record the view holds at the same revision; delete the rest, add what is missing."""
        import numpy as np

        deleted = self.ann.deleted_labels()
        covered = np.zeros(view.size, dtype=bool)
        rows = _no_rows(len(self.keys))
        row_of, alive, revisions = view.org.row_of, view.alive, view.revisions
        gone: list[int] = []
        for label, (record_id, revision) in enumerate(self.keys):
            if label in deleted:
                continue
            row = row_of.get(record_id)
            # A row at or past `size` was written after the view was taken: the next sync adds it.
            if row is not None and row < view.size and alive[row] and revisions[row] == revision and not covered[row]:
                rows[label] = row
                covered[row] = True
            else:
                gone.append(label)
        self.ann.remove(gone)
        self.rows = rows
        self.unsaved += len(gone)
        self._add(view, np.flatnonzero(alive[:view.size] & ~covered), threads, stop)

    def _add(self, view: MatrixView, rows: np.ndarray, threads: int, stop: threading.Event | None) -> None:
        import numpy as np

        ids = view.org.ids
        for start in range(0, len(rows), INDEX_CHUNK):
            if stop is not None and stop.is_set():
                raise IndexJobStopped
            chunk = rows[start:start + INDEX_CHUNK]
            first = len(self.keys)
            self.ann.add(np.arange(first, first + len(chunk)), view.matrix[chunk], threads=threads)
            self.keys += zip([ids[row] for row in chunk.tolist()], view.revisions[chunk].tolist(), strict=True)
            self.rows = np.concatenate([self.rows, chunk.astype(np.int64)])
            self.unsaved += len(chunk)

    def search(self, org: OrgMatrix, query: np.ndarray, top_k: int, mask: np.ndarray | None,
               min_score: float | None) -> tuple[np.ndarray, np.ndarray]:
        """Rows of `org` (which the index is current with) among the best `top_k`, with exact scores.

        The graph walk proposes candidates; their scores are computed again from the matrix, as
        exact search computes them, so `min_score` and ties compare the same numbers on both paths.
        When the last candidate ties with the k-th, more are fetched so that ties are broken by id.

        A filter is applied inside the walk, once per candidate. (Walking unfiltered for more
        candidates and keeping those that pass was measured too: at 20 % it needs ef about 600 to
        find as many of the true ten, which costs nearly as much as the filtered walk.)
        """
        import numpy as np

        allowed = None
        if mask is not None:
            by_label = np.zeros(len(self.rows), dtype=bool)
            mapped = self.rows >= 0
            by_label[mapped] = mask[self.rows[mapped]]
            allowed = by_label.tolist().__getitem__  # called once per candidate: a C method, not a lambda
        fetch = min(top_k + 1, MAX_TOP_K)
        while True:
            rows, scores, exhausted = self._candidates(org, query, fetch, allowed)
            if exhausted or fetch >= MAX_TOP_K or len(scores) <= top_k or scores.min() < _kth_best(scores, top_k):
                return _at_least(rows, scores, min_score)  # no tie with the k-th was cut off
            fetch = min(2 * fetch, MAX_TOP_K)

    def _candidates(self, org: OrgMatrix, query: np.ndarray, fetch: int,
                    allowed: Callable[[int], bool] | None) -> tuple[np.ndarray, np.ndarray, bool]:
        """Up to `fetch` rows from the graph with their exact scores, and whether the graph had no more."""
        import numpy as np

        found = self.ann.search(query, fetch, allowed)
        rows = self.rows[np.array([label for label, _ in found], dtype=np.int64)]
        rows = rows[rows >= 0]  # every label found is mapped while in step; never score a stray one
        scores = org.matrix[rows] @ query
        np.clip(scores, -1.0, 1.0, out=scores)
        return rows, scores, len(found) < fetch


def _kth_best(scores: np.ndarray, k: int) -> float:
    import numpy as np

    return float(np.partition(scores, len(scores) - k)[len(scores) - k])


def _at_least(rows: np.ndarray, scores: np.ndarray, min_score: float | None) -> tuple[np.ndarray, np.ndarray]:
    if min_score is None:
        return rows, scores
    keep = scores >= min_score
    return rows[keep], scores[keep]


def _no_rows(count: int) -> np.ndarray:
    import numpy as np

    return np.full(count, -1, dtype=np.int64)


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


# --- The store ---------------------------------------------------------------------------------


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
