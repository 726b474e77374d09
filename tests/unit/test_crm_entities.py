"""The CRM core's common conventions, entity by entity: create, read, change, replace, delete, list.

Every entity (talents, companies, jobs, projects, applications, notes, relationships) follows the
same rules: 201 with `id` on top and an ETag, versions that grow and refuse a stale If-Match with
412, soft deletes, `{items, total, next_cursor}` lists with keyset cursors, and Idempotency-Key.

`CrmHarness` (also used by test_crm_talents.py, test_crm_pipeline.py and
tests/contract/test_crm_projections.py) runs the app's server listeners once, as a server process
does, then sends plain ASGI requests; `app.asgi_client` would run them around every request. One
app serves a whole module; each test (`Crm`) works in two orgs of its own, which tenant isolation
keeps apart from every other test's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from sanic import Sanic

from looma_crm.tables import metadata
from shared.config import LoomaSettings
from shared.database.schema import upgrade
from shared.service.problems import PROBLEM_JSON
from tests.harness import ServiceHarness
from tests.tokens import TestIssuer

Sanic.test_mode = True
pytestmark = pytest.mark.asyncio(loop_scope="module")

STACK_TRACE_MARKERS = ("Traceback", 'File "', "sqlalchemy", "sqlite3.", "asyncpg", "site-packages")


# --- the harness --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Who:
    """Someone calling: a role in one of the test's two orgs ("a" or "b")."""

    role: str = "recruiter"
    org: str = "a"
    subject: str = "user-recruiter-a"


RECRUITER = Who()
VIEWER = Who(role="viewer", subject="user-viewer-a")
OTHER_ORG = Who(org="b", subject="user-recruiter-b")
ANONYMOUS = None


def crm_settings(data_dir: Path, **overrides: Any) -> LoomaSettings:
    values: dict[str, Any] = {"_env_file": None, "data_dir": data_dir, "env": "test", "database_url": None,
                              "redis_url": None, "gateway_url": None, "log_level": "WARNING"}
    values.update(overrides)
    return LoomaSettings(**values)


class CrmHarness(ServiceHarness):
    """One CRM app with its listeners run once, as a server process runs them."""

    host = "crm.test"

    def __init__(self, settings: LoomaSettings) -> None:
        from looma_crm.app import CrmService

        super().__init__(CrmService(settings).create_app())
        self.settings = settings
        self.issuer = TestIssuer()
        self.issuer.install(self.app)
        self._tokens: dict[tuple[str, str, str], str] = {}

    def token(self, role: str, org: str, subject: str) -> str:
        key = (role, org, subject)
        if key not in self._tokens:
            self._tokens[key] = self.issuer.token(role=role, org=org, subject=subject)
        return self._tokens[key]


class Crm:
    """One test's view of a running CRM: two orgs of its own, and requests as someone in them.

    Orgs are isolated from each other, so tests sharing an app never see each other's entities.
    """

    def __init__(self, harness: CrmHarness) -> None:
        self.harness = harness
        suffix = uuid.uuid4().hex[:10]
        self.orgs = {"a": f"org-a-{suffix}", "b": f"org-b-{suffix}"}

    @property
    def app(self) -> Any:
        return self.harness.app

    @property
    def data(self) -> Any:
        return self.harness.app.ctx.store

    @property
    def org(self) -> str:
        return self.orgs["a"]

    async def request(self, method: str, path: str, *, who: Who | None = RECRUITER, json: Any = None,
                      content: bytes | str | None = None, headers: dict[str, str] | None = None,
                      params: dict[str, Any] | None = None) -> httpx.Response:
        token = None if who is None else self.harness.token(who.role, self.orgs[who.org], who.subject)
        return await self.harness.send(method, path, token=token, json=json, content=content, headers=headers,
                                       params=params)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)

    # --- shortcuts ------------------------------------------------------------------------------
    async def create(self, plural: str, body: dict[str, Any], who: Who = RECRUITER) -> dict[str, Any]:
        response = await self.post(f"/api/v1/{plural}", json=body, who=who)
        assert response.status_code == 201, response.text
        return response.json()

    async def talent(self, name: str = "张三", who: Who = RECRUITER, **fields: Any) -> dict[str, Any]:
        return await self.create("talents", {"name": name, **fields}, who=who)

    async def job(self, title: str = "后端工程师", who: Who = RECRUITER, **fields: Any) -> dict[str, Any]:
        return await self.create("jobs", {"title": title, "description": fields.pop("description", "负责服务端开发"),
                                          **fields}, who=who)

    async def application(self, talent_id: str, job_id: str, **fields: Any) -> dict[str, Any]:
        return await self.create("applications", {"talent_id": talent_id, "job_id": job_id, **fields})

    async def walk(self, plural: str, sort: str, limit: int, who: Who = RECRUITER,
                   **filters: Any) -> list[dict[str, Any]]:
        """Every item of a list, page by page through its cursors."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(1000):
            params = {"sort": sort, "limit": limit, **filters}
            if cursor:
                params["cursor"] = cursor
            response = await self.get(f"/api/v1/{plural}", params=params, who=who)
            assert response.status_code == 200, response.text
            page = response.json()
            assert len(page["items"]) <= limit
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return items
        raise AssertionError("the cursor never ended")


def assert_problem(response: httpx.Response, status: int, slug: str | None = None,
                   loc: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem of `status` (and `slug`, and an error at `loc`), with no server insides in it."""
    assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:looma:problem:")
    if slug is not None:
        assert body["type"] == f"urn:looma:problem:{slug}", body
    if loc is not None:
        assert loc in [e["loc"] for e in body.get("errors", [])], body
    assert not any(marker in response.text for marker in STACK_TRACE_MARKERS), response.text[:2000]
    return body


