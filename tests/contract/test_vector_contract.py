"""The VectorStore contract, run against the relational store (SQLite, PostgreSQL) and Weaviate alike.

Weaviate joins only when LOOMA_TEST_WEAVIATE_URL points at a live server (it cannot run on the
development machines); otherwise it is not collected at all, so CI shows no skipped test for it.
Every test works in collections of its own, named with a per-test suffix, so a shared Weaviate
server needs no reset. The two-process test at the end is the embedded store's own.
"""

from __future__ import annotations

import asyncio
import math
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest

from shared.database import vectors_relational
from shared.database.relational import open_relational
from shared.database.schema import upgrade_async
from shared.database.vectors import (
    CollectionSpec,
    VectorIdTaken,
    VectorInputError,
    VectorRecord,
    VectorStore,
    open_vectors,
)
from shared.database.vectors_relational import RelationalVectors
from shared.database.vectors_weaviate import WeaviateVectors, class_name, parse_url
from tests.contract.processes import python_process

WEAVIATE_URL = os.environ.get("LOOMA_TEST_WEAVIATE_URL")
BACKENDS = ["relational-sqlite", pytest.param("relational-postgresql", marks=pytest.mark.server)]
if WEAVIATE_URL:
    BACKENDS.append(pytest.param("weaviate", marks=pytest.mark.server))

DIM = 4
ORG = "org-1"
OTHER_ORG = "org-2"
E1, E2, E3, E4 = [1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]
SCORE = pytest.approx  # float32 arithmetic on every backend
TOLERANCE = 1e-5

Opener = Callable[[], VectorStore]


@pytest.fixture
def suffix() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """Resolved before the event loop runs: the PostgreSQL fixture calls asyncio.run itself."""
    if request.param == "relational-sqlite":
        return request.param, f"sqlite+aiosqlite:///{tmp_path}/looma.db"
    if request.param == "relational-postgresql":
        return request.param, request.getfixturevalue("postgres_url")
    return request.param, str(WEAVIATE_URL)


@pytest.fixture
async def opener(backend_url: tuple[str, str], suffix: str) -> AsyncIterator[Opener]:
    """Opens a client of one vector store; every client from the same opener sees the same data."""
    kind, url = backend_url
    opened: list[VectorStore] = []
    closers: list[Callable[[], object]] = []

    if kind.startswith("relational"):
        await upgrade_async(url)

        def open_store() -> VectorStore:
            relational = open_relational(url)
            closers.append(relational.close)
            opened.append(RelationalVectors(relational))
            return opened[-1]
    else:
        def open_store() -> VectorStore:
            opened.append(WeaviateVectors(url))
            return opened[-1]

    yield open_store
    for store in opened:
        await store.close()
    for close in closers:
        await close()  # type: ignore[misc]
    if kind == "weaviate":
        await drop_weaviate_collections(url, suffix)


async def drop_weaviate_collections(url: str, suffix: str) -> None:
    import weaviate

    point = parse_url(url)
    async with weaviate.use_async_with_custom(
            http_host=point.http_host, http_port=point.http_port, http_secure=point.http_secure,
            grpc_host=point.grpc_host, grpc_port=point.grpc_port, grpc_secure=point.grpc_secure,
            auth_credentials=weaviate.classes.init.Auth.api_key(point.api_key) if point.api_key else None) as client:
        names = [name for name in await client.collections.list_all() if name.lower().endswith(suffix)]
        if names:
            await client.collections.delete(names)


@pytest.fixture
async def store(opener: Opener) -> VectorStore:
    return opener()


@pytest.fixture
async def talents(store: VectorStore, suffix: str) -> str:
    """A collection of dimension 4, filterable on city, level and skills."""
    name = f"talents_{suffix}"
    await store.ensure_collection(CollectionSpec(name, DIM, ("city", "level", "skills")))
    return name


def record(record_id: str, vector: list[float], org_id: str = ORG, version: int = 1,
           **metadata: object) -> VectorRecord:
    return VectorRecord(record_id, org_id, vector, metadata, version)


