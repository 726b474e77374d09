"""AnnIndex: recall against exact search, filters, deletions, and its file shared between processes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from shared.database.ann import AnnIndex

DIM = 64
ROOT = Path(__file__).resolve().parents[2]

# Run in a child process: load the index at argv[1], search the queries at argv[2], print the hits.
SEARCH_ELSEWHERE = textwrap.dedent("""
    import json, sys
    import numpy as np
    from shared.database.ann import AnnIndex
    index = AnnIndex(int(sys.argv[3]), sys.argv[1])
    assert index.load()
    queries = np.load(sys.argv[2])
    print(json.dumps({"version": index.version, "revision": index.revision,
                      "hits": [[label for label, _ in index.search(query, 10)] for query in queries]}))
""")

# Run in a child process: build an index of argv[2] labels from seed argv[3], save it as revision
# argv[3] at argv[1], argv[4] times over.
SAVE_ELSEWHERE = textwrap.dedent("""
    import sys
    import numpy as np
    from shared.database.ann import AnnIndex
    path, count, revision, rounds, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    vectors = np.random.default_rng(revision).standard_normal((count, dim), dtype=np.float32)
    index = AnnIndex(dim, path)
    index.add(np.arange(count) + 100_000 * revision, vectors)
    for _ in range(rounds):
        index.save(revision)
