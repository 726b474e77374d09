"""OrgIndex: labels stay stable while it follows an OrgMatrix, and a saved index is matched record by record."""

from __future__ import annotations

import numpy as np

from shared.database.vector_index import OrgIndex
from shared.database.vector_matrix import MatrixView, OrgMatrix

DIM = 8


def unit(rng: np.random.Generator, count: int) -> np.ndarray:
    data = rng.standard_normal((count, DIM)).astype(np.float32)
    return data / np.linalg.norm(data, axis=1, keepdims=True)


def rows(ids: list[str], vectors: np.ndarray, revision: int) -> list[tuple[str, bytes, str, int]]:
    return [(record_id, vector.astype("<f4").tobytes(), "{}", revision)
            for record_id, vector in zip(ids, vectors, strict=True)]


def matrix(ids: list[str], vectors: np.ndarray, revision: int = 1) -> OrgMatrix:
    org = OrgMatrix(DIM, revision, capacity=len(ids))
    org.add(rows(ids, vectors, revision))
    return org


def nearest(index: OrgIndex, org: OrgMatrix, vector: np.ndarray) -> str:
    found, _ = index.search(org, vector, 1, None, None)
    return org.ids[int(found[0])]


IDS = [f"r{i}" for i in range(300)]
VECTORS = unit(np.random.default_rng(3), 300)


def test_a_replaced_or_deleted_record_leaves_its_label_and_new_rows_get_new_ones() -> None:
    org = matrix(IDS, VECTORS)
    index = OrgIndex.built(DIM, None, MatrixView.of(org))
    assert len(index) == 300 and index.keys[5] == ("r5", 1)

    moved = unit(np.random.default_rng(4), 1)
    org.add(rows(["r5"], moved, revision=2))
    org.remove(["r7"])
    org.revision = 2
    assert not index.current(org) and index.backlog(org) == 1
    index.sync(MatrixView.of(org))

    assert index.current(org)
    assert index.keys[300] == ("r5", 2) and index.ann.deleted_labels() == frozenset({5, 7})
    assert len(index) == 299 and index.ann.capacity == 301
    assert nearest(index, org, moved[0]) == "r5"
    assert nearest(index, org, VECTORS[7]) != "r7"


def test_an_index_matched_to_another_matrix_keeps_the_labels_whose_record_is_unchanged() -> None:
    org = matrix(IDS, VECTORS)
    index = OrgIndex.built(DIM, None, MatrixView.of(org))

    # Another matrix of the same records, in another order, with r9 written again at revision 3
    # and r11 deleted: as a restarted process would load it.
    order = list(reversed(range(300)))
    reloaded = matrix([IDS[i] for i in order if i != 11], VECTORS[[i for i in order if i != 11]], revision=1)
    rewritten = unit(np.random.default_rng(5), 1)
    reloaded.add(rows(["r9"], rewritten, revision=3))
    reloaded.revision = 3
    assert index.backlog(reloaded) is None  # another matrix: every key is checked
    index.sync(MatrixView.of(reloaded))

    assert index.ann.deleted_labels() == frozenset({9, 11})  # every other label kept
    assert index.ann.capacity == 301 and index.keys[300] == ("r9", 3)
    assert nearest(index, reloaded, rewritten[0]) == "r9"
    assert nearest(index, reloaded, VECTORS[42]) == "r42"
