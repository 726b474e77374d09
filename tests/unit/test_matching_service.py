"""The matching service through its API: POST /api/v1/matching/score.

Talents and jobs come inline or from a FakeCrm put on app.ctx (as in test_resume_service.py). The
weights come from a real ConfigClient whose transport, WatchFeed, answers the config service's
watch batches: publishing a value reaches the service as a change would in production.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sanic import Sanic

from ai_services.matching_service.app import MatchingService
from ai_services.matching_service.embeddings import StoredEmbeddings
from looma_crm.client import CrmUnavailable
from shared.catalog import JOBS, TALENTS
from shared.config import MATCHING_WEIGHTS, ConfigClient, LoomaSettings, MatchingWeights
from shared.config.client import Call, Reply
from shared.database.vectors import VectorRecord
from shared.projector.embedding import EmbeddingUnavailable
from shared.service.problems import PROBLEM_JSON
from tests.harness import ServiceHarness, embedded_settings
from tests.tokens import TestIssuer

Sanic.test_mode = True
pytestmark = pytest.mark.asyncio(loop_scope="module")

SCORE = "/api/v1/matching/score"

JAVA_TALENT: dict[str, Any] = {
    "id": "t-java", "name": "Li Wei", "current_title": "Senior Java Developer", "years_of_experience": 6,
    "skills": [{"name": "Java", "level": "expert"}, {"name": "Spring Boot"}, {"name": "MySQL"}, {"name": "Kafka"}],
    "experience": [{"title": "Java Developer", "company": "Acme", "start": "2019-01", "current": True,
                    "description": "Built payment services in Java with Spring Boot, MySQL and Kafka."}],
    "education": [{"school": "Zhejiang University", "degree": "Bachelor", "major": "Computer Science"}],
    "city": "Shanghai",
}
JAVA_JOB: dict[str, Any] = {
    "id": "j-java", "title": "Java Developer", "locations": ["Shanghai"],
    "description": "We need a Java developer with 3-5 years of experience in Spring Boot and MySQL. "
                   "Kafka is a plus. Bachelor's degree in Computer Science.",
}


# --- the harness --------------------------------------------------------------------------------


class WatchFeed:
    """The config service's watch endpoint as the client sees it: the current value of
    matching/weights, answered at once when newer than the caller's cursor, else after a change
    or the poll's timeout (204)."""

    def __init__(self, value: dict[str, Any]) -> None:
        self.value, self.seq = value, 1
        self.changed = asyncio.Event()

    def publish(self, value: dict[str, Any]) -> None:
        self.value, self.seq = value, self.seq + 1
        self.changed.set()

    async def send(self, call: Call) -> Reply:
        since = int(call.params.get("since", 0))
        if since >= self.seq:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), float(call.params["timeout"]))
            except TimeoutError:
                return Reply(204, b"")
        item = {"key": MATCHING_WEIGHTS.name, "value": self.value, "seq": self.seq, "version": self.seq,
                "scope": "default"}
        return Reply(200, json.dumps({"items": [item], "cursor": str(self.seq)}).encode())


class FakeCrm:
    """The CRM's reads: records per (org, id); `down` makes it unreachable."""

    def __init__(self) -> None:
        self.down = False
        self.talents: dict[tuple[str, str], dict[str, Any]] = {}
        self.jobs: dict[tuple[str, str], dict[str, Any]] = {}

    async def talent(self, org_id: str, talent_id: str) -> dict[str, Any] | None:
        if self.down:
            raise CrmUnavailable("the CRM could not be reached: connection refused")
        return self.talents.get((org_id, talent_id))

    async def job(self, org_id: str, job_id: str) -> dict[str, Any] | None:
        if self.down:
            raise CrmUnavailable("the CRM could not be reached: connection refused")
        return self.jobs.get((org_id, job_id))

    async def close(self) -> None:
        return None


EMBEDDING_MODEL = "test/model-4"


