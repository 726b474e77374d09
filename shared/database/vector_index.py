"""One org's HNSW index (`ann.AnnIndex`) over one collection, kept in step with the org's in-memory matrix.

`OrgIndex` follows the org's matrix (`vector_matrix.OrgMatrix`), never the database directly:
labels are numbered in the order rows are added and never reused; a replaced or deleted record's
label is marked deleted and its new row gets a new label; when deleted labels outnumber live ones
it is rebuilt. A saved index keeps each label's key (the record id and the
revision it was written at) beside it, so an index loaded from a file catches up as the matrix
does, only record by record: labels whose record is gone or was written again since are deleted,
rows the file lacks are added. This holds whichever process saved last, so processes sharing the
database and the index directory stay correct.

The graph walk only proposes candidates: their scores are computed again from the matrix, as
exact search computes them, so both paths rank the same numbers. When an org gets an index, and
when it is loaded, caught up, rebuilt or saved, is the store's to decide (`vectors_relational`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from shared.database.ann import AnnIndex
from shared.database.vector_matrix import MatrixView, OrgMatrix
from shared.database.vector_rules import MAX_TOP_K

if TYPE_CHECKING:
    import numpy as np  # imported where used: every service opens the vector store, few of them search

__all__ = ["IndexJobStopped", "OrgIndex"]

INDEX_CHUNK = 4_096  # rows per AnnIndex.add in a job: how soon a closing store stops a build
UNSAVED_INDEX = Path("in-memory.hnsw")  # the path of an index that is never saved or loaded

logger = logging.getLogger(__name__)


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