def assert_includes(actual: Any, expected: Any, where: str = "") -> None:
    """`actual` says at least what `expected` says: objects may have more keys, the rest is equal."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        for key, value in expected.items():
            assert key in actual, f"{where}.{key}"
            assert_includes(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_includes(a, e, f"{where}.{index}")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


@pytest.fixture(scope="module")
def crm_settings_migrated(tmp_path_factory: pytest.TempPathFactory) -> LoomaSettings:
    """Embedded stores in a directory of the module's own, the schema migrated."""
    settings = crm_settings(tmp_path_factory.mktemp("crm"))
    upgrade(settings.sqlalchemy_url)
    return settings


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def crm_app(crm_settings_migrated: LoomaSettings) -> AsyncIterator[CrmHarness]:
    """One started app per test module (starting one costs about a second)."""
    harness = CrmHarness(crm_settings_migrated)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


@pytest.fixture
def crm(crm_app: CrmHarness) -> Crm:
    return Crm(crm_app)


# --- one valid body per entity, with what it points at created first --------------------------

Maker = Callable[[Crm, int], Awaitable[dict[str, Any]]]


async def _talent_body(crm: Crm, i: int) -> dict[str, Any]:
    return {"name": f"Talent {i % 7}", "current_title": "Engineer", "years_of_experience": i}


async def _company_body(crm: Crm, i: int) -> dict[str, Any]:
    return {"name": f"Company {i % 5}", "industry": "Software"}


async def _job_body(crm: Crm, i: int) -> dict[str, Any]:
    return {"title": f"Job {i}", "description": "Build the backend", "requirements": {"skills": []}}


async def _project_body(crm: Crm, i: int) -> dict[str, Any]:
    return {"name": f"Project {i % 4}", "description": "A sourcing project"}


async def _application_body(crm: Crm, i: int) -> dict[str, Any]:
    talent = await crm.talent(f"Applicant {i}")
    job = await crm.job(f"Job for {i}", requirements={"skills": []})
    return {"talent_id": talent["id"], "job_id": job["id"], "source": "linkedin"}


async def _note_body(crm: Crm, i: int) -> dict[str, Any]:
    talent = await crm.talent(f"Noted {i}")
    return {"subject_type": "talent", "subject_id": talent["id"], "kind": "call", "body": f"called {i}"}


async def _relationship_body(crm: Crm, i: int) -> dict[str, Any]:
    source = await crm.talent(f"Source {i}")
    target = await crm.talent(f"Target {i}")
    return {"source_id": source["id"], "target_id": target["id"], "type": "colleague", "strength": 0.5}


@dataclass(frozen=True)
class EntityCase:
    plural: str
    make: Maker
    patch: dict[str, Any]  # a change a PATCH may make
    named: bool  # sortable by name


