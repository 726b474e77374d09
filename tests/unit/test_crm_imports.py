"""CSV export and import of talents and jobs, through the CRM's HTTP API (ASGI client, SQLite)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sanic_testing.testing import TestingResponse as SanicResponse  # aliased: pytest would collect "Test*"

from looma_crm import csv_io, imports
from looma_crm.app import CrmService
from shared.config import LoomaSettings
from shared.database import UnifiedDataAccess
from shared.database.schema import upgrade
from shared.service import LoomaApp
from tests.tokens import AuthorizedClient, TestIssuer, bearer

ISSUER = TestIssuer()
RECRUITER_A = ISSUER.token(role="recruiter", org="org-a")
RECRUITER_B = ISSUER.token(role="recruiter", org="org-b")
VIEWER_A = ISSUER.token(role="viewer", org="org-a")
CSV = {"content-type": "text/csv"}


@pytest.fixture
def settings(tmp_path: Path) -> LoomaSettings:
    # Explicit Nones so a developer's LOOMA_* environment cannot point the test at real servers.
    settings = LoomaSettings(_env_file=None, data_dir=tmp_path, env="test",  # type: ignore[call-arg]
                             database_url=None, redis_url=None, gateway_url=None)
    upgrade(settings.sqlalchemy_url)  # runs its own event loop: not inside an async fixture
    return settings


@pytest.fixture
async def app(settings: LoomaSettings) -> AsyncIterator[LoomaApp]:
    app = CrmService(settings).create_app()
    ISSUER.install(app)
    opened: list[UnifiedDataAccess] = []

    @app.before_server_start(priority=0)  # after the service opened its stores
    async def remember(app: LoomaApp) -> None:
        opened.append(app.ctx.store)

    yield app
    # The ASGI client opens and closes the stores around every request, while an import job keeps
    # using those of the request that started it. A test that fails mid-job must not leave the
    # job's SQLite threads running: the interpreter would wait for them at exit.
    running = [task for task in app.tasks if not task.done()]
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    for data in opened:
        await data.close()


@pytest.fixture
def client(app: LoomaApp) -> AuthorizedClient:
    """A recruiter of org-a."""
    return AuthorizedClient(app.asgi_client, RECRUITER_A)


async def import_csv(client: Any, kind: str, body: str | bytes, headers: dict[str, str] | None = None,
                     **params: str) -> SanicResponse:
    query = "&".join([f"kind={kind}", *(f"{k}={v}" for k, v in params.items())])
    content = body.encode("utf-8") if isinstance(body, str) else body
    _, response = await client.post(f"/api/v1/imports?{query}", content=content, headers=headers or CSV)
    return response


async def total(client: Any, plural: str, token: str = RECRUITER_A) -> int:
    _, response = await client.get(f"/api/v1/{plural}", headers=bearer(token))
    assert response.status == 200, response.text
    return response.json["total"]


def problem(response: SanicResponse, status: int, slug: str) -> dict[str, Any]:
    assert response.status == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json["type"] == f"urn:looma:problem:{slug}"
    return response.json


def table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


TALENTS = [
    {"name": "张伟", "emails": ["zhang.wei@example.cn"], "phones": ["13800138000"], "location": "北京",
     "current_title": "后端工程师", "current_company": "字节跳动", "years_of_experience": 6,
     "skills": [{"name": "Python"}, {"name": "分布式系统"}], "languages": ["中文", "English"],
     "tags": ["后端", "p7"], "expected_salary": {"min": 40000, "max": 55000, "currency": "CNY", "period": "month"},
     "experience": [{"company": "字节跳动", "title": "后端工程师", "start": "2019-03", "end": "present",
                     "description": "推荐系统, \"high\" traffic; 日活过亿"}],
     "education": [{"school": "清华大学", "degree": "硕士", "major": "计算机", "start": "2015", "end": "2018"}],
     "summary": "多行\n简介, with a comma", "custom": {"referrer": "李娜"}},
    {"name": "Alice O'Neil", "emails": ["alice@example.com", "a.oneil@example.org"], "links": ["https://alice.dev"],
     "location": "Shanghai", "job_status": "open", "source": "=HYPERLINK(\"x\")", "tags": ["-frontend"]},
    {"name": "Bob"},
]


async def seed_talents(client: Any) -> None:
    for talent in TALENTS:
        _, response = await client.post("/api/v1/talents", json=talent)
        assert response.status == 201, response.text


async def export(client: Any, plural: str, token: str = RECRUITER_A) -> SanicResponse:
    _, response = await client.get(f"/api/v1/{plural}/export.csv", headers=bearer(token))
    assert response.status == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    return response


def without_spine(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(({k: v for k, v in row.items() if k not in ("id", "created_at", "updated_at")} for row in rows),
                  key=lambda row: row["name" if "name" in row else "title"])


# --- export and round trip ----------------------------------------------------------------------


async def test_talents_survive_an_export_and_an_import_into_another_org(client: AuthorizedClient) -> None:
    await seed_talents(client)

    exported = await export(client, "talents")
    rows = table(exported.text)
    response = await import_csv(client, "talents", exported.content, headers={**CSV, **bearer(RECRUITER_B)})

    assert response.status == 201, response.text
    assert response.json["imported"] == len(TALENTS) and response.json["errors"] == []
    assert [w["msg"] for w in response.json["warnings"]] == [
        "written by exports, ignored by imports: an import creates new talents"]
    assert await total(client, "talents", RECRUITER_B) == await total(client, "talents") == len(TALENTS)
    assert {row["name"] for row in rows} == {"张伟", "Alice O'Neil", "Bob"}
    again = table((await export(client, "talents", RECRUITER_B)).text)
    assert without_spine(again) == without_spine(rows)


async def test_export_columns_lists_and_formula_cells(client: AuthorizedClient) -> None:
    await seed_talents(client)

    rows = {row["name"]: row for row in table((await export(client, "talents")).text)}

    assert list(rows["Bob"]) == list(csv_io.TALENTS.columns)
    zhang, alice = rows["张伟"], rows["Alice O'Neil"]
    assert zhang["phones"] == "'+8613800138000"  # shown as text by a spreadsheet, not as a number
    assert zhang["skills"].startswith("Python; ") and len(zhang["skills"].split("; ")) == 2
    assert zhang["expected_salary_min"] == "40000" and zhang["expected_salary_period"] == "month"
    assert json.loads(zhang["experience"])[0]["company"] == "字节跳动"
    assert zhang["summary"] == "多行\n简介, with a comma"
    assert alice["emails"] == "alice@example.com; a.oneil@example.org"
    assert alice["source"] == "'=HYPERLINK(\"x\")" and alice["tags"] == "'-frontend"


async def test_jobs_survive_an_export_and_an_import(client: AuthorizedClient) -> None:
    jobs = [{"title": "高级后端工程师", "description": "负责推荐系统, Python and Kafka", "locations": ["北京", "上海"],
             "salary": {"min": 30000, "max": 50000}, "headcount": 2},
            {"title": "Designer", "description": "Figma", "remote": True, "status": "paused",
             "requirements": {"skills": [{"name": "Figma"}], "min_years": 3}}]
    for job in jobs:
        _, response = await client.post("/api/v1/jobs", json=job)
        assert response.status == 201, response.text

    rows = table((await export(client, "jobs")).text)
    response = await import_csv(client, "jobs", "\ufeff" + _csv(rows), headers={**CSV, **bearer(RECRUITER_B)})

    assert response.status == 201, response.text
    assert await total(client, "jobs", RECRUITER_B) == 2
    assert without_spine(table((await export(client, "jobs", RECRUITER_B)).text)) == without_spine(rows)
    designer = next(row for row in rows if row["title"] == "Designer")
    assert (designer["remote"], designer["min_years"], designer["requirements_derived"]) == ("true", "3", "false")


async def test_the_export_route_is_not_taken_for_a_talent_id(client: AuthorizedClient) -> None:
    _, response = await client.get("/api/v1/talents/export.csv")
    _, missing = await client.get("/api/v1/talents/no-such-id")

    assert response.status == 200 and response.text == "\ufeff" + ",".join(csv_io.TALENTS.columns) + "\r\n"
    assert missing.status == 404


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


# --- validation ---------------------------------------------------------------------------------
MIXED = ("name,emails,years_of_experience,phones\n"
         "Good One,good@example.com,3,\n"
         "Bad Email,not-an-email,2,\n"
         "Negative,neg@example.com,-4,\n"
         "Good Two,,,+86 138 0013 8001\n")


async def test_an_invalid_row_imports_nothing(client: AuthorizedClient) -> None:
    response = await import_csv(client, "talents", MIXED)

    body = problem(response, 422, "invalid-rows")
    report = body["report"]
    assert (report["status"], report["total"], report["valid"], report["invalid"], report["imported"]) == \
        ("failed", 4, 2, 2, 0)
    assert [(e["row"], e["loc"]) for e in report["errors"]] == [(3, "emails.0"), (4, "years_of_experience")]
    assert body["errors"] == report["errors"]
    assert await total(client, "talents") == 0


async def test_skip_invalid_imports_the_valid_rows_and_reports_the_others(client: AuthorizedClient) -> None:
    response = await import_csv(client, "talents", MIXED, skip_invalid="true")

    assert response.status == 201, response.text
    assert (response.json["status"], response.json["imported"], response.json["invalid"]) == ("done", 2, 2)
    assert [(e["row"], e["loc"]) for e in response.json["errors"]] == [(3, "emails.0"), (4, "years_of_experience")]
    assert response.headers["location"] == f"/api/v1/imports/{response.json['id']}"
    assert await total(client, "talents") == 2
    _, recorded = await client.get(response.headers["location"])
    assert recorded.status == 200 and recorded.json["imported"] == 2


async def test_a_dry_run_imports_nothing(client: AuthorizedClient) -> None:
    good = "name,emails\nOne,one@example.com\nTwo,two@example.com\n"

    checked = await import_csv(client, "talents", good, dry_run="true")
    refused = await import_csv(client, "talents", MIXED, dry_run="true")

    assert checked.status == 200, checked.text
    assert (checked.json["valid"], checked.json["imported"], checked.json["dry_run"]) == (2, 0, True)
    assert problem(refused, 422, "invalid-rows")["report"]["invalid"] == 2
    assert await total(client, "talents") == 0


async def test_columns_the_import_does_not_know_are_warnings(client: AuthorizedClient) -> None:
    response = await import_csv(client, "talents", "Name,Email,Favourite Colour\nAna,ana@example.com,blue\n")

    assert response.status == 201, response.text
    assert [(w["row"], w["loc"]) for w in response.json["warnings"]] == [(1, "favourite_colour")]


async def test_required_columns_are_checked_before_any_row(client: AuthorizedClient) -> None:
    talents = await import_csv(client, "talents", "emails\na@example.com\n")
    jobs = await import_csv(client, "jobs", "title,locations\nEngineer,Beijing\n")

    assert problem(talents, 422, "missing-columns")["errors"] == [
        {"row": 1, "loc": "name", "msg": "required column missing"}]
    assert [e["loc"] for e in problem(jobs, 422, "missing-columns")["errors"]] == ["description"]


async def test_a_row_pointing_at_a_company_of_another_org_is_invalid(client: AuthorizedClient) -> None:
    _, company = await client.post("/api/v1/companies", json={"name": "Acme"},
                                   headers=bearer(RECRUITER_B))

    response = await import_csv(client, "jobs", f"title,description,company_id\nEngineer,Build,{company.json['id']}\n")

    report = problem(response, 422, "invalid-rows")["report"]
    assert [(e["row"], e["loc"]) for e in report["errors"]] == [(2, "company_id")]


async def test_emails_the_org_already_has_are_warnings(client: AuthorizedClient) -> None:
    await seed_talents(client)

    response = await import_csv(client, "talents", "name,emails\n"
                                                   "Zhang Wei,ZHANG.WEI@example.cn\n"
                                                   "New,new@example.com\n"
                                                   "New Again,new@example.com\n")

    assert response.status == 201, response.text
    assert [(w["row"], w["loc"]) for w in response.json["warnings"]] == [(2, "emails.0"), (4, "emails.0")]
    assert "already belongs to talent" in response.json["warnings"][0]["msg"]
    assert "also in row 3" in response.json["warnings"][1]["msg"]


# --- the file -----------------------------------------------------------------------------------


async def test_an_oversized_body_is_refused_naming_the_limit(client: AuthorizedClient) -> None:
    body = b"name\n" + b"x" * imports.MAX_BYTES

    response = await import_csv(client, "talents", body)

    assert problem(response, 413, "payload-too-large")["limit"] == imports.MAX_BYTES
    assert "20 MB" in response.json["detail"]


async def test_too_many_rows_are_refused_naming_the_limit(client: AuthorizedClient) -> None:
    body = "name\n" + "n\n" * (imports.MAX_ROWS + 1)

    response = await import_csv(client, "talents", body)

    assert problem(response, 422, "too-many-rows")["limit"] == imports.MAX_ROWS


@pytest.mark.parametrize(("body", "line"), [
    ('name,summary\nAna,"never closed\nBo,x\n', 2),
    ("name,summary\nAna,ok\nBo,x,extra\n", 3),
    ('name,summary\nAna,"a "quoted" word"\n', 2),
])
async def test_malformed_csv_names_the_line(client: AuthorizedClient, body: str, line: int) -> None:
    response = await import_csv(client, "talents", body)

    found = problem(response, 400, "malformed-csv")
    assert f"line {line}" in found["detail"]
    assert found["errors"][0]["line"] == line
    assert await total(client, "talents") == 0


async def test_a_gbk_file_is_read_as_gb18030_and_says_so(client: AuthorizedClient) -> None:
    body = "name,emails\n王芳,wang.fang@example.cn\n李娜,\n".encode("gbk")

    response = await import_csv(client, "talents", body)

    assert response.status == 201, response.text
    assert response.json["imported"] == 2
    assert any(w["loc"] == "file" and "GB18030" in w["msg"] for w in response.json["warnings"])
    names = {row["name"] for row in table((await export(client, "talents")).text)}
    assert names == {"王芳", "李娜"}


async def test_bytes_that_are_no_text_encoding_are_refused(client: AuthorizedClient) -> None:
    workbook = await import_csv(client, "talents", b"PK\x03\x04rest of a zip")
    garbage = await import_csv(client, "talents", b"name\n\xff\xff\xff\n")

    problem(workbook, 400, "not-csv")
    assert "UTF-8" in problem(garbage, 400, "invalid-encoding")["detail"]


async def test_tab_and_semicolon_separated_files_are_read(client: AuthorizedClient) -> None:
    tabs = await import_csv(client, "talents", "name\temails\nAna\tana@example.com\n")
    semicolons = await import_csv(client, "jobs", "title;description;locations\nEngineer;Build, run;北京, 上海\n")

    assert (tabs.status, semicolons.status) == (201, 201), semicolons.text
    rows = table((await export(client, "jobs")).text)
    assert (rows[0]["description"], rows[0]["locations"]) == ("Build, run", "北京, 上海")


async def test_a_multipart_upload_takes_the_file_field(client: AuthorizedClient) -> None:
    _, response = await client.post("/api/v1/imports?kind=talents",
                                    files={"file": ("talents.csv", "name\nAna\nBo\n".encode(), "text/csv")})

    assert response.status == 201, response.text
    assert response.json["imported"] == 2


async def test_other_content_types_and_kinds_are_refused(client: AuthorizedClient) -> None:
    as_json = await import_csv(client, "talents", "{}", headers={"content-type": "application/json"})
    unknown = await import_csv(client, "companies", "name\nAcme\n")

    problem(as_json, 415, "unsupported-media-type")
    problem(unknown, 400, "invalid-parameter")


# --- permissions and large imports ----------------------------------------------------------------


async def test_a_viewer_cannot_import(client: AuthorizedClient) -> None:
    response = await import_csv(client, "talents", "name\nAna\n", headers={**CSV, **bearer(VIEWER_A)})

    assert problem(response, 403, "permission-denied")["permission"] == "talent:write"


async def test_a_large_import_runs_as_a_job(client: AuthorizedClient) -> None:
    rows = 2_500
    body = "name,emails,tags\n" + "".join(f"Talent {i},t{i}@example.com,batch\n" for i in range(rows))

    response = await import_csv(client, "talents", body)

    assert response.status == 202, response.text
    location = response.headers["location"]
    assert location == f"/api/v1/imports/{response.json['id']}"
    assert response.json["total"] == rows and response.json["status"] in ("queued", "validating")
    job = await until_finished(client, location)
    assert (job["status"], job["processed"], job["imported"], job["errors"]) == ("done", rows, rows, [])
    assert await total(client, "talents") == rows
    _, other_org = await client.get(location, headers=bearer(RECRUITER_B))
    _, viewer = await client.get(location, headers=bearer(VIEWER_A))
    problem(other_org, 404, "import-not-found")
    problem(viewer, 403, "permission-denied")


async def test_a_large_import_with_an_invalid_row_imports_nothing(client: AuthorizedClient) -> None:
    body = "name,years_of_experience\n" + "".join(f"T{i},{-1 if i == 1500 else 1}\n" for i in range(1_200 + 800))

    response = await import_csv(client, "talents", body)

    assert response.status == 202, response.text
    job = await until_finished(client, response.headers["location"])
    assert (job["status"], job["imported"], job["invalid"]) == ("failed", 0, 1)
    assert job["errors"] == [{"row": 1502, "loc": "years_of_experience", "msg": job["errors"][0]["msg"]}]
    assert await total(client, "talents") == 0


async def until_finished(client: Any, location: str, timeout: float = 90.0) -> dict[str, Any]:
    seen = set()
    for _ in range(int(timeout / 0.1)):
        _, response = await client.get(location)
        assert response.status == 200, response.text
        seen.add(response.json["status"])
        if response.json["status"] in ("done", "failed"):
            assert seen <= {"queued", "validating", "importing", "done", "failed"}
            return response.json
        await asyncio.sleep(0.1)
    raise AssertionError(f"the import did not finish in {timeout}s: {response.json}")