async def ids(store: VectorStore, collection: str, vector: list[float], org_id: str = ORG,
              **options: object) -> list[str]:
    return [hit.id for hit in await store.search(collection, org_id, vector, **options)]  # type: ignore[arg-type]


# --- Basics -------------------------------------------------------------------------------------


async def test_store_satisfies_the_protocol_and_pings(store: VectorStore) -> None:
    assert isinstance(store, VectorStore)
    await store.ping()


async def test_search_returns_the_nearest_first_with_cosine_scores(store: VectorStore, talents: str) -> None:
    await store.upsert(talents, [
        record("far", [-1.0, 0, 0, 0], city="深圳"),
        record("orthogonal", E2, city="上海"),
        record("near", [1.0, 1.0, 0, 0], city="杭州"),
        record("same", [3.0, 0, 0, 0], city="北京"),  # stored normalised
    ])

    hits = await store.search(talents, ORG, [0.5, 0, 0, 0])

    assert [hit.id for hit in hits] == ["same", "near", "orthogonal", "far"]
    assert [hit.score for hit in hits] == [SCORE(1.0, abs=TOLERANCE), SCORE(math.sqrt(0.5), abs=TOLERANCE),
                                           SCORE(0.0, abs=TOLERANCE), SCORE(-1.0, abs=TOLERANCE)]
    assert [hit.metadata for hit in hits] == [{"city": "北京"}, {"city": "杭州"}, {"city": "上海"}, {"city": "深圳"}]


async def test_an_empty_collection_finds_nothing(store: VectorStore, talents: str) -> None:
    assert await store.search(talents, ORG, E1) == []
    assert await store.versions(talents) == {}


async def test_upsert_replaces_the_record_with_the_same_id(store: VectorStore, talents: str) -> None:
    await store.upsert(talents, [record("t1", E1, version=1, city="北京"), record("t2", E3)])
    assert await ids(store, talents, E1, top_k=1) == ["t1"]

    # Several replacements, each searched at once: a cache must never show an old copy beside the new.
    for version, vector in [(2, E2), (3, E4), (4, E2)]:
        await store.upsert(talents, [record("t1", vector, version=version, city=f"city-{version}")])
        hits = await store.search(talents, ORG, vector)
        assert [hit.id for hit in hits] == ["t1", "t2"]
        assert hits[0].score == SCORE(1.0, abs=TOLERANCE)
        assert hits[0].metadata == {"city": f"city-{version}"}

    assert await store.versions(talents) == {"t1": 4, "t2": 1}


async def test_a_batch_naming_one_id_twice_keeps_the_later_record(store: VectorStore, talents: str) -> None:
    await store.upsert(talents, [record("t1", E1, version=1), record("t1", E2, version=2)])

    hits = await store.search(talents, ORG, E2)
    assert [(hit.id, hit.score) for hit in hits] == [("t1", SCORE(1.0, abs=TOLERANCE))]
    assert await store.versions(talents) == {"t1": 2}


async def test_delete_removes_records_and_counts_them(store: VectorStore, talents: str) -> None:
    await store.upsert(talents, [record("t1", E1), record("t2", E2), record("t3", E3)])
    assert len(await store.search(talents, ORG, E1)) == 3  # warm any cache before deleting

    assert await store.delete(talents, ORG, ["t1", "t3", "never-existed"]) == 2

    assert await ids(store, talents, E1) == ["t2"]
    assert await store.versions(talents) == {"t2": 1}
    assert await store.delete(talents, ORG, ["t1"]) == 0
    assert await store.delete(talents, ORG, []) == 0


