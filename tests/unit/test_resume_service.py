"""The resume service over HTTP: parse, ingest (stored, resolved, embedded through the outbox),
the original file, the redacted view, history, batches, and every refusal storing nothing.

The CRM is replaced by a recording stand-in for its one call (`resolve`, tested against the real
CRM in tests/unit/test_crm_resolve.py); tests/e2e/test_resume_ingest.py runs the real fleet.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa

from ai_services.resume_service.app import ResumeService
from ai_services.resume_service.ingest import finish_pending
from ai_services.resume_service.tables import resume_files, resumes
from looma_crm.client import CrmUnavailable, Resolved
from shared.config import LoomaSettings
from shared.database.outbox import outbox_events
from shared.service.problems import PROBLEM_JSON
from tests.harness import ServiceHarness, embedded_settings
from tests.tokens import TestIssuer

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHINESE = """张伟
男 | 1990年5月出生 | 汉族
电话：13800138000 | 邮箱：zhang.wei@example.com
现居：上海

工作经历
2019.03 - 至今  字节跳动  高级后端工程师
负责推荐系统后端，使用 Go 和 Kubernetes，接口延迟降低 40%。
2015.07 - 2019.02  阿里巴巴  Java 开发工程师
参与交易系统开发。

教育经历
2011.09 - 2015.06  清华大学  计算机科学与技术  本科

专业技能
熟练掌握 Java、Go、MySQL、Redis、Kafka。
"""

ENGLISH = """Priya Sharma
Senior Data Engineer - Infosys
Bengaluru, Karnataka
priya.sharma@example.com | +91 98765 43210

WORK EXPERIENCE
Senior Data Engineer
Infosys - Bengaluru, Karnataka
June 2018 to Present
Built Spark pipelines in Python; reduced batch time by 35%.

EDUCATION
B.Tech in Computer Science
Indian Institute of Technology Delhi
2014

SKILLS
Python (5 years), Apache Spark (4 years), SQL, AWS
"""


class FakeCrm:
    """The CRM's resolve: one talent per email (else per call), remembered per idempotency key."""

    def __init__(self) -> None:
        self.down = False
        self.calls: list[tuple[str, dict[str, Any], str]] = []
        self.by_key: dict[str, Resolved] = {}
        self.by_email: dict[tuple[str, str], str] = {}

    async def resolve(self, org_id: str, body: dict[str, Any], key: str) -> Resolved:
        if self.down:
            raise CrmUnavailable("the CRM could not be reached: connection refused")
        self.calls.append((org_id, body, key))
        if key in self.by_key:
            return self.by_key[key]
        email = (body.get("emails") or [None])[0]
        talent = self.by_email.get((org_id, email)) if email else None
        resolved = Resolved(talent or str(uuid.uuid4()), talent is None, "email" if talent else None, [])
        if email:
            self.by_email[(org_id, email)] = resolved.talent_id
        self.by_key[key] = resolved
        return resolved

    async def close(self) -> None:
        return None