CASES = {
    "talents": EntityCase("talents", _talent_body, {"current_title": "Staff Engineer"}, True),
    "companies": EntityCase("companies", _company_body, {"industry": "Fintech"}, True),
    "jobs": EntityCase("jobs", _job_body, {"status": "paused"}, False),
    "projects": EntityCase("projects", _project_body, {"status": "closed"}, True),
    "applications": EntityCase("applications", _application_body, {"source": "referral"}, False),
    "notes": EntityCase("notes", _note_body, {"body": "called again"}, False),
    "relationships": EntityCase("relationships", _relationship_body, {"strength": 0.9}, False),
}
ENTITIES = pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
NAMED = pytest.mark.parametrize("case", [c for c in CASES.values() if c.named], ids=[k for k, c in CASES.items()
                                                                                      if c.named])
SPINE = ("id", "created_at", "updated_at", "version")


# --- create and read ----------------------------------------------------------------------------


@ENTITIES
async def test_create_answers_201_with_id_on_top_timestamps_version_1_and_an_etag(
        crm: Crm, case: EntityCase) -> None:
    body = await case.make(crm, 1)

    response = await crm.post(f"/api/v1/{case.plural}", json=body)

    assert response.status_code == 201, response.text
    created = response.json()
    assert all(created.get(name) is not None for name in SPINE), created
    uuid.UUID(created["id"])
    assert created["version"] == 1
    assert created["created_at"] == created["updated_at"]
    assert created["created_at"].endswith("Z")
    assert response.headers["etag"] == '"1"'
    assert_includes(created, body)


@ENTITIES
async def test_read_answers_the_entity_with_its_etag(crm: Crm, case: EntityCase) -> None:
    created = await crm.create(case.plural, await case.make(crm, 1))

    response = await crm.get(f"/api/v1/{case.plural}/{created['id']}")

    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    assert response.json() == created


@ENTITIES
async def test_an_unknown_id_is_404(crm: Crm, case: EntityCase) -> None:
    response = await crm.get(f"/api/v1/{case.plural}/{uuid.uuid4()}")

    assert_problem(response, 404)


@ENTITIES
async def test_another_orgs_entity_is_404_for_every_verb(crm: Crm, case: EntityCase) -> None:
    created = await crm.create(case.plural, await case.make(crm, 1))
    path = f"/api/v1/{case.plural}/{created['id']}"

    assert_problem(await crm.get(path, who=OTHER_ORG), 404)
    assert_problem(await crm.patch(path, json=case.patch, who=OTHER_ORG), 404)
    assert_problem(await crm.delete(path, who=OTHER_ORG), 404)
    listed = (await crm.get(f"/api/v1/{case.plural}", who=OTHER_ORG)).json()
    assert listed == {"items": [], "total": 0, "next_cursor": None}
    assert (await crm.get(path)).json()["version"] == 1


# --- change, replace, delete --------------------------------------------------------------------


@ENTITIES
async def test_patch_with_the_current_etag_changes_and_moves_the_version_on(
        crm: Crm, case: EntityCase) -> None:
    created = await crm.create(case.plural, await case.make(crm, 1))
    path = f"/api/v1/{case.plural}/{created['id']}"

    response = await crm.patch(path, json=case.patch, headers={"If-Match": '"1"'})

    assert response.status_code == 200, response.text
    changed = response.json()
    assert response.headers["etag"] == '"2"'
    assert changed["version"] == 2
    assert changed["created_at"] == created["created_at"]
    assert changed["updated_at"] >= created["updated_at"]
    for name, value in case.patch.items():
        assert changed[name] == value
    untouched = {k: v for k, v in created.items() if k not in (*case.patch, "version", "updated_at")}
    assert {k: changed[k] for k in untouched} == untouched
    again = await crm.get(path)
    assert again.json() == changed and again.headers["etag"] == '"2"'


@ENTITIES
async def test_a_stale_if_match_is_refused_with_412_and_changes_nothing(crm: Crm, case: EntityCase) -> None:
    body = await case.make(crm, 1)
    created = await crm.create(case.plural, body)
    path = f"/api/v1/{case.plural}/{created['id']}"
    assert (await crm.patch(path, json=case.patch, headers={"If-Match": '"1"'})).status_code == 200

    stale = await crm.patch(path, json=case.patch, headers={"If-Match": '"1"'})

    assert_problem(stale, 412, "version-mismatch")
    assert_problem(await crm.put(path, json=body, headers={"If-Match": '"1"'}), 412, "version-mismatch")
    assert_problem(await crm.delete(path, headers={"If-Match": '"1"'}), 412, "version-mismatch")
    assert_problem(await crm.patch(path, json=case.patch, headers={"If-Match": "yesterday"}), 412,
                   "version-mismatch")
    current = await crm.get(path)
    assert current.json()["version"] == 2