async def test_get_returns_the_orgs_records_in_the_order_asked(store: VectorStore, talents: str) -> None:
    await store.upsert(talents, [record("t1", [3.0, 4.0, 0, 0], version=7, city="北京", skills=["python"]),
                                 record("t2", E2, version=2),
                                 record("theirs", E3, org_id=OTHER_ORG, version=5)])
    await store.upsert(talents, [record("t2", E4, version=3, level=2)])

    found = await store.get(talents, ORG, ["t2", "never-existed", "theirs", "t1", "t2"])

    assert [(got.id, got.org_id, got.version, got.metadata) for got in found] == [
        ("t2", ORG, 3, {"level": 2}), ("t1", ORG, 7, {"city": "北京", "skills": ["python"]})]
    for got, expected in zip(found, [[0, 0, 0, 1.0], [0.6, 0.8, 0, 0]], strict=True):
        assert isinstance(got.vector, np.ndarray) and got.vector.dtype == np.float32
        assert got.vector.tolist() == [SCORE(value, abs=TOLERANCE) for value in expected]  # stored normalised
    assert await store.get(talents, ORG, []) == []
    assert [got.id for got in await store.get(talents, OTHER_ORG, ["t1", "theirs"])] == ["theirs"]

    assert await store.delete(talents, ORG, ["t1"]) == 1
    assert [got.id for got in await store.get(talents, ORG, ["t1", "t2"])] == ["t2"]
    assert await store.get(f"missing_{talents}", ORG, ["t2"]) == []


async def test_top_k_keeps_the_best(store: VectorStore, talents: str) -> None:
    records = [record(f"t{i:02d}", [1.0, i / 10, 0, 0]) for i in range(20)]  # t00 nearest E1, then t01, ...
    await store.upsert(talents, records)

    assert await ids(store, talents, E1, top_k=5) == ["t00", "t01", "t02", "t03", "t04"]
    assert await ids(store, talents, E1, top_k=1) == ["t00"]
    assert len(await store.search(talents, ORG, E1, top_k=100)) == 20
    assert len(await store.search(talents, ORG, E1)) == 10  # the default


async def test_min_score_drops_weaker_hits(store: VectorStore, talents: str) -> None:
    await store.upsert(talents, [record("same", E1), record("near", [1.0, 1.0, 0, 0]), record("orthogonal", E2),
                                 record("opposite", [-1.0, 0, 0, 0])])

    assert await ids(store, talents, E1, min_score=0.5) == ["same", "near"]
    assert await ids(store, talents, E1, min_score=0.0) == ["same", "near", "orthogonal"]
    assert await ids(store, talents, E1, min_score=0.99) == ["same"]
    assert await ids(store, talents, [0, 0, 1.0, 0], min_score=0.5) == []


async def test_ties_are_broken_by_id(store: VectorStore, talents: str) -> None:
    await store.upsert(talents, [record(name, E1) for name in ("c", "a", "d", "b")] + [record("z", [1.0, 1.0, 0, 0])])

    assert await ids(store, talents, E1) == ["a", "b", "c", "d", "z"]
    assert await ids(store, talents, E1, top_k=2) == ["a", "b"]  # the cut falls inside the tie


# --- Filters ------------------------------------------------------------------------------------


@pytest.fixture
async def people(store: VectorStore, talents: str) -> str:
    await store.upsert(talents, [
        record("bj3", E1, city="北京", level=3, skills=["python", "go"]),
        record("bj5", E1, city="北京", level=5, skills=["java"]),
        record("sh3", E1, city="上海", level=3, skills="python"),
        record("sz", E1, city="深圳", level=True),
        record("bare", E1),
    ])
    return talents


FILTER_CASES = [
    ({"city": "北京"}, ["bj3", "bj5"]),
    ({"city": ["北京", "上海"]}, ["bj3", "bj5", "sh3"]),
    ({"city": ("深圳",)}, ["sz"]),
    ({"city": "北京", "level": 3}, ["bj3"]),
    ({"level": 3.0}, ["bj3", "sh3"]),  # JSON numbers: 3 and 3.0 are one value
    ({"level": 1}, []),  # but true is not 1
    ({"level": True}, ["sz"]),
    ({"skills": "python"}, ["bj3", "sh3"]),  # a stored list matches by any element
    ({"skills": ["go", "java"]}, ["bj3", "bj5"]),
    ({"city": "Beijing"}, []),
    ({"city": []}, []),
    ({}, ["bare", "bj3", "bj5", "sh3", "sz"]),
]


