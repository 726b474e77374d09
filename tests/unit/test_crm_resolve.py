"""POST /api/v1/talents/resolve: the same person updated, never duplicated; a new one created."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.unit.test_crm_entities import (  # noqa: F401 -- fixtures
    OTHER_ORG,
    VIEWER,
    Crm,
    assert_problem,
    crm,
    crm_app,
    crm_settings_migrated,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
PATH = "/api/v1/talents/resolve"


def person(**fields: Any) -> dict[str, Any]:
    return {"name": "张伟", "emails": ["zhang.wei@example.com"], "current_title": "后端工程师",
            "experience": [{"company": "字节跳动", "title": "后端工程师", "start": "2019-03"}], **fields}


async def test_a_new_person_is_created(crm: Crm) -> None:
    response = await crm.post(PATH, json=person())

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["created"] is True and body["matched_by"] is None
    assert (await crm.get(f"/api/v1/talents/{body['talent_id']}")).json()["name"] == "张伟"


@pytest.mark.parametrize(("second", "reason"), [
    ({"emails": ["ZHANG.WEI@example.com"], "phones": []}, "email"),
    ({"emails": [], "phones": ["+86 138 0013 8000"]}, "phone"),
    ({"emails": [], "phones": []}, "name and employer"),
])
async def test_the_same_person_is_matched_and_updated(crm: Crm, second: dict[str, Any], reason: str) -> None:
    first = (await crm.post(PATH, json=person(phones=["13800138000"], tags=["内推"], job_status="open"))).json()

    response = await crm.post(PATH, json=person(current_title="技术经理", summary="带领 8 人团队", **second,
                                                 skills=[{"name": "Go"}]))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {**body, "talent_id": first["talent_id"], "created": False, "matched_by": reason}
    talent = (await crm.get(f"/api/v1/talents/{first['talent_id']}")).json()
    assert talent["current_title"] == "技术经理" and talent["summary"] == "带领 8 人团队"  # the newer resume wins
    assert talent["tags"] == ["内推"] and talent["job_status"] == "open"  # kept where the resume says nothing
    assert talent["emails"] == ["zhang.wei@example.com"] and talent["phones"] == ["+8613800138000"]
    assert [s["name"] for s in talent["skills"]] == ["Go"]
    assert len(talent["experience"]) == 1  # the same job twice is kept once
    assert talent["version"] == 2


async def test_empty_keys_never_match(crm: Crm) -> None:
    first = (await crm.post(PATH, json={"name": "李娜"})).json()
    second = (await crm.post(PATH, json={"name": "李娜"})).json()

    assert second["created"] is True and second["talent_id"] != first["talent_id"]


async def test_another_orgs_talent_is_never_matched(crm: Crm) -> None:
    mine = (await crm.post(PATH, json=person())).json()
    theirs = await crm.post(PATH, json=person(), who=OTHER_ORG)

    assert theirs.status_code == 201 and theirs.json()["talent_id"] != mine["talent_id"]


async def test_a_retry_with_the_same_key_answers_the_same_and_changes_nothing(crm: Crm) -> None:
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = await crm.post(PATH, json={"name": "王芳"}, headers=key)
    again = await crm.post(PATH, json={"name": "王芳"}, headers=key)

    assert first.status_code == again.status_code == 201
    assert again.json()["talent_id"] == first.json()["talent_id"]
    listed = (await crm.get("/api/v1/talents", params={"limit": "100"})).json()
    assert sum(item["name"] == "王芳" for item in listed["items"]) == 1


async def test_bad_input_and_readers_are_refused(crm: Crm) -> None:
    assert_problem(await crm.post(PATH, json={"emails": ["x@example.com"]}), 422)
    assert_problem(await crm.post(PATH, json={"name": "张伟", "emails": ["not an email"]}), 422)
    assert (await crm.post(PATH, json=person(), who=VIEWER)).status_code == 403