@ENTITIES
async def test_patch_without_if_match_is_accepted_and_each_change_is_a_version(
        crm: Crm, case: EntityCase) -> None:
    created = await crm.create(case.plural, await case.make(crm, 1))
    path = f"/api/v1/{case.plural}/{created['id']}"

    first = await crm.patch(path, json=case.patch)
    second = await crm.patch(path, json=case.patch)

    assert (first.status_code, second.status_code) == (200, 200), second.text
    assert (first.json()["version"], second.json()["version"]) == (2, 3)
    assert second.headers["etag"] == '"3"'
    assert (await crm.patch(path, json=case.patch, headers={"If-Match": '"3"'})).json()["version"] == 4


@ENTITIES
async def test_patch_refuses_what_a_create_would_refuse(crm: Crm, case: EntityCase) -> None:
    created = await crm.create(case.plural, await case.make(crm, 1))
    path = f"/api/v1/{case.plural}/{created['id']}"

    unknown = await crm.patch(path, json={"no_such_field": 1})
    spine = await crm.patch(path, json={"version": 7})

    assert_problem(unknown, 422, "validation-failed", loc="body.no_such_field")
    assert_problem(spine, 422, "validation-failed", loc="body.version")
    assert (await crm.get(path)).json()["version"] == 1


async def test_put_replaces_the_whole_entity(crm: Crm) -> None:
    created = await crm.talent("王五", current_title="后端工程师", tags=["java"], emails=["wang@example.com"])
    path = f"/api/v1/talents/{created['id']}"

    response = await crm.put(path, json={"name": "王五", "summary": "换了方向"}, headers={"If-Match": '"1"'})

    assert response.status_code == 200, response.text
    replaced = response.json()
    assert replaced["version"] == 2 and response.headers["etag"] == '"2"'
    assert replaced["id"] == created["id"] and replaced["created_at"] == created["created_at"]
    assert replaced["summary"] == "换了方向"
    assert (replaced["current_title"], replaced["tags"], replaced["emails"]) == (None, [], [])


@ENTITIES
async def test_put_replaces_every_entity_and_moves_the_version_on(crm: Crm, case: EntityCase) -> None:
    body = await case.make(crm, 1)
    created = await crm.create(case.plural, body)
    path = f"/api/v1/{case.plural}/{created['id']}"

    response = await crm.put(path, json={**body, **case.patch})

    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    assert_includes(response.json(), {**body, **case.patch})


async def test_put_refuses_a_partial_body(crm: Crm) -> None:
    company = await crm.create("companies", {"name": "Acme", "industry": "Software"})

    response = await crm.put(f"/api/v1/companies/{company['id']}", json={"industry": "Fintech"})

    assert_problem(response, 422, "validation-failed", loc="body.name")


@ENTITIES
async def test_delete_is_soft_the_entity_disappears_from_reads_and_lists(crm: Crm, case: EntityCase) -> None:
    kept = await crm.create(case.plural, await case.make(crm, 1))
    gone = await crm.create(case.plural, await case.make(crm, 2))
    path = f"/api/v1/{case.plural}/{gone['id']}"

    response = await crm.delete(path, headers={"If-Match": '"1"'})

    assert response.status_code == 204, response.text
    assert_problem(await crm.get(path), 404)
    assert_problem(await crm.patch(path, json=case.patch), 404)
    assert_problem(await crm.delete(path), 404)
    listed = (await crm.get(f"/api/v1/{case.plural}")).json()
    assert [item["id"] for item in listed["items"]] == [kept["id"]]
    assert listed["total"] == 1
    # Soft: the row is still there, marked.
    table = metadata.tables[f"crm_{case.plural}"]
    async with crm.data.relational.read() as conn:
        row = (await conn.execute(sa.select(table.c.deleted_at, table.c.version).where(table.c.id == gone["id"]))).one()
    assert row.deleted_at is not None and row.version == 2


# --- lists --------------------------------------------------------------------------------------