async def test_filters_match_by_equality_and_membership(store: VectorStore, people: str) -> None:
    # One test over the table: each case would otherwise pay for a fresh, migrated database.
    found = {repr(filters): await ids(store, people, E1, filters=filters) for filters, _ in FILTER_CASES}
    assert found == {repr(filters): expected for filters, expected in FILTER_CASES}


async def test_filters_combine_with_top_k_and_min_score(store: VectorStore, talents: str) -> None:
    await store.upsert(talents, [record(f"bj{i}", [1.0, i / 10, 0, 0], city="北京") for i in range(6)]
                       + [record(f"sh{i}", [1.0, i / 20, 0, 0], city="上海") for i in range(6)])

    assert await ids(store, talents, E1, filters={"city": "北京"}, top_k=2) == ["bj0", "bj1"]
    assert await ids(store, talents, E1, filters={"city": "北京"}, min_score=0.985) == ["bj0", "bj1"]


async def test_a_filter_on_an_undeclared_field_is_refused_naming_the_allowed_ones(store: VectorStore,
                                                                                people: str) -> None:
    with pytest.raises(VectorInputError, match=r"'salary'.*'city', 'level', 'skills'"):
        await store.search(people, ORG, E1, filters={"salary": 10})


async def test_a_filter_value_that_is_not_json_is_refused(store: VectorStore, people: str) -> None:
    with pytest.raises(VectorInputError, match="city"):
        await store.search(people, ORG, E1, filters={"city": float("nan")})
    with pytest.raises(VectorInputError):
        await store.search(people, ORG, E1, filters={"city": object()})


# --- Refused input ------------------------------------------------------------------------------


@pytest.mark.parametrize(("bad_vector", "reason"), [
    ([1.0, 0, 0], "dimension 3, expected 4"),
    ([1.0, 0, 0, 0, 0], "dimension 5, expected 4"),
    ([1.0, float("nan"), 0, 0], "NaN"),
    ([1.0, float("inf"), 0, 0], "infinity"),
    ([0.0, 0, 0, 0], "zeros"),
])
async def test_a_bad_vector_anywhere_in_a_batch_writes_nothing(store: VectorStore, talents: str,
                                                               bad_vector: list[float], reason: str) -> None:
    await store.upsert(talents, [record("kept", E1, version=1)])

    batch = [record("new-1", E2), record("kept", E3, version=2), record("bad", bad_vector), record("new-2", E4)]
    with pytest.raises(VectorInputError, match=reason):
        await store.upsert(talents, batch)

    assert await store.versions(talents) == {"kept": 1}
    assert await ids(store, talents, E1) == ["kept"]
    with pytest.raises(VectorInputError, match=reason):
        await store.search(talents, ORG, bad_vector)


async def test_a_bad_record_is_refused_and_writes_nothing(store: VectorStore, talents: str) -> None:
    for bad, reason in [
        (VectorRecord("", ORG, E1), "id"),
        (VectorRecord("x" * 129, ORG, E1), "at most 128"),
        (VectorRecord("t1", "", E1), "org_id"),
        (VectorRecord("t1", ORG, E1, {"when": {1, 2}}), "metadata is not JSON"),
        (VectorRecord("t1", ORG, E1, {"score": float("nan")}), "metadata is not JSON"),
        (VectorRecord("t1", ORG, E1, version=-1), "version"),
    ]:
        with pytest.raises(VectorInputError, match=reason):
            await store.upsert(talents, [record("good", E1), bad])
        assert await store.versions(talents) == {}, reason


async def test_bad_search_arguments_are_refused(store: VectorStore, talents: str) -> None:
    for options, reason in [({"top_k": 0}, "top_k"), ({"top_k": -1}, "top_k"), ({"top_k": 2.5}, "top_k"),
                            ({"min_score": float("nan")}, "min_score"), ({"min_score": "0.5"}, "min_score")]:
        with pytest.raises(VectorInputError, match=reason):
            await store.search(talents, ORG, E1, **options)  # type: ignore[arg-type]