class MatchingHarness(ServiceHarness):
    host = "matching.test"

    def __init__(self, settings: LoomaSettings) -> None:
        self.feed = WatchFeed(MATCHING_WEIGHTS.default())
        self.config = ConfigClient(self.feed, settings.data_dir / "config-cache", keys=(MATCHING_WEIGHTS,))
        super().__init__(MatchingService(settings, config=self.config).create_app())
        self.issuer = TestIssuer()
        self.issuer.install(self.app)
        self.crm = FakeCrm()

    async def start(self) -> None:
        await super().start()
        self.app.ctx.crm = self.crm
        vectors = self.app.ctx.store.vectors
        for collection in (TALENTS, JOBS):
            await vectors.ensure_collection(collection.spec(EMBEDDING_MODEL, 4))
        self.vector_service_up = True

        async def model() -> str:
            if not self.vector_service_up:
                raise EmbeddingUnavailable("the vector service could not be reached")
            return EMBEDDING_MODEL

        self.app.ctx.embeddings = StoredEmbeddings(vectors, model)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> LoomaSettings:
    return embedded_settings(tmp_path_factory.mktemp("matching"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def harness(settings: LoomaSettings) -> Any:
    harness = MatchingHarness(settings)
    await harness.start()
    yield harness
    await harness.stop()


class Caller:
    def __init__(self, harness: MatchingHarness) -> None:
        self.harness = harness
        self.org = f"org-{uuid.uuid4().hex[:8]}"

    async def score(self, body: Any, role: str = "recruiter", org: str | None = None) -> httpx.Response:
        token = self.harness.issuer.token(role=role, org=org or self.org)
        return await self.harness.send("POST", SCORE, token=token, json=body)


@pytest.fixture
def api(harness: MatchingHarness) -> Caller:
    return Caller(harness)


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text[:1000]
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    if slug is not None:
        assert body["type"] == f"urn:looma:problem:{slug}", body
    return body


def error_locs(body: dict[str, Any]) -> list[str]:
    return [error["loc"] for error in body["errors"]]


# --- scoring ------------------------------------------------------------------------------------


async def test_a_java_developer_is_a_good_match_for_a_java_job(api: Caller) -> None:
    response = await api.score({"talent": JAVA_TALENT, "job": JAVA_JOB})

    assert response.status_code == 200, response.text
    match = response.json()
    assert match["label"] in ("good", "excellent") and match["score"] >= 0.7
    assert match["talent_id"] == "t-java" and match["job_id"] == "j-java"
    matched = {m["skill"].lower() for m in match["dimensions"]["skills"]["explanation"]["matched"]}
    assert {"java", "spring boot", "mysql"} <= matched
    assert match["dimensions"]["semantic"]["score"] is None  # no vectors: unknown, not zero
    assert match["explanation"] and 0 < match["coverage"] <= 1
    assert match["weights"] == pytest.approx(MATCHING_WEIGHTS.default())
    assert match["weights_from"] == [{"layer": "config", "source": "service"}]


async def test_protected_attributes_of_an_inline_talent_change_nothing(api: Caller) -> None:
    plain = (await api.score({"talent": JAVA_TALENT, "job": JAVA_JOB})).json()
    marked = {**JAVA_TALENT, "gender": "female", "birth_date": "1960-01-01", "ethnicity": "x", "nationality": "y",
              "custom": {"marital_status": "married", "age": 63}}

    assert (await api.score({"talent": marked, "job": JAVA_JOB})).json()["score"] == plain["score"]


async def test_explain_false_answers_without_the_sentence(api: Caller) -> None:
    match = (await api.score({"talent": JAVA_TALENT, "job": JAVA_JOB, "explain": False})).json()

    assert match["score"] > 0 and match["label"]
    assert not match["dimensions"]["skills"]["explanation"]


# --- records from the CRM ---------------------------------------------------------------------------


async def test_ids_are_read_from_the_crm_in_the_callers_org(api: Caller, harness: MatchingHarness) -> None:
    harness.crm.talents[(api.org, "t1")] = JAVA_TALENT
    harness.crm.jobs[(api.org, "j1")] = JAVA_JOB

    by_ids = await api.score({"talent_id": "t1", "job_id": "j1"})
    mixed = await api.score({"talent_id": "t1", "job": JAVA_JOB})

    assert by_ids.status_code == 200, by_ids.text
    assert by_ids.json()["score"] == mixed.json()["score"] == (await api.score(
        {"talent": JAVA_TALENT, "job": JAVA_JOB})).json()["score"]


async def test_an_unknown_or_another_orgs_id_is_404(api: Caller, harness: MatchingHarness) -> None:
    harness.crm.talents[("another-org", "t-other")] = JAVA_TALENT
    harness.crm.jobs[(api.org, "j1")] = JAVA_JOB

    assert_problem(await api.score({"talent_id": "t-other", "job_id": "j1"}), 404, "talent-not-found")
    assert_problem(await api.score({"talent": JAVA_TALENT, "job_id": "nope"}), 404, "job-not-found")


async def test_the_crm_down_is_503(api: Caller, harness: MatchingHarness) -> None:
    harness.crm.down = True
    try:
        body = assert_problem(await api.score({"talent_id": "t1", "job": JAVA_JOB}), 503, "crm-unavailable")
    finally:
        harness.crm.down = False
    assert "connection refused" in body["detail"]


# --- input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("weights", "loc"), [
    ({"skills": -1}, "body.weights.skills"),
    ({"skils": 0.5}, "body.weights.skils"),
    ({"salary": "high"}, "body.weights.salary"),
    ({"salary": True}, "body.weights.salary"),
    ({name: 0 for name in ("semantic", "skills", "experience", "education", "location", "salary", "recency")},
     "body.weights"),
])
async def test_bad_weights_are_422_naming_the_field(api: Caller, weights: dict[str, Any], loc: str) -> None:
    body = assert_problem(await api.score({"talent": JAVA_TALENT, "job": JAVA_JOB, "weights": weights}), 422,
                          "validation-failed")

    assert error_locs(body) == [loc]