@ENTITIES
async def test_lists_answer_items_total_and_a_cursor_with_20_by_default(crm: Crm, case: EntityCase) -> None:
    created = [await crm.create(case.plural, await case.make(crm, i)) for i in range(23)]

    response = await crm.get(f"/api/v1/{case.plural}")

    assert response.status_code == 200, response.text
    page = response.json()
    assert set(page) == {"items", "total", "next_cursor"}
    assert page["total"] == 23
    assert len(page["items"]) == 20
    assert isinstance(page["next_cursor"], str)
    # The default order is newest first.
    assert [item["id"] for item in page["items"]] == [c["id"] for c in reversed(created)][:20]
    rest = (await crm.get(f"/api/v1/{case.plural}", params={"cursor": page["next_cursor"]})).json()
    assert [item["id"] for item in rest["items"]] == [c["id"] for c in reversed(created)][20:]
    assert rest["next_cursor"] is None and rest["total"] == 23


@ENTITIES
async def test_limit_is_1_to_200(crm: Crm, case: EntityCase) -> None:
    await crm.create(case.plural, await case.make(crm, 1))
    path = f"/api/v1/{case.plural}"

    assert (await crm.get(path, params={"limit": 200})).status_code == 200
    assert len((await crm.get(path, params={"limit": 1})).json()["items"]) == 1
    for bad in ("201", "0", "-1", "ten", "1.5"):
        assert_problem(await crm.get(path, params={"limit": bad}), 400, "invalid-parameter", loc="query.limit")


@ENTITIES
async def test_an_unknown_sort_field_is_400(crm: Crm, case: EntityCase) -> None:
    for sort in ("password", "-data", "org_id"):
        response = await crm.get(f"/api/v1/{case.plural}", params={"sort": sort})

        assert_problem(response, 400, "invalid-parameter", loc="query.sort")


@ENTITIES
async def test_a_cursor_walks_every_item_exactly_once_newest_first(crm: Crm, case: EntityCase) -> None:
    created = [await crm.create(case.plural, await case.make(crm, i)) for i in range(11)]

    walked = await crm.walk(case.plural, "-created_at", limit=3)

    assert [item["id"] for item in walked] == [c["id"] for c in reversed(created)]


@ENTITIES
async def test_a_cursor_walks_every_item_exactly_once_oldest_first(crm: Crm, case: EntityCase) -> None:
    created = [await crm.create(case.plural, await case.make(crm, i)) for i in range(8)]

    walked = await crm.walk(case.plural, "created_at", limit=3)

    assert [item["id"] for item in walked] == [c["id"] for c in created]


@NAMED
async def test_a_cursor_walks_every_item_exactly_once_by_name_with_ties(crm: Crm, case: EntityCase) -> None:
    # The makers repeat names (i % n), so several items share each name.
    created = [await crm.create(case.plural, await case.make(crm, i)) for i in range(13)]

    ascending = await crm.walk(case.plural, "name", limit=4)
    descending = await crm.walk(case.plural, "-name", limit=4)

    expected = sorted(created, key=lambda c: (c["name"].casefold(), c["id"]))
    assert [item["id"] for item in ascending] == [c["id"] for c in expected]
    assert sorted(item["id"] for item in descending) == sorted(c["id"] for c in created)
    assert [item["name"] for item in descending] == [c["name"] for c in reversed(expected)]


async def test_a_cursor_walks_talents_by_years_with_the_unknown_last(crm: Crm) -> None:
    years = [5, None, 3, 5, None, 10, 0, 3, None, 7]
    created = [await crm.talent(f"T{i}", **({} if y is None else {"years_of_experience": y}))
               for i, y in enumerate(years)]

    ascending = await crm.walk("talents", "years_of_experience", limit=3)
    descending = await crm.walk("talents", "-years_of_experience", limit=2)

    assert len(ascending) == len(descending) == len(created)
    assert len({t["id"] for t in ascending}) == len(created)
    assert len({t["id"] for t in descending}) == len(created)
    known = [t["years_of_experience"] for t in ascending if t["years_of_experience"] is not None]
    assert known == sorted(y for y in years if y is not None)
    assert [t["years_of_experience"] for t in ascending][-3:] == [None, None, None]
    assert [t["years_of_experience"] for t in descending][:7] == sorted((y for y in years if y is not None),
                                                                       reverse=True)
    assert [t["years_of_experience"] for t in descending][-3:] == [None, None, None]


async def test_a_cursor_stays_valid_while_items_are_added(crm: Crm) -> None:
    created = [await crm.talent(f"T{i}") for i in range(6)]
    first = (await crm.get("/api/v1/talents", params={"sort": "created_at", "limit": 3})).json()

    newer = await crm.talent("T-new")
    rest = (await crm.get("/api/v1/talents", params={"sort": "created_at", "limit": 10,
                                                     "cursor": first["next_cursor"]})).json()

    assert [t["id"] for t in first["items"] + rest["items"]] == [c["id"] for c in created] + [newer["id"]]


