"""One org's vectors of one collection in memory, and exact search over them.

The embedded store (`vectors_relational`) keeps, per (collection, org), the org's vectors as one
float32 matrix (`OrgMatrix`) labelled with the collection revision it reflects; the store decides
when it is current, caught up or reloaded. Exact search (`best_rows`) is pure numpy, so a large
one may run in a worker thread while the event loop appends rows: `MatrixView` is what such a
thread may read. An HNSW index (`vector_index`) follows the same matrix.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.database.vector_rules import record_terms

if TYPE_CHECKING:
    import numpy as np  # imported where used: every service opens the vector store, few of them search

__all__ = ["MatrixView", "OrgMatrix", "best_rows"]


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