async def test_an_unknown_profile_and_bad_job_weights_are_named(api: Caller) -> None:
    unknown = assert_problem(await api.score({"talent": JAVA_TALENT, "job": JAVA_JOB, "profile": "sports"}), 422)
    job = assert_problem(await api.score({"talent": JAVA_TALENT, "job": {**JAVA_JOB, "weights": {"skills": -2}}}),
                         422)

    assert error_locs(unknown) == ["body.profile"]
    assert error_locs(job) == ["body.job.weights.skills"]


@pytest.mark.parametrize("body", [
    {"job": JAVA_JOB},
    {"talent": JAVA_TALENT, "talent_id": "t1", "job": JAVA_JOB},
])
async def test_exactly_one_of_talent_and_talent_id(api: Caller, body: dict[str, Any]) -> None:
    problem = assert_problem(await api.score(body), 422, "validation-failed")

    assert error_locs(problem) == ["body.talent_id", "body.talent"]


async def test_neither_job_nor_job_id_and_unknown_fields_are_422(api: Caller) -> None:
    assert error_locs(assert_problem(await api.score({"talent": JAVA_TALENT}), 422)) == ["body.job_id", "body.job"]
    assert "body.top_k" in error_locs(assert_problem(
        await api.score({"talent": JAVA_TALENT, "job": JAVA_JOB, "top_k": 3}), 422))


# --- weights -----------------------------------------------------------------------------------------


