"""The embedded vector store past its ANN threshold: HNSW search that agrees with exact search.

Run on SQLite and PostgreSQL with a threshold of 200 vectors, so that a few thousand small
vectors exercise what 50,000 would in production: the build in a worker while exact search
answers, catching up with writes made through another store, loading the saved index instead of
building it, filters, orgs and the rebuild once deleted labels outnumber live ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest

from shared.database import vectors_relational
from shared.database.relational import open_relational
from shared.database.schema import upgrade_async
from shared.database.vectors import CollectionSpec, VectorHit, VectorRecord
from shared.database.vectors_relational import RelationalVectors

DIM = 32
COUNT = 1_500
THRESHOLD = 200
ORG = "org-1"
OTHER_ORG = "org-2"
COLLECTION = "talents"
EXACT = 10**9  # a threshold no test reaches: the store every answer is compared with

Opener = Callable[..., RelationalVectors]


def clustered(count: int, seed: int) -> np.ndarray:
    """Unit vectors around 40 centres, cosine to their centre about 0.7, like embeddings of similar profiles."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    data = centres[rng.integers(0, 40, count)] + rng.standard_normal((count, DIM), dtype=np.float32) / np.sqrt(DIM)
    return (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float32)


DATA = clustered(COUNT, seed=7)
QUERIES = (DATA[::30] + 0.5 * clustered(len(DATA[::30]), seed=11)).astype(np.float32)  # 50, near the data


def records(org_id: str = ORG, data: np.ndarray = DATA, prefix: str = "r") -> list[VectorRecord]:
    return [VectorRecord(f"{prefix}{i:04d}", org_id, data[i], {"bucket": i % 10, "rare": i % 100 == 0}, 1)
            for i in range(len(data))]