async def test_an_unknown_collection_is_refused_for_writes_and_searches(store: VectorStore, suffix: str) -> None:
    missing = f"missing_{suffix}"
    with pytest.raises(VectorInputError, match="unknown collection"):
        await store.upsert(missing, [record("t1", E1)])
    with pytest.raises(VectorInputError, match="unknown collection"):
        await store.search(missing, ORG, E1)
    assert await store.delete(missing, ORG, ["t1"]) == 0  # holds nothing
    assert await store.versions(missing) == {}


async def test_ensure_collection_twice_is_fine_but_another_dimension_is_refused(store: VectorStore,
                                                                              talents: str) -> None:
    await store.upsert(talents, [record("t1", E1, city="北京", remote=True)])

    await store.ensure_collection(CollectionSpec(talents, DIM, ("city", "level", "skills")))
    with pytest.raises(VectorInputError, match=f"dimension {DIM}, not 8"):
        await store.ensure_collection(CollectionSpec(talents, 8, ("city",)))

    assert await ids(store, talents, E1) == ["t1"]
    # Making another field filterable needs no rebuild: records already written match it.
    await store.ensure_collection(CollectionSpec(talents, DIM, ("city", "remote")))
    assert await ids(store, talents, E1, filters={"remote": True}) == ["t1"]


async def test_bad_collection_specs_are_refused(store: VectorStore) -> None:
    for spec, reason in [
        (CollectionSpec("Talents", DIM), "collection name"),
        (CollectionSpec("talents; DROP TABLE vector_items", DIM), "collection name"),
        (CollectionSpec("", DIM), "collection name"),
        (CollectionSpec("talents", 0), "dimension"),
        (CollectionSpec("talents", DIM, ("city name",)), "'city name'"),
        (CollectionSpec("talents", DIM, ("city", "city")), "twice"),
    ]:
        with pytest.raises(VectorInputError, match=reason):
            await store.ensure_collection(spec)


# --- Orgs ---------------------------------------------------------------------------------------


async def test_another_orgs_records_are_never_found_changed_or_deleted(store: VectorStore, talents: str) -> None:
    await store.upsert(talents, [record("mine", [1.0, 1.0, 0, 0], city="北京"),
                                 record("theirs", E1, org_id=OTHER_ORG, city="北京")])

    assert await ids(store, talents, E1) == ["mine"]
    assert await ids(store, talents, E1, filters={"city": "北京"}) == ["mine"]
    assert await ids(store, talents, E1, org_id=OTHER_ORG) == ["theirs"]
    assert await ids(store, talents, E1, org_id="org-3") == []

    assert await store.delete(talents, ORG, ["theirs"]) == 0
    with pytest.raises(VectorIdTaken, match="another org") as taken:
        await store.upsert(talents, [record("theirs", E2, version=9), record("new", E2)])
    assert (taken.value.collection, taken.value.ids) == (talents, ("theirs",))
    assert OTHER_ORG not in str(taken.value)  # which org holds it is not said
    assert isinstance(taken.value, VectorInputError)

    assert await store.versions(talents, OTHER_ORG) == {"theirs": 1}
    assert await store.versions(talents, ORG) == {"mine": 1}
    assert await store.versions(talents) == {"mine": 1, "theirs": 1}
    assert [(hit.id, hit.score) for hit in await store.search(talents, OTHER_ORG, E1)] == [
        ("theirs", SCORE(1.0, abs=TOLERANCE))]


async def test_injection_looking_ids_metadata_and_filters_are_stored_verbatim(store: VectorStore,
                                                                            talents: str) -> None:
    hostile_id = "x'); DROP TABLE vector_items; --"
    hostile_org = "' OR '1'='1"
    hostile_metadata = {"city": "'; DELETE FROM vector_items; --", "note": '张伟 🚀 " \\ {} $where', "level": 3}
    await store.upsert(talents, [record(hostile_id, E1, org_id=hostile_org, **hostile_metadata),
                                 record("plain", E1, city="北京")])

    hits = await store.search(talents, hostile_org, E1, filters={"city": hostile_metadata["city"]})
    assert [(hit.id, hit.metadata) for hit in hits] == [(hostile_id, hostile_metadata)]
    assert await store.versions(talents, hostile_org) == {hostile_id: 1}
    assert await ids(store, talents, E1) == ["plain"]
    assert await ids(store, talents, E1, org_id="' OR '1'='1' --") == []
    assert await store.delete(talents, "' OR '1'='1' --", [hostile_id]) == 0
    assert await store.delete(talents, hostile_org, [hostile_id]) == 1
    assert await store.versions(talents) == {"plain": 1}