async def test_a_cursor_of_another_sort_or_made_up_is_400(crm: Crm) -> None:
    for i in range(3):
        await crm.talent(f"T{i}")
    cursor = (await crm.get("/api/v1/talents", params={"limit": 1, "sort": "name"})).json()["next_cursor"]

    other_sort = await crm.get("/api/v1/talents", params={"limit": 1, "sort": "-created_at", "cursor": cursor})
    made_up = await crm.get("/api/v1/talents", params={"limit": 1, "cursor": "not-a-cursor!"})

    assert_problem(other_sort, 400, "invalid-cursor", loc="query.cursor")
    assert_problem(made_up, 400, "invalid-cursor", loc="query.cursor")


# --- idempotency --------------------------------------------------------------------------------


@ENTITIES
async def test_an_idempotency_key_makes_a_retried_create_answer_the_same_entity(
        crm: Crm, case: EntityCase) -> None:
    body = await case.make(crm, 1)
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}

    first = await crm.post(f"/api/v1/{case.plural}", json=body, headers=key)
    retry = await crm.post(f"/api/v1/{case.plural}", json=body, headers=key)
    other = await crm.post(f"/api/v1/{case.plural}", json=await case.make(crm, 2),
                           headers={"Idempotency-Key": f"other-{uuid.uuid4()}"})

    assert first.status_code == 201, first.text
    assert retry.status_code == 201, retry.text
    assert retry.json() == first.json()
    assert retry.headers["etag"] == first.headers["etag"]
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert (await crm.get(f"/api/v1/{case.plural}")).json()["total"] == 2


async def test_a_retry_sent_while_the_first_create_is_running_never_makes_a_second_entity_or_a_404(
        crm: Crm) -> None:
    for attempt in range(5):
        key = {"Idempotency-Key": f"impatient-{uuid.uuid4()}"}
        body = {"name": f"张三{attempt}", "emails": ["zhang@example.com"]}

        first, retry = await asyncio.gather(crm.post("/api/v1/talents", json=body, headers=key),
                                            crm.post("/api/v1/talents", json=body, headers=key))

        assert first.status_code == 201, first.text
        assert retry.status_code in (201, 409), retry.text  # the same entity, or "still in progress: retry"
        if retry.status_code == 201:
            assert retry.json()["id"] == first.json()["id"]
    assert (await crm.get("/api/v1/talents")).json()["total"] == 5


async def test_an_idempotency_key_is_the_orgs_own(crm: Crm) -> None:
    key = {"Idempotency-Key": "shared-key"}

    mine = await crm.post("/api/v1/talents", json={"name": "甲"}, headers=key)
    theirs = await crm.post("/api/v1/talents", json={"name": "乙"}, headers=key, who=OTHER_ORG)

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["name"] == "乙"


async def test_a_create_that_failed_does_not_hold_its_idempotency_key(crm: Crm) -> None:
    key = {"Idempotency-Key": "first-try-failed"}

    failed = await crm.post("/api/v1/jobs", json={"title": "x", "description": "y", "company_id": "nope"},
                            headers=key)
    retried = await crm.post("/api/v1/jobs", json={"title": "x", "description": "y"}, headers=key)

    assert_problem(failed, 404, loc="body.company_id")
    assert retried.status_code == 201, retried.text
    assert (await crm.get("/api/v1/jobs")).json()["total"] == 1


async def test_an_overlong_idempotency_key_is_400(crm: Crm) -> None:
    response = await crm.post("/api/v1/companies", json={"name": "Acme"}, headers={"Idempotency-Key": "k" * 201})

    assert_problem(response, 400)
    assert (await crm.get("/api/v1/companies")).json()["total"] == 0


# --- input that is not an entity ----------------------------------------------------------------


@ENTITIES
async def test_malformed_json_is_400_and_a_non_object_is_422(crm: Crm, case: EntityCase) -> None:
    malformed = await crm.post(f"/api/v1/{case.plural}", content=b'{"name": ')
    listed = await crm.post(f"/api/v1/{case.plural}", json=[1, 2])
    plain = await crm.post(f"/api/v1/{case.plural}", content=b"{}", headers={"Content-Type": "text/plain"})

    assert_problem(malformed, 400, "malformed-json")
    assert_problem(listed, 422)
    assert_problem(plain, 415)
    assert (await crm.get(f"/api/v1/{case.plural}")).json()["total"] == 0