@pytest.fixture
async def opener(relational_url: str, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens stores on one database, sharing one index directory unless told otherwise."""
    await upgrade_async(relational_url)
    opened: list[tuple[RelationalVectors, Callable[[], object]]] = []

    def open_store(threshold: int = THRESHOLD, index_dir: Path | None = tmp_path / "vector-index") -> RelationalVectors:
        relational = open_relational(relational_url)
        store = RelationalVectors(relational, index_dir=index_dir, ann_threshold=threshold, build_threads=1)
        opened.append((store, relational.close))
        return store

    yield open_store
    for store, close in opened:
        await store.close()
        await close()  # type: ignore[misc]


@pytest.fixture
async def exact(opener: Opener) -> RelationalVectors:
    """Exact search over the same database, with the collection created and the data written."""
    store = opener(EXACT, index_dir=None)
    await store.ensure_collection(CollectionSpec(COLLECTION, DIM, ("bucket", "rare")))
    for start in range(0, COUNT, 500):
        await store.upsert(COLLECTION, records()[start:start + 500])
    await store.upsert(COLLECTION, records(OTHER_ORG, clustered(300, seed=13), prefix="o"))
    return store


async def indexed(store: RelationalVectors, org_id: str = ORG) -> None:
    """Search once (exact, starting the index job), then wait for the index to be ready."""
    await store.search(COLLECTION, org_id, QUERIES[0])
    await store.wait_for_indexes()


def recall(found: list[VectorHit], expected: list[VectorHit]) -> float:
    return len({hit.id for hit in found} & {hit.id for hit in expected}) / max(1, len(expected))


async def mean_recall(store: RelationalVectors, exact: RelationalVectors, org_id: str = ORG,
                      **options: object) -> float:
    scores = [recall(await store.search(COLLECTION, org_id, query, **options),  # type: ignore[arg-type]
                     await exact.search(COLLECTION, org_id, query, **options))  # type: ignore[arg-type]
              for query in QUERIES]
    return float(np.mean(scores))


async def test_past_the_threshold_an_index_answers_like_exact_search(opener: Opener,
                                                                     exact: RelationalVectors) -> None:
    store = opener()

    first = await store.search(COLLECTION, ORG, QUERIES[0])
    assert (store.index_counts.exact_searches, store.index_counts.ann_searches) == (1, 0)  # built meanwhile
    assert first == await exact.search(COLLECTION, ORG, QUERIES[0])
    await store.wait_for_indexes()
    assert (store.index_counts.built, store.index_counts.loaded) == (1, 0)

    assert await mean_recall(store, exact) >= 0.95
    assert store.index_counts.ann_searches == len(QUERIES)
    # Candidates are scored as exact search scores them: the same hit has the same score.
    hits = await store.search(COLLECTION, ORG, QUERIES[3], top_k=5)
    expected = {hit.id: hit.score for hit in await exact.search(COLLECTION, ORG, QUERIES[3], top_k=5)}
    assert [hit.score for hit in hits if hit.id in expected] == [pytest.approx(expected[hit.id], abs=1e-6)
                                                                 for hit in hits if hit.id in expected]
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


async def test_top_k_past_ef_and_min_score_apply_on_the_index_path(opener: Opener, exact: RelationalVectors) -> None:
    store = opener()
    await indexed(store)

    wide = await store.search(COLLECTION, ORG, QUERIES[1], top_k=300)  # past ef_search (128)
    assert len(wide) == 300 and len({hit.id for hit in wide}) == 300
    assert recall(wide, await exact.search(COLLECTION, ORG, QUERIES[1], top_k=300)) >= 0.95

    cut = wide[20].score
    above = await store.search(COLLECTION, ORG, QUERIES[1], top_k=50, min_score=cut)
    assert 19 <= len(above) <= 21 and all(hit.score >= cut for hit in above)
    assert recall(above, await exact.search(COLLECTION, ORG, QUERIES[1], top_k=50, min_score=cut)) >= 0.95
    assert await store.search(COLLECTION, ORG, QUERIES[1], min_score=1.01) == []
    assert store.index_counts.exact_searches == 1  # only the search that started the build


async def test_filters_and_orgs_are_honoured_on_the_index_path(opener: Opener, exact: RelationalVectors,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors_relational, "EXACT_FILTER_ROWS", 100)  # 4,096 would keep every filter here exact
    store = opener()
    await indexed(store)
    await indexed(store, OTHER_ORG)
    assert store.index_counts.built == 2  # one index per org

    searched = store.index_counts.ann_searches
    wide = {"bucket": [1, 2, 3]}  # 450 rows, 30 % of the org's: the index's filtered search
    for query in QUERIES[:10]:
        hits = await store.search(COLLECTION, ORG, query, filters=wide)
        assert len(hits) == 10 and all(hit.metadata["bucket"] in (1, 2, 3) for hit in hits)
    assert store.index_counts.ann_searches == searched + 10
    assert await mean_recall(store, exact, filters=wide) >= 0.95
    # top_k past ef_search, with a filter: ef is raised for the filtered walk too.
    for query in QUERIES[:5]:
        hits = await store.search(COLLECTION, ORG, query, top_k=200, filters=wide)
        assert len(hits) == 200 and all(hit.metadata["bucket"] in (1, 2, 3) for hit in hits)
        assert recall(hits, await exact.search(COLLECTION, ORG, query, top_k=200, filters=wide)) >= 0.95

    exact_before = store.index_counts.exact_searches
    for query in QUERIES[:10]:  # 15 rows of 1,500: scored exactly, and exactly the same
        hits = await store.search(COLLECTION, ORG, query, filters={"rare": True})
        assert hits == await exact.search(COLLECTION, ORG, query, filters={"rare": True})
    assert store.index_counts.exact_searches == exact_before + 10

    for org_id, prefix in ((ORG, "r"), (OTHER_ORG, "o")):
        for query in QUERIES[:10]:
            hits = await store.search(COLLECTION, org_id, query, top_k=20)
            assert hits and all(hit.id.startswith(prefix) for hit in hits)
    assert await store.search(COLLECTION, "org-3", QUERIES[0]) == []


async def test_the_index_sees_upserts_and_deletes_made_through_another_store(opener: Opener,
                                                                             exact: RelationalVectors) -> None:
    store, writer = opener(), opener(index_dir=None)
    await indexed(store)
    probe = QUERIES[5]
    best = (await store.search(COLLECTION, ORG, probe, top_k=1))[0].id

    await writer.upsert(COLLECTION, [VectorRecord("new", ORG, probe, {"bucket": 1}, 1),
                                     VectorRecord("r0007", ORG, -probe, {"bucket": 7}, 2)])
    assert await writer.delete(COLLECTION, ORG, [best]) == 1
    searched = store.index_counts.ann_searches

    hits = await store.search(COLLECTION, ORG, probe, top_k=50)
    assert hits[0].id == "new" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert best not in {hit.id for hit in hits}
    moved = await store.search(COLLECTION, ORG, -probe, top_k=50)
    assert moved[0].id == "r0007" and moved[0].score == pytest.approx(1.0, abs=1e-5)
    assert [hit.id for hit in moved].count("r0007") == 1  # its old label is gone
    assert store.index_counts.ann_searches == searched + 2  # three rows behind: caught up on the spot

    # Many rows behind: caught up in a worker while exact search answers.
    rewritten = clustered(100, seed=17)
    await writer.upsert(COLLECTION, [VectorRecord(f"r{i:04d}", ORG, rewritten[i], {"bucket": 0}, 3)
                                     for i in range(100)])
    assert (await store.search(COLLECTION, ORG, rewritten[0], top_k=1)
            == await exact.search(COLLECTION, ORG, rewritten[0], top_k=1))
    assert store.index_counts.exact_searches == 2
    await store.wait_for_indexes()
    assert await mean_recall(store, exact) >= 0.95
    assert (await store.search(COLLECTION, ORG, rewritten[42], top_k=1))[0].id == "r0042"
    assert store.index_counts.built == 1


async def test_a_reopened_store_loads_the_saved_index_and_catches_up(opener: Opener, exact: RelationalVectors,
                                                                    tmp_path: Path) -> None:
    first = opener()
    await indexed(first)
    assert first.index_counts.saved == 1  # saved once built
    assert list((tmp_path / "vector-index" / COLLECTION).glob("*.hnsw"))
    await first.close()

    # Written after the save: the loaded index must delete, replace and add these records.
    writer = opener(index_dir=None)
    probe = QUERIES[8]
    gone = [hit.id for hit in await exact.search(COLLECTION, ORG, probe, top_k=3)]
    assert await writer.delete(COLLECTION, ORG, gone) == 3
    await writer.upsert(COLLECTION, [VectorRecord("r0011", ORG, probe, {"bucket": 1}, 2),
                                     VectorRecord("added", ORG, -probe, {"bucket": 2}, 1)])

    reopened = opener()
    await indexed(reopened)
    assert (reopened.index_counts.loaded, reopened.index_counts.built) == (1, 0)

    searched = reopened.index_counts.ann_searches
    hits = await reopened.search(COLLECTION, ORG, probe, top_k=200)
    assert hits[0].id == "r0011" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert not set(gone) & {hit.id for hit in hits}
    assert len(hits) == len({hit.id for hit in hits}) == 200
    assert (await reopened.search(COLLECTION, ORG, -probe, top_k=1))[0].id == "added"
    assert await mean_recall(reopened, exact) >= 0.95
    assert reopened.index_counts.ann_searches == searched + 2 + len(QUERIES)


async def test_two_stores_sharing_the_directory_both_stay_correct(opener: Opener, exact: RelationalVectors) -> None:
    one, two = opener(), opener()
    await indexed(one)
    await indexed(two)
    assert (two.index_counts.loaded, two.index_counts.built) == (1, 0)  # one saved it first

    await one.upsert(COLLECTION, [VectorRecord("from-one", ORG, QUERIES[2], {"bucket": 2}, 1)])
    await two.upsert(COLLECTION, [VectorRecord("from-two", ORG, QUERIES[4], {"bucket": 4}, 1)])
    assert await two.delete(COLLECTION, ORG, ["r0000"]) == 1

    for store in (one, two):
        assert (await store.search(COLLECTION, ORG, QUERIES[2], top_k=1))[0].id == "from-one"
        assert (await store.search(COLLECTION, ORG, QUERIES[4], top_k=1))[0].id == "from-two"
        assert "r0000" not in {hit.id for hit in await store.search(COLLECTION, ORG, DATA[0], top_k=20)}
        assert await mean_recall(store, exact) >= 0.95


async def test_an_index_mostly_deleted_is_rebuilt_and_a_small_org_searches_exactly(
        opener: Opener, exact: RelationalVectors) -> None:
    store = opener(index_dir=None)
    await indexed(store)

    assert await exact.delete(COLLECTION, ORG, [f"r{i:04d}" for i in range(800)]) == 800
    await indexed(store)  # 800 deleted labels against 700 live ones
    assert store.index_counts.built == 2
    assert await mean_recall(store, exact) >= 0.95
    assert all(int(hit.id[1:]) >= 800 for hit in await store.search(COLLECTION, ORG, DATA[5], top_k=50))

    assert await exact.delete(COLLECTION, ORG, [f"r{i:04d}" for i in range(800, 1_450)]) == 650
    searched = store.index_counts.ann_searches
    hits = await store.search(COLLECTION, ORG, QUERIES[0], top_k=100)  # 50 left, under half the threshold
    assert hits == await exact.search(COLLECTION, ORG, QUERIES[0], top_k=100)
    assert len(hits) == 50
    assert store.index_counts.ann_searches == searched