async def test_returned_metadata_is_a_copy(store: VectorStore, talents: str) -> None:
    await store.upsert(talents, [record("t1", E1, skills=["python"])])

    (hit,) = await store.search(talents, ORG, E1)
    hit.metadata["skills"].append("mutated")  # type: ignore[index]

    (again,) = await store.search(talents, ORG, E1)
    assert again.metadata == {"skills": ["python"]}


# --- Agreement with exact search, and several clients -------------------------------------------


async def test_search_agrees_with_exact_cosine_over_random_vectors(store: VectorStore, suffix: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors_relational, "THREAD_ABOVE", 0)  # the thread path, in the embedded store
    dim, count = 32, 400
    name = f"random_{suffix}"
    await store.ensure_collection(CollectionSpec(name, dim, ("bucket",)))
    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((count, dim)).astype(np.float32)
    orgs = [ORG if i % 3 else OTHER_ORG for i in range(count)]
    await store.upsert(name, [VectorRecord(f"r{i:03d}", orgs[i], matrix[i], {"bucket": i % 4}) for i in range(count)])
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)

    for query in rng.standard_normal((5, dim)).astype(np.float32):
        scores = unit @ (query / np.linalg.norm(query))
        mine = [i for i in range(count) if orgs[i] == ORG]
        expected = sorted(mine, key=lambda i: -scores[i])[:10]
        hits = await store.search(name, ORG, query, top_k=10)
        assert [hit.id for hit in hits] == [f"r{i:03d}" for i in expected]
        assert [hit.score for hit in hits] == [SCORE(float(scores[i]), abs=TOLERANCE) for i in expected]

        in_bucket = [i for i in mine if i % 4 in (1, 2)]
        expected = sorted(in_bucket, key=lambda i: -scores[i])[:7]
        hits = await store.search(name, ORG, query, top_k=7, filters={"bucket": [1, 2]})
        assert [hit.id for hit in hits] == [f"r{i:03d}" for i in expected]


async def test_a_warm_client_sees_writes_made_through_another(opener: Opener, talents: str) -> None:
    warm, other = opener(), opener()
    await warm.upsert(talents, [record("t1", E1, city="北京"), record("t2", E2)])
    assert await ids(warm, talents, E1) == ["t1", "t2"]

    await other.upsert(talents, [record("t3", [1.0, 0.1, 0, 0], city="北京")])
    assert await ids(warm, talents, E1, filters={"city": "北京"}) == ["t1", "t3"]

    await other.upsert(talents, [record("t1", E4, version=2, city="上海")])
    hits = await warm.search(talents, ORG, E1)
    assert [hit.id for hit in hits] == ["t3", "t1", "t2"]
    assert hits[1].metadata == {"city": "上海"}
    assert await ids(warm, talents, E1, filters={"city": "北京"}) == ["t3"]

    assert await other.delete(talents, ORG, ["t3"]) == 1
    assert await ids(warm, talents, E1) == ["t1", "t2"]

    await other.ensure_collection(CollectionSpec(talents, DIM, ("city", "level", "skills", "team")))
    await other.upsert(talents, [record("t4", E1, team="infra")])
    assert await ids(warm, talents, E1, filters={"team": "infra"}) == ["t4"]


async def test_a_warm_client_far_behind_sees_every_delete(opener: Opener, talents: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors_relational, "TOMBSTONE_REVISIONS", 2)  # the embedded store prunes almost at once
    warm, other = opener(), opener()
    await warm.upsert(talents, [record(f"t{i}", [1.0, i / 10, 0, 0]) for i in range(8)])
    assert len(await ids(warm, talents, E1)) == 8

    assert await other.delete(talents, ORG, ["t0"]) == 1  # one step behind: catches up
    assert await ids(warm, talents, E1) == [f"t{i}" for i in range(1, 8)]

    for i in (1, 2, 3):  # several steps behind, the tombstones it needs pruned meanwhile
        assert await other.delete(talents, ORG, [f"t{i}"]) == 1
    await other.upsert(talents, [record("t2", E1, version=2)])
    assert await ids(warm, talents, E1) == ["t2", "t4", "t5", "t6", "t7"]
    assert await warm.versions(talents) == {"t2": 2, "t4": 1, "t5": 1, "t6": 1, "t7": 1}