@ENTITIES
async def test_unknown_fields_are_422_naming_them(crm: Crm, case: EntityCase) -> None:
    body = {**await case.make(crm, 1), "favourite_colour": "blue"}

    response = await crm.post(f"/api/v1/{case.plural}", json=body)

    assert_problem(response, 422, "validation-failed", loc="body.favourite_colour")


@ENTITIES
async def test_client_supplied_spine_fields_are_refused(crm: Crm, case: EntityCase) -> None:
    body = {**await case.make(crm, 1), "id": "chosen-by-client"}

    response = await crm.post(f"/api/v1/{case.plural}", json=body)

    assert_problem(response, 422, "validation-failed", loc="body.id")


@pytest.mark.parametrize(("plural", "body", "loc"), [
    ("companies", {"name": 42}, "body.name"),
    ("companies", {"name": "Acme", "tags": "one"}, "body.tags"),
    ("companies", {"name": "Acme", "website": "ftp://acme"}, "body.website"),
    ("jobs", {"title": "x", "description": "y", "headcount": "many"}, "body.headcount"),
    ("jobs", {"title": "x", "description": "y", "status": "archived"}, "body.status"),
    ("jobs", {"title": "x", "description": "y", "remote": "perhaps"}, "body.remote"),
    ("jobs", {"title": "x", "description": " "}, "body.description"),
    ("jobs", {"title": "x", "description": "y", "salary": {"min": 30000, "max": 20000}}, "body.salary"),
    ("jobs", {"title": "x", "description": "y", "requirements": {"min_years": 8, "max_years": 3}},
     "body.requirements"),
    ("projects", {"name": ""}, "body.name"),
    ("projects", {"name": "p", "status": 3}, "body.status"),
    ("notes", {"subject_type": "company", "subject_id": "x", "body": "hi"}, "body.subject_type"),
    ("relationships", {"source_id": "a", "target_id": "b", "type": "colleague", "strength": 2}, "body.strength"),
    ("relationships", {"source_id": "a", "target_id": "b", "type": "enemy"}, "body.type"),
])
async def test_wrong_types_and_values_are_422_naming_the_field(crm: Crm, plural: str, body: dict[str, Any],
                                                                loc: str) -> None:
    response = await crm.post(f"/api/v1/{plural}", json=body)

    assert_problem(response, 422, "validation-failed", loc=loc)


# --- references to other entities ---------------------------------------------------------------


async def test_a_job_at_another_orgs_company_is_404_naming_company_id(crm: Crm) -> None:
    theirs = await crm.create("companies", {"name": "Their Co"}, who=OTHER_ORG)
    mine = await crm.create("companies", {"name": "My Co"})

    refused = await crm.post("/api/v1/jobs", json={"title": "x", "description": "y", "company_id": theirs["id"]})
    accepted = await crm.post("/api/v1/jobs", json={"title": "x", "description": "y", "company_id": mine["id"]})

    assert_problem(refused, 404, loc="body.company_id")
    assert accepted.status_code == 201, accepted.text
    job = accepted.json()
    moved = await crm.patch(f"/api/v1/jobs/{job['id']}", json={"company_id": theirs["id"]})
    assert_problem(moved, 404, loc="body.company_id")
    assert (await crm.get(f"/api/v1/jobs/{job['id']}")).json()["company_id"] == mine["id"]


async def test_a_job_at_a_deleted_company_is_404(crm: Crm) -> None:
    company = await crm.create("companies", {"name": "Gone Co"})
    await crm.delete(f"/api/v1/companies/{company['id']}")

    response = await crm.post("/api/v1/jobs", json={"title": "x", "description": "y", "company_id": company["id"]})

    assert_problem(response, 404, loc="body.company_id")


async def test_notes_relationships_and_projects_refuse_another_orgs_talents(crm: Crm) -> None:
    mine = await crm.talent("甲")
    theirs = await crm.talent("乙", who=OTHER_ORG)

    note = await crm.post("/api/v1/notes", json={"subject_type": "talent", "subject_id": theirs["id"], "body": "x"})
    app_note = await crm.post("/api/v1/notes", json={"subject_type": "application", "subject_id": mine["id"],
                                                     "body": "x"})
    link = await crm.post("/api/v1/relationships", json={"source_id": mine["id"], "target_id": theirs["id"],
                                                         "type": "friend"})
    project = await crm.post("/api/v1/projects", json={"name": "p", "members": [{"talent_id": mine["id"]},
                                                                                {"talent_id": theirs["id"]}]})

    assert_problem(note, 404, loc="body.subject_id")
    assert_problem(app_note, 404, loc="body.subject_id")
    assert_problem(link, 404, loc="body.target_id")
    assert_problem(project, 404, loc="body.members.1.talent_id")