async def test_the_layers_apply_in_order(api: Caller) -> None:
    body = {"talent": JAVA_TALENT, "job": {**JAVA_JOB, "weights": {"salary": 0.2, "location": 0.2}},
            "profile": "technology", "weights": {"salary": 0.5}}

    match = (await api.score(body)).json()

    assert match["weights"]["skills"] == 0.40  # the preset replaced the configured value
    assert match["weights"]["location"] == 0.2  # the job's own
    assert match["weights"]["salary"] == 0.5  # the request's, over the job's
    assert [layer["layer"] for layer in match["weights_from"]] == ["config", "profile", "job", "request"]


async def test_a_weights_change_applies_to_the_next_request(api: Caller, harness: MatchingHarness) -> None:
    before = (await api.score({"talent": JAVA_TALENT, "job": JAVA_JOB})).json()
    changed = asyncio.Event()
    stop = harness.config.on_change(MATCHING_WEIGHTS, lambda _: changed.set())
    try:
        harness.feed.publish({"location": 1.0})  # location alone: Shanghai and Shanghai
        await asyncio.wait_for(changed.wait(), 5)
        after = (await api.score({"talent": JAVA_TALENT, "job": JAVA_JOB})).json()
    finally:
        stop()
        harness.feed.publish(MATCHING_WEIGHTS.default())
        await asyncio.sleep(0.05)

    assert after["weights"] == MatchingWeights(location=1.0).model_dump()
    assert after["score"] == 1.0 and after["score"] != before["score"]


# --- access ------------------------------------------------------------------------------------------


async def test_no_token_is_401_and_a_viewer_is_403(api: Caller, harness: MatchingHarness) -> None:
    assert_problem(await harness.send("POST", SCORE, json={"talent": JAVA_TALENT, "job": JAVA_JOB}), 401)
    assert_problem(await api.score({"talent": JAVA_TALENT, "job": JAVA_JOB}, role="viewer"), 403)
    assert (await api.score({"talent": JAVA_TALENT, "job": JAVA_JOB}, role="hiring_manager")).status_code == 200


def test_the_config_default_is_the_scoring_default() -> None:
    """A service that never reached the config service weighs as the scoring core does by default."""
    from ai_services.matching_service.scoring import DEFAULT_WEIGHTS

    assert MATCHING_WEIGHTS.default() == DEFAULT_WEIGHTS.as_dict()


async def test_stored_embeddings_feed_the_semantic_dimension(api: Caller, harness: MatchingHarness) -> None:
    harness.crm.talents[(api.org, "t-near")] = JAVA_TALENT
    harness.crm.talents[(api.org, "t-far")] = JAVA_TALENT
    harness.crm.jobs[(api.org, "j-java")] = JAVA_JOB
    vectors = harness.app.ctx.store.vectors
    await vectors.upsert(TALENTS.stored_as(EMBEDDING_MODEL), [
        VectorRecord("t-near", api.org, [1.0, 0.1, 0.0, 0.0]), VectorRecord("t-far", api.org, [0.0, 0.0, 1.0, 0.0])])
    await vectors.upsert(JOBS.stored_as(EMBEDDING_MODEL), [VectorRecord("j-java", api.org, [1.0, 0.0, 0.0, 0.0])])

    near = (await api.score({"talent_id": "t-near", "job_id": "j-java"})).json()
    far = (await api.score({"talent_id": "t-far", "job_id": "j-java"})).json()
    inline = (await api.score({"talent": JAVA_TALENT, "job_id": "j-java"})).json()

    assert near["dimensions"]["semantic"]["score"] > far["dimensions"]["semantic"]["score"]
    assert near["score"] > far["score"]
    assert inline["dimensions"]["semantic"]["score"] is None  # an inline talent has no stored vector
    harness.app.ctx.embeddings._known = None
    harness.vector_service_up = False
    try:
        unreachable = (await api.score({"talent_id": "t-near", "job_id": "j-java"})).json()
    finally:
        harness.vector_service_up = True
    assert unreachable["dimensions"]["semantic"]["score"] is None  # unknown, never 0