async def test_searches_running_beside_writes_never_see_a_record_twice(store: VectorStore, talents: str) -> None:
    await store.upsert(talents, [record(f"t{i}", [1.0, i / 10, 0, 0]) for i in range(10)])

    async def rewrite(round_: int) -> None:
        await store.upsert(talents, [record(f"t{i}", [1.0, (i + round_) / 10, 0, 0], version=round_)
                                     for i in range(10)])

    async def search() -> list[str]:
        return await ids(store, talents, E1, top_k=20)

    results = await asyncio.gather(*(task for round_ in range(2, 8) for task in (rewrite(round_), search())))
    for found in results:
        if found is not None:
            assert sorted(found) == sorted(f"t{i}" for i in range(10))
    # The rewrites raced, so any one may have committed last; each replaced all ten at once.
    assert len(set((await store.versions(talents)).values())) == 1


def test_open_vectors_chooses_the_store_from_the_settings(tmp_path: Path) -> None:
    relational = open_relational(f"sqlite+aiosqlite:///{tmp_path}/looma.db")
    assert isinstance(open_vectors(None, relational), RelationalVectors)
    weaviate_store = open_vectors("http://weaviate.test:8080?grpc_port=50052&api_key=secret", relational)
    assert isinstance(weaviate_store, WeaviateVectors)  # nothing is contacted until first use
    assert (weaviate_store.endpoint.grpc_port, weaviate_store.endpoint.api_key) == (50052, "secret")
    assert class_name("talents") == "Looma_talents"


# --- The embedded store across processes --------------------------------------------------------

WRITE_IN_A_CHILD = """
    import asyncio, sys
    from shared.database.relational import open_relational
    from shared.database.vectors import VectorRecord
    from shared.database.vectors_relational import RelationalVectors

    async def main(url: str, collection: str) -> None:
        relational = open_relational(url)
        store = RelationalVectors(relational)
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        await store.upsert(collection, [VectorRecord("from-child", "org-1", [0.0, 0.0, 1.0, 0.0], {"city": "深圳"}, 1),
                                        VectorRecord("t2", "org-1", [0.0, 0.0, 1.0, 1.0], {"city": "深圳"}, 2)])
        print("upserted", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        await store.delete(collection, "org-1", ["t1"])
        print("deleted", flush=True)
        await relational.close()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_a_warm_sqlite_store_sees_what_another_process_writes(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/looma.db"
    await upgrade_async(url)
    relational = open_relational(url)
    store = RelationalVectors(relational)
    try:
        await store.ensure_collection(CollectionSpec("talents", DIM, ("city",)))
        await store.upsert("talents", [record("t1", E1, city="北京"), record("t2", E2, city="北京")])
        assert await ids(store, "talents", E3) == ["t1", "t2"]  # warm: the org's matrix is in memory

        async with python_process(WRITE_IN_A_CHILD, url, "talents") as child:
            assert await child.read_line() == "ready"
            await child.send_line("go")
            assert await child.read_line() == "upserted"

            hits = await store.search("talents", ORG, E3, filters={"city": "深圳"})
            assert [(hit.id, hit.metadata) for hit in hits] == [("from-child", {"city": "深圳"}),
                                                                ("t2", {"city": "深圳"})]
            assert await ids(store, "talents", E3) == ["from-child", "t2", "t1"]

            await child.send_line("go")
            assert await child.read_line() == "deleted"
            assert await ids(store, "talents", E3) == ["from-child", "t2"]
            await child.finish()
        assert await store.versions("talents") == {"from-child": 1, "t2": 2}
    finally:
        await store.close()
        await relational.close()