async def test_a_relationship_joins_two_different_talents_once_per_type(crm: Crm) -> None:
    a, b = await crm.talent("甲"), await crm.talent("乙")

    itself = await crm.post("/api/v1/relationships", json={"source_id": a["id"], "target_id": a["id"],
                                                           "type": "friend"})
    first = await crm.post("/api/v1/relationships", json={"source_id": a["id"], "target_id": b["id"],
                                                          "type": "friend"})
    again = await crm.post("/api/v1/relationships", json={"source_id": a["id"], "target_id": b["id"],
                                                          "type": "friend"})
    other_type = await crm.post("/api/v1/relationships", json={"source_id": a["id"], "target_id": b["id"],
                                                               "type": "mentor"})

    assert_problem(itself, 422, "validation-failed")
    assert first.status_code == 201
    assert_problem(again, 409)
    assert other_type.status_code == 201
    listed = (await crm.get("/api/v1/relationships", params={"talent_id": b["id"]})).json()
    assert listed["total"] == 2


# --- who may do what ----------------------------------------------------------------------------


@ENTITIES
async def test_a_viewer_reads_but_cannot_write(crm: Crm, case: EntityCase) -> None:
    body = await case.make(crm, 1)
    created = await crm.create(case.plural, body)
    path = f"/api/v1/{case.plural}/{created['id']}"

    assert (await crm.get(path, who=VIEWER)).status_code == 200
    assert (await crm.get(f"/api/v1/{case.plural}", who=VIEWER)).json()["total"] == 1
    assert_problem(await crm.post(f"/api/v1/{case.plural}", json=await case.make(crm, 2), who=VIEWER), 403,
                   "permission-denied")
    assert_problem(await crm.patch(path, json=case.patch, who=VIEWER), 403, "permission-denied")
    assert_problem(await crm.put(path, json=body, who=VIEWER), 403, "permission-denied")
    assert_problem(await crm.delete(path, who=VIEWER), 403, "permission-denied")
    assert (await crm.get(path)).json() == created


@ENTITIES
async def test_no_token_is_401(crm: Crm, case: EntityCase) -> None:
    created = await crm.create(case.plural, await case.make(crm, 1))
    path = f"/api/v1/{case.plural}/{created['id']}"

    for response in (await crm.get(f"/api/v1/{case.plural}", who=ANONYMOUS), await crm.get(path, who=ANONYMOUS),
                     await crm.post(f"/api/v1/{case.plural}", json={}, who=ANONYMOUS),
                     await crm.patch(path, json=case.patch, who=ANONYMOUS),
                     await crm.delete(path, who=ANONYMOUS)):
        assert_problem(response, 401)
    assert (await crm.get(path)).json()["version"] == 1


async def test_the_extra_routes_need_their_permissions(crm: Crm) -> None:
    talent = await crm.talent("甲")
    job = await crm.job()
    application = await crm.application(talent["id"], job["id"])
    company = await crm.create("companies", {"name": "Acme"})
    reads = [f"/api/v1/talents/{talent['id']}/duplicates", f"/api/v1/talents/{talent['id']}/network",
             f"/api/v1/companies/{company['id']}/contacts", f"/api/v1/jobs/{job['id']}/pipeline",
             f"/api/v1/applications/{application['id']}/history", "/api/v1/stats/pipeline", "/api/v1/stats/jobs"]

    for path in reads:
        assert (await crm.get(path, who=VIEWER)).status_code == 200, path
        assert_problem(await crm.get(path, who=ANONYMOUS), 401)
    assert_problem(await crm.post(f"/api/v1/applications/{application['id']}/stage", json={"stage": "screening"},
                                  who=VIEWER), 403, "permission-denied")
    assert_problem(await crm.post(f"/api/v1/talents/{talent['id']}/merge",
                                  json={"duplicate_ids": [str(uuid.uuid4())]}, who=VIEWER), 403, "permission-denied")
    assert (await crm.get(f"/api/v1/applications/{application['id']}")).json()["stage"] == "sourced"
