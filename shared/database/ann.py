"""An approximate nearest-neighbour index (HNSW, hnswlib) over integer labels, kept in a file.

For orgs past the size where exact numpy search stays fast: `RelationalVectors` keeps one per
(collection, org) from 20,000 vectors (docs/benchmarks.md). Labels are the caller's integers;
deciding what the index should hold stays with the caller. The caller may save a key for each
label with the index (`keys`, `keys[label]` naming what the label stands for, any JSON values),
so that another process that loads the file knows which record each label is. Scores are cosine
similarity, 1.0 is identical; vectors need not arrive normalised.

Files, beside `path`: the index itself, `<path>.meta` (JSON: a `version` that every save
increments, the data `revision` the index reflects, the deleted labels), `<path>.keys` when keys
were saved, and `<path>.lock`. A save holds an exclusive `flock` on the lock file and writes each
file to a temporary name then `os.replace`s it, so a reader never sees half a file; a load holds a
shared one, so it never pairs an index with another save's meta or keys. `stale()` reads only the
meta, without the lock, for a cheap check whether another process saved a newer index.

A save never replaces a file that reflects a later revision than this index does: two processes
saving at once leave the newer of the two. One process's index is guarded by a thread lock:
hnswlib cannot search while it grows.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import hnswlib
    import numpy as np

__all__ = ["Allowed", "AnnIndex", "AnnMeta"]

# A label filter: a predicate, or the labels that may be returned.
Allowed = Callable[[int], bool] | Collection[int]

CONNECTIVITY = 16  # HNSW M: 16 with ef_search 128 gave recall@10 0.997 on 100k x 384
EF_CONSTRUCTION = 200
EF_SEARCH = 128
INITIAL_CAPACITY = 1_024


@dataclass(frozen=True)
class AnnMeta:
    version: int  # incremented by every save of this file, by any process
    revision: int  # the caller's data revision the saved index reflects
    dim: int
    count: int  # labels held, deleted ones included: a check that meta and index belong together
    deleted: tuple[int, ...]
    keyed: bool = False  # whether `<path>.keys` was saved with this index


class AnnIndex:
    """HNSW over cosine similarity: add, remove, search (optionally filtered), save, load."""

    def __init__(self, dim: int, path: str | os.PathLike[str], *, connectivity: int = CONNECTIVITY,
                 ef_construction: int = EF_CONSTRUCTION, ef_search: int = EF_SEARCH) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim {dim!r} must be a positive integer")
        self.dim = dim
        self.path = Path(path)
        self.connectivity = connectivity
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.version = 0  # of the file this index was loaded from or saved to; 0: neither
        self.revision = 0
        self.keys: list[Any] | None = None  # as loaded: keys[label], or None when saved without keys
        self._deleted: set[int] = set()
        self._lock = threading.Lock()
        self._index = self._empty(INITIAL_CAPACITY)

    def __len__(self) -> int:
        """Labels that a search can return."""
        return self._index.element_count - len(self._deleted)

    @property
    def deleted(self) -> int:
        """Deleted labels still taking room in the graph: rebuild when they outnumber the live ones."""
        return len(self._deleted)

    @property
    def capacity(self) -> int:
        """Labels ever added, deleted ones included: the next label a caller numbering from 0 would use."""
        return self._index.element_count

    def deleted_labels(self) -> frozenset[int]:
        return frozenset(self._deleted)

    def add(self, labels: Sequence[int] | np.ndarray, vectors: Sequence[Sequence[float]] | np.ndarray, *,
            threads: int = 1) -> None:
        """Insert or replace vectors by label; a deleted label added again comes back with the new vector.

        `threads` above 1 speeds up a bulk build (a rebuild in a worker), at the cost of the other work.
        """
        import numpy as np

        keys = np.asarray(labels, dtype=np.int64).reshape(-1)
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != self.dim:
            raise ValueError(f"vectors have shape {matrix.shape}, expected (n, {self.dim})")
        if len(keys) != len(matrix):
            raise ValueError(f"{len(keys)} labels for {len(matrix)} vectors")
        if len(keys) and keys.min() < 0:
            raise ValueError(f"label {int(keys.min())} is negative; labels are non-negative integers")
        if not np.isfinite(matrix).all():
            raise ValueError("vectors contain NaN or infinity")
        if len(matrix) and not np.linalg.norm(matrix, axis=1).all():
            raise ValueError(f"the vector of label {int(keys[np.linalg.norm(matrix, axis=1) == 0][0])} is all zeros")
        if len(keys) != len(set(keys.tolist())):
            raise ValueError("a label appears twice in one add")
        if not len(keys):
            return
        with self._lock:
            needed = self._index.element_count + len(keys)
            if needed > self._index.get_max_elements():
                self._index.resize_index(max(needed, 2 * self._index.get_max_elements()))
            self._index.add_items(matrix, keys.astype(np.uint64), num_threads=threads)
            self._deleted.difference_update(keys.tolist())

    def remove(self, labels: Iterable[int]) -> int:
        """Mark labels deleted so that no search returns them; unknown or already deleted ones are skipped."""
        removed = 0
        with self._lock:
            for label in map(int, labels):
                if label in self._deleted:
                    continue
                try:
                    self._index.mark_deleted(label)
                except RuntimeError:  # "Label not found"
                    continue
                self._deleted.add(label)
                removed += 1
        return removed

    mark_deleted = remove

    def search(self, vector: Sequence[float] | np.ndarray, k: int = 10,
               allowed: Allowed | None = None) -> list[tuple[int, float]]:
        """Up to `k` (label, cosine similarity) pairs, best first, among the labels `allowed` lets through.

        The filter is applied inside the graph walk, so a filter that keeps few labels still finds
        them; it is called once per candidate, with the GIL held.
        """
        import numpy as np

        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.dim:
            raise ValueError(f"vector has dimension {query.shape[0]}, expected {self.dim}")
        if not np.isfinite(query).all() or not query.any():
            raise ValueError("vector is all zeros or contains NaN or infinity")
        if k < 1:
            raise ValueError(f"k {k!r} must be at least 1")
        keep = None if allowed is None else (allowed if callable(allowed) else allowed.__contains__)
        with self._lock:
            wanted = min(k, len(self))
            if wanted == 0:
                return []
            self._index.set_ef(max(self.ef_search, wanted))
            while wanted:
                try:
                    labels, distances = self._index.knn_query(query, k=wanted, num_threads=1, filter=keep)
                except RuntimeError:  # fewer than `wanted` labels pass the filter
                    wanted = self._count_allowed(keep, wanted - 1)
                    continue
                return [(int(label), 1.0 - float(distance)) for label, distance in zip(labels[0], distances[0],
                                                                                      strict=True)]
            return []

    def save(self, revision: int, keys: Sequence[Any] | None = None) -> bool:
        """Write the index as reflecting data `revision`; False if the file already reflects a later one.

        `keys`, one JSON value per label ever added (`keys[label]`), are written beside the index
        under the same lock, so a reader always gets the keys that belong to the index it loads.
        """
        with self._locked(fcntl.LOCK_EX):
            on_disk = self.read_meta()
            if on_disk is not None and on_disk.revision > revision:
                return False
            version = (on_disk.version if on_disk else 0) + 1
            keys_path = _sidecar(self.path, ".keys")
            with self._lock:
                if keys is not None and len(keys) != self._index.element_count:
                    raise ValueError(f"{len(keys)} keys for {self._index.element_count} labels")
                _replace(self.path, lambda temporary: self._index.save_index(str(temporary)))
                meta = AnnMeta(version, revision, self.dim, self._index.element_count, tuple(sorted(self._deleted)),
                               keys is not None)
            if keys is not None:
                text = json.dumps(list(keys), ensure_ascii=False, separators=(",", ":"))
                _replace(keys_path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
            else:
                keys_path.unlink(missing_ok=True)  # an earlier save's keys would not name these labels
            _replace(_sidecar(self.path, ".meta"),
                     lambda temporary: temporary.write_text(json.dumps(meta.__dict__), encoding="utf-8"))
            self.version, self.revision = version, revision
            return True

    def load(self) -> bool:
        """Replace this index with the saved one; False (and no change) when nothing is saved yet."""
        import hnswlib

        with self._locked(fcntl.LOCK_SH):
            meta = self.read_meta()
            if meta is None or not self.path.exists():
                return False
            if meta.dim != self.dim:
                raise ValueError(f"{self.path} holds dimension {meta.dim}, expected {self.dim}")
            index = hnswlib.Index(space="cosine", dim=self.dim)
            index.load_index(str(self.path), max_elements=max(INITIAL_CAPACITY, meta.count))
            keys = (json.loads(_sidecar(self.path, ".keys").read_text(encoding="utf-8")) if meta.keyed
                    else None)
        if index.element_count != meta.count:
            raise ValueError(f"{self.path} holds {index.element_count} labels but its meta says {meta.count}")
        if keys is not None and len(keys) != meta.count:
            raise ValueError(f"{self.path} holds {meta.count} labels but {len(keys)} keys")
        index.set_num_threads(1)
        with self._lock:
            self._index = index
            self._deleted = set(meta.deleted)
            self.version, self.revision = meta.version, meta.revision
            self.keys = keys
        return True

    def stale(self) -> bool:
        """Whether another process has saved a newer index than the one held."""
        meta = self.read_meta()
        return meta is not None and meta.version > self.version

    def refresh(self) -> bool:
        """Load the saved index if it is newer than the one held; True if it was loaded."""
        return self.stale() and self.load()

    def read_meta(self) -> AnnMeta | None:
        try:
            fields = json.loads(_sidecar(self.path, ".meta").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return AnnMeta(fields["version"], fields["revision"], fields["dim"], fields["count"],
                       tuple(fields["deleted"]), bool(fields.get("keyed", False)))

    def _empty(self, capacity: int) -> hnswlib.Index:
        import hnswlib

        index = hnswlib.Index(space="cosine", dim=self.dim)
        index.init_index(max_elements=capacity, M=self.connectivity, ef_construction=self.ef_construction)
        index.set_num_threads(1)  # searches are one query each; a service's threads are its own
        return index

    def _count_allowed(self, keep: Callable[[int], bool] | None, at_most: int) -> int:
        """Live labels that pass the filter, counted up to `at_most`."""
        found = 0
        for label in self._index.get_ids_list():
            if found >= at_most:
                break
            if label not in self._deleted and (keep is None or keep(label)):
                found += 1
        return found

    @contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(_sidecar(self.path, ".lock"), "a+b") as lock:
            fcntl.flock(lock, mode)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    """Write through `write` to a temporary file beside `path`, flush it to disk, then swap it in."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        write(temporary)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