class ResumeHarness(ServiceHarness):
    host = "resume.test"

    def __init__(self, settings: LoomaSettings) -> None:
        super().__init__(ResumeService(settings).create_app())
        self.issuer = TestIssuer()
        self.issuer.install(self.app)
        self.crm = FakeCrm()

    async def start(self) -> None:
        await super().start()
        self.app.ctx.crm = self.crm


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> LoomaSettings:
    return embedded_settings(tmp_path_factory.mktemp("resumes"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def harness(settings: LoomaSettings) -> Any:
    harness = ResumeHarness(settings)
    await harness.start()
    yield harness
    await harness.stop()


class Caller:
    def __init__(self, harness: ResumeHarness) -> None:
        self.harness = harness
        suffix = uuid.uuid4().hex[:8]
        self.orgs = {"a": f"org-a-{suffix}", "b": f"org-b-{suffix}"}

    async def request(self, method: str, path: str, org: str = "a", role: str = "recruiter",
                      **kwargs: Any) -> httpx.Response:
        token = self.harness.issuer.token(role=role, org=self.orgs[org])
        return await self.harness.send(method, path, token=token, **kwargs)

    async def upload(self, data: bytes, name: str = "resume.txt", key: str | None = None,
                     org: str = "a") -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else None
        return await self.request("POST", "/api/v1/resumes", org=org, files={"file": (name, data)}, headers=headers)

    async def counts(self) -> tuple[int, int]:
        data = self.harness.app.ctx.store
        async with data.relational.read() as conn:
            files = (await conn.execute(sa.select(sa.func.count()).select_from(resume_files).where(
                resume_files.c.org_id.in_(list(self.orgs.values()))))).scalar_one()
            rows = (await conn.execute(sa.select(sa.func.count()).select_from(resumes).where(
                resumes.c.org_id.in_(list(self.orgs.values()))))).scalar_one()
        return files, rows


@pytest.fixture
def api(harness: ResumeHarness) -> Caller:
    return Caller(harness)


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text[:1000]
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    if slug is not None:
        assert body["type"] == f"urn:looma:problem:{slug}", body
    return body


# --- parse -------------------------------------------------------------------------------------------


async def test_a_chinese_resume_parses_into_fields_with_evidence(api: Caller) -> None:
    response = await api.request("POST", "/api/v1/resumes/parse", json={"text": CHINESE})

    assert response.status_code == 200, response.text
    parsed = response.json()
    assert parsed["language"] == "zh" and parsed["name"] == "张伟"
    assert parsed["gender"] == "male" and parsed["birth_date"] == "1990-05" and parsed["ethnicity"] == "汉族"
    assert parsed["contacts"]["emails"] == ["zhang.wei@example.com"]
    assert parsed["contacts"]["phones"] == ["+8613800138000"]
    assert parsed["education"][0]["school"] == "清华大学" and parsed["education"][0]["degree"] == "本科"
    assert parsed["education"][0]["start"] == "2011-09" and parsed["education"][0]["end"] == "2015-06"
    current = parsed["experience"][0]
    assert current["company"] == "字节跳动" and current["current"] is True and current["start"] == "2019-03"
    assert any("40%" in line for line in current["achievements"])
    assert {"java", "go", "mysql", "redis"} <= {s["skill_id"] for s in parsed["skills"]}
    for skill in parsed["skills"]:
        evidence = skill["evidence"]
        assert CHINESE[evidence["start"]:evidence["end"]] == evidence["text"]
    for entity in parsed["entities"]:
        assert CHINESE[entity["start"]:entity["end"]] == entity["text"]
    assert parsed["years_of_experience"] and parsed["years_of_experience"] >= 7


async def test_an_english_resume_parses_with_skill_years(api: Caller) -> None:
    parsed = (await api.request("POST", "/api/v1/resumes/parse", json={"text": ENGLISH})).json()

    assert parsed["language"] == "en" and parsed["name"] == "Priya Sharma"
    assert parsed["contacts"]["phones"] == ["+919876543210"]
    assert parsed["gender"] is None and parsed["birth_date"] is None  # only when stated
    python = next(s for s in parsed["skills"] if s["skill_id"] == "python")
    assert python["years"] == 5.0


async def test_a_gbk_text_file_parses(api: Caller) -> None:
    response = await api.request("POST", "/api/v1/resumes/parse", files={"file": ("简历.txt", CHINESE.encode("gbk"))})

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "张伟"


@pytest.mark.parametrize(("request_kwargs", "status"), [
    ({"json": {"text": ""}}, 422),
    ({"json": {"text": 42}}, 422),
    ({"json": ["not", "an", "object"]}, 422),
    ({"content": b"{not json"}, 400),
    ({"files": {"file": ("empty.pdf", b"")}}, 422),
    ({"files": {"other": ("a.txt", b"hello")}}, 422),
    ({"data": {"text": "a form, not a file"}}, 415),
])
async def test_bad_parse_requests_are_refused(api: Caller, request_kwargs: dict[str, Any], status: int) -> None:
    assert_problem(await api.request("POST", "/api/v1/resumes/parse", **request_kwargs), status)


async def test_a_file_whose_content_is_not_its_extension_is_refused(api: Caller) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    problem = assert_problem(await api.request("POST", "/api/v1/resumes/parse",
                                               files={"file": ("resume.pdf", png)}), 415)
    assert problem["errors"][0]["loc"] == "body.file"


# --- ingest ------------------------------------------------------------------------------------------


async def test_ingest_stores_resolves_and_records_the_embedding_event(api: Caller, harness: ResumeHarness) -> None:
    response = await api.upload(CHINESE.encode(), "张伟.txt")

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["talent_id"] and body["talent_created"] is True and body["parsed"]["name"] == "张伟"
    org, sent, key = harness.crm.calls[-1]
    assert org == api.orgs["a"] and key == f"resume:{body['resume_id']}"
    assert sent["name"] == "张伟" and sent["emails"] == ["zhang.wei@example.com"] and sent["source"] == "resume"
    assert "gender" not in sent and "ethnicity" not in sent  # protected attributes stay with the resume
    async with harness.app.ctx.store.relational.read() as conn:
        event = (await conn.execute(sa.select(outbox_events).where(
            outbox_events.c.entity_id == body["resume_id"]))).mappings().one()
    assert event["payload"]["vectors"]["collection"] == "resume_chunks"
    assert event["payload"]["vectors"]["metadata"]["talent_id"] == body["talent_id"]

    stored = (await api.request("GET", f"/api/v1/resumes/{body['resume_id']}")).json()
    assert stored["talent_id"] == body["talent_id"] and stored["status"] == "linked"
    original = await api.request("GET", f"/api/v1/resumes/{body['resume_id']}/file")
    assert original.content == CHINESE.encode() and "attachment" in original.headers["content-disposition"]
    history = (await api.request("GET", "/api/v1/resumes", params={"talent_id": body["talent_id"]})).json()
    assert [item["resume_id"] for item in history["items"]] == [body["resume_id"]]


async def test_the_redacted_view_hides_who_the_person_is(api: Caller) -> None:
    ingested = (await api.upload(CHINESE.encode())).json()
    resume_id = ingested["resume_id"]

    view = (await api.request("GET", f"/api/v1/resumes/{resume_id}", params={"view": "redacted"})).json()["parsed"]

    assert view["name"] is None and view["contacts"] == {"emails": [], "phones": [], "links": []}
    assert "gender" not in view and "birth_date" not in view and "ethnicity" not in view
    for hidden in ("张伟", "13800138000", "zhang.wei@example.com", "汉族", "1990年5月", "男 |"):
        assert hidden not in view["text"], hidden
    assert "字节跳动" in view["text"] and len(view["text"]) == len(ingested["parsed"]["text"])
    assert {e["label"] for e in view["entities"]}.isdisjoint({"NAME", "EMAIL", "PHONE", "RACE", "CONT"})


async def test_a_retry_with_the_same_key_answers_the_same_resume(api: Caller, harness: ResumeHarness) -> None:
    key = uuid.uuid4().hex
    first = await api.upload(ENGLISH.encode(), "cv.txt", key=key)
    calls = len(harness.crm.calls)
    again = await api.upload(ENGLISH.encode(), "cv.txt", key=key)

    assert first.status_code == again.status_code == 201
    assert again.json()["resume_id"] == first.json()["resume_id"] and again.json()["replayed"] is True
    assert len(harness.crm.calls) == calls  # nothing sent to the CRM twice
    assert await api.counts() == (1, 1)


async def test_the_same_file_again_is_the_same_resume(api: Caller) -> None:
    first = (await api.upload(ENGLISH.encode(), "cv.txt")).json()
    again = await api.upload(ENGLISH.encode(), "copy of cv.txt")

    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["resume_id"] == first["resume_id"]
    assert await api.counts() == (1, 1)


async def test_a_crm_outage_keeps_the_resume_and_the_sweep_finishes_it(api: Caller, harness: ResumeHarness) -> None:
    harness.crm.down = True
    try:
        refused = await api.upload(CHINESE.replace("张伟", "李娜").encode(), "li.txt")
    finally:
        harness.crm.down = False
    problem = assert_problem(refused, 503, "crm-unavailable")
    resume_id = problem["errors"][0]["msg"]
    assert (await api.request("GET", f"/api/v1/resumes/{resume_id}")).json()["status"] == "stored"

    await finish_pending(harness.app.ctx.store, harness.crm)  # what the sweep does, without waiting
    async with harness.app.ctx.store.relational.write() as conn:
        await conn.execute(resumes.update().where(resumes.c.id == resume_id).values(created_at=0))
    assert await finish_pending(harness.app.ctx.store, harness.crm) >= 1
    linked = (await api.request("GET", f"/api/v1/resumes/{resume_id}")).json()
    assert linked["status"] == "linked" and linked["talent_id"]


@pytest.mark.parametrize(("name", "data", "status"), [
    ("empty.pdf", b"", 422),
    ("garbage.bin", bytes(range(256)) * 64, 415),
    ("resume.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog", 422),
    ("resume.docx", b"PK\x03\x04 not really a docx", 422),
])
async def test_bad_files_answer_4xx_and_store_nothing(api: Caller, name: str, data: bytes, status: int) -> None:
    response = await api.upload(data, name)

    assert response.status_code in (status, 415, 422), response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert await api.counts() == (0, 0)


async def test_another_orgs_resume_is_not_found(api: Caller) -> None:
    resume_id = (await api.upload(ENGLISH.encode())).json()["resume_id"]

    for path in (f"/api/v1/resumes/{resume_id}", f"/api/v1/resumes/{resume_id}/file"):
        assert_problem(await api.request("GET", path, org="b"), 404, "resume-not-found")


async def test_readers_cannot_ingest(api: Caller) -> None:
    response = await api.request("POST", "/api/v1/resumes", role="viewer", files={"file": ("a.txt", b"x")})
    assert response.status_code == 403


# --- batches -----------------------------------------------------------------------------------------


async def test_a_batch_reports_each_files_result(api: Caller) -> None:
    files = [("files", ("zh.txt", CHINESE.encode())), ("files", ("en.txt", ENGLISH.encode())),
             ("files", ("empty.txt", b""))]
    started = await api.request("POST", "/api/v1/resumes/batch", files=files)

    assert started.status_code == 202, started.text
    location = started.headers["location"]
    for _ in range(200):
        batch = (await api.request("GET", location)).json()
        if batch["status"] == "done":
            break
        await asyncio.sleep(0.05)
    assert batch["status"] == "done" and (batch["total"], batch["succeeded"], batch["failed"]) == (3, 2, 1)
    assert [item["status"] for item in batch["items"]] == ["done", "done", "failed"]
    assert batch["items"][2]["error"]["status"] == 422
    assert_problem(await api.request("GET", location, org="b"), 404, "batch-not-found")


async def test_a_zip_bomb_in_a_batch_is_413_and_nothing_is_spooled(api: Caller, harness: ResumeHarness) -> None:
    from tests.resume_files import zip_bomb

    response = await api.request("POST", "/api/v1/resumes/batch", files={"files": ("resumes.zip", zip_bomb())})

    problem = assert_problem(response, 413, "zip-bomb")
    assert problem["errors"][0]["loc"] == "body.file"
    spool = harness.app.ctx.settings.data_dir / "resume-spool"
    assert not spool.exists() or not any(spool.iterdir())
    assert await api.counts() == (0, 0)