""")


def clustered(count: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    data = centres[rng.integers(0, 50, count)] + rng.standard_normal((count, DIM), dtype=np.float32) / np.sqrt(DIM)
    return (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float32)


def exact(data: np.ndarray, query: np.ndarray, k: int = 10) -> list[int]:
    scores = data @ (query / np.linalg.norm(query))
    return np.argsort(-scores, kind="stable")[:k].tolist()


def run(code: str, *args: object) -> str:
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return clustered(5_000)


@pytest.fixture(scope="module")
def queries(data: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(11)
    picked = data[rng.choice(len(data), 200, replace=False)]
    return (picked + 0.5 * rng.standard_normal(picked.shape, dtype=np.float32) / np.sqrt(DIM)).astype(np.float32)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory, data: np.ndarray) -> Path:
    """The data indexed once and saved at revision 0; each test loads its own copy."""
    built = AnnIndex(DIM, tmp_path_factory.mktemp("built") / "talents.hnsw")
    built.add(np.arange(len(data)), data)
    built.save(revision=0)
    return built.path


@pytest.fixture
def index(tmp_path: Path, saved: Path) -> AnnIndex:
    for name in (saved.name, saved.name + ".meta"):
        shutil.copyfile(saved.with_name(name), tmp_path / name)
    loaded = AnnIndex(DIM, tmp_path / saved.name)
    assert loaded.load()
    return loaded


def test_recall_at_10_against_exact_search(index: AnnIndex, data: np.ndarray, queries: np.ndarray) -> None:
    found = [{label for label, _ in index.search(query, 10)} for query in queries]

    recall = np.mean([len(hits & set(exact(data, query))) / 10 for hits, query in zip(found, queries, strict=True)])

    assert recall >= 0.98


def test_scores_are_cosine_similarity(index: AnnIndex, data: np.ndarray) -> None:
    label, score = index.search(data[42] * 3.0, 1)[0]

    assert label == 42
    assert score == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("form", ["labels", "predicate"])
def test_filtered_search_returns_only_allowed_labels(index: AnnIndex, queries: np.ndarray, form: str) -> None:
    org_labels = frozenset(range(0, 5_000, 7))
    allowed = org_labels if form == "labels" else (lambda label: label % 7 == 0)

    results = [index.search(query, 10, allowed=allowed) for query in queries[:50]]

    assert all(len(hits) == 10 for hits in results)
    assert {label for hits in results for label, _ in hits} <= org_labels


def test_filter_that_keeps_fewer_than_k_returns_those(index: AnnIndex, queries: np.ndarray) -> None:
    hits = index.search(queries[0], 10, allowed={3, 1_500, 4_999})

    assert sorted(label for label, _ in hits) == [3, 1_500, 4_999]


def test_deleted_labels_never_come_back(index: AnnIndex, data: np.ndarray, queries: np.ndarray) -> None:
    gone = {label for query in queries[:50] for label in exact(data, query, 5)}  # each query's best

    assert index.remove(gone) == len(gone)
    assert index.remove(gone) == 0  # already deleted
    found = {label for query in queries for label, _ in index.search(query, 10)}
    found |= {label for label in gone for label, _ in index.search(data[label], 10, allowed=lambda one: one in gone)}

    assert found.isdisjoint(gone)
    assert len(index) == len(data) - len(gone)


def test_a_deleted_label_added_again_is_found_with_its_new_vector(index: AnnIndex, data: np.ndarray) -> None:
    index.remove([10])
    index.add([10], data[20:21])

    scores = dict(index.search(data[20], 2))

    assert set(scores) == {10, 20}
    assert scores[10] == pytest.approx(1.0, abs=1e-5)


def test_index_grows_past_its_first_capacity(tmp_path: Path, data: np.ndarray) -> None:
    index = AnnIndex(DIM, tmp_path / "grows.hnsw")
    for start in range(0, 3_000, 500):
        index.add(np.arange(start, start + 500), data[start:start + 500])

    assert len(index) == 3_000
    assert index.search(data[2_999], 1)[0][0] == 2_999


def test_refuses_vectors_it_cannot_score(index: AnnIndex) -> None:
    with pytest.raises(ValueError, match="expected 64"):
        index.search(np.ones(DIM + 1), 10)
    with pytest.raises(ValueError, match=r"expected \(n, 64\)"):
        index.add([1], np.ones((1, 3)))
    with pytest.raises(ValueError, match="label 7 is all zeros"):
        index.add([6, 7], np.vstack([np.ones(DIM), np.zeros(DIM)]))
    with pytest.raises(ValueError, match="all zeros"):
        index.search(np.zeros(DIM), 10)


def test_another_process_loads_the_saved_index_and_finds_the_same(index: AnnIndex, data: np.ndarray,
                                                                   queries: np.ndarray, tmp_path: Path) -> None:
    index.remove(range(100))
    assert index.save(revision=12)
    np.save(tmp_path / "queries.npy", queries[:50])

    seen = json.loads(run(SEARCH_ELSEWHERE, index.path, tmp_path / "queries.npy", DIM))

    assert seen["version"] == index.version == 2 and seen["revision"] == 12
    assert seen["hits"] == [[label for label, _ in index.search(query, 10)] for query in queries[:50]]
    assert all(label >= 100 for hits in seen["hits"] for label in hits)


def test_a_reader_reloads_when_another_process_saved_a_newer_index(index: AnnIndex, tmp_path: Path) -> None:
    index.save(revision=1)
    reader = AnnIndex(DIM, index.path)
    assert reader.load() and not reader.stale()

    run(SAVE_ELSEWHERE, index.path, 50, 2, 1, DIM)  # labels 200,000 to 200,049 at revision 2

    assert reader.stale()
    assert reader.refresh()
    assert (reader.version, reader.revision, len(reader)) == (3, 2, 50)
    assert not reader.refresh()


def test_a_save_never_replaces_a_later_revision(index: AnnIndex, tmp_path: Path) -> None:
    assert index.save(revision=5)
    older = AnnIndex(DIM, index.path)
    older.add([1], np.ones((1, DIM)))

    assert not older.save(revision=4)
    meta = older.read_meta()
    assert meta is not None and (meta.version, meta.revision, meta.count) == (2, 5, 5_000)


def test_keys_saved_with_the_index_come_back_with_it(index: AnnIndex) -> None:
    keys = [[f"talent-{label}", label % 7] for label in range(5_000)]
    index.remove([3])

    assert index.save(revision=4, keys=keys)
    loaded = AnnIndex(DIM, index.path)
    assert loaded.load()

    assert loaded.keys == keys  # deleted labels keep their key: labels are never renumbered
    assert loaded.deleted_labels() == frozenset({3}) and loaded.capacity == 5_000
    with pytest.raises(ValueError, match="4999 keys for 5000 labels"):
        index.save(revision=5, keys=keys[:-1])


def test_a_save_without_keys_leaves_no_keys_behind(index: AnnIndex) -> None:
    index.save(revision=1, keys=list(range(5_000)))
    index.save(revision=2)

    loaded = AnnIndex(DIM, index.path)
    assert loaded.load()
    assert loaded.keys is None
    assert not index.path.with_name(index.path.name + ".keys").exists()


def test_keys_that_do_not_match_the_index_are_refused(index: AnnIndex) -> None:
    index.save(revision=1, keys=list(range(5_000)))
    index.path.with_name(index.path.name + ".keys").write_text(json.dumps(list(range(10))), encoding="utf-8")

    with pytest.raises(ValueError, match="10 keys"):
        AnnIndex(DIM, index.path).load()


def test_concurrent_saves_from_two_processes_leave_a_loadable_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.hnsw"
    command = [sys.executable, "-c", SAVE_ELSEWHERE, str(path)]
    writers = [subprocess.Popen([*command, "2000", str(revision), "15", str(DIM)], cwd=ROOT, stderr=subprocess.PIPE)
               for revision in (1, 2)]
    for writer in writers:
        assert writer.wait(timeout=60) == 0, writer.stderr.read() if writer.stderr else ""

    loaded = AnnIndex(DIM, path)
    assert loaded.load()
    assert loaded.revision == 2  # the later revision wins, whichever process saved last
    assert len(loaded) == 2_000
    assert all(200_000 <= label < 202_000 for label, _ in loaded.search(np.ones(DIM), 10))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.hnsw", "shared.hnsw.lock", "shared.hnsw.meta"]
