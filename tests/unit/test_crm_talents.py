"""Talents: their JSON, normalised contacts and cities, validation by field, skills against the
taxonomy, list filters, duplicates and merging, and who the org knows at a company. Jobs' skill
requirements are here too, since they are read against the same taxonomy.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import pytest_asyncio

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

TALENT_FIELDS = {"name", "emails", "phones", "links", "location", "current_title", "current_company", "summary",
                 "years_of_experience", "education", "experience", "skills", "languages", "expected_salary",
                 "job_status", "tags", "source", "custom"}
DERIVED = {"city"}
SPINE = {"id", "created_at", "updated_at", "version"}


def ids(page: dict[str, Any]) -> set[str]:
    return {item["id"] for item in page["items"]}


# --- the talent's JSON ------------------------------------------------------------------------


async def test_a_talent_has_exactly_the_specified_fields_the_derived_city_and_the_spine(crm: Crm) -> None:
    created = await crm.talent("张三")
    full = await crm.talent(
        "李四", emails=["li.si@example.com"], phones=["13800138000"], links=["https://github.com/lisi"],
        location="上海市浦东新区", current_title="资深后端工程师", current_company="字节跳动", summary="十年经验",
        years_of_experience=10, education=[{"school": "复旦大学", "degree": "本科", "major": "计算机", "start": "2008",
                                            "end": "2012-06"}],
        experience=[{"company": "字节跳动", "title": "后端工程师", "start": "2018-03", "end": "present"}],
        skills=[{"name": "Python", "level": "expert", "years": 8}], languages=["中文", "English"],
        expected_salary={"min": 40000, "max": 60000}, job_status="open", tags=["backend"], source="linkedin",
        custom={"wechat": "lisi"})

    for talent in (created, full):
        assert set(talent) == TALENT_FIELDS | DERIVED | SPINE
    assert created == {**{k: created[k] for k in SPINE}, "name": "张三", "emails": [], "phones": [], "links": [],
                       "location": None, "current_title": None, "current_company": None, "summary": None,
                       "years_of_experience": None, "education": [], "experience": [], "skills": [],
                       "languages": [], "expected_salary": None, "job_status": None, "tags": [], "source": None,
                       "custom": {}, "city": None}
    assert full["education"] == [{"school": "复旦大学", "degree": "本科", "major": "计算机", "start": "2008",
                                  "end": "2012-06"}]
    assert full["experience"][0]["end"] == "present"
    assert full["expected_salary"] == {"min": 40000, "max": 60000, "currency": "CNY", "period": "month"}
    assert full["custom"] == {"wechat": "lisi"}
    assert (await crm.get(f"/api/v1/talents/{full['id']}")).json() == full


@pytest.mark.parametrize(("written", "e164"), [
    ("13800138000", "+8613800138000"),
    ("138 0013 8000", "+8613800138000"),
    ("+86 138-0013-8000", "+8613800138000"),
    ("008613800138000", "+8613800138000"),
    ("010 6552 9988", "+861065529988"),
    ("+1 (650) 253-0000", "+16502530000"),
    ("+44 20 7946 0958", "+442079460958"),
])
async def test_phones_are_stored_in_e164(crm: Crm, written: str, e164: str) -> None:
    talent = await crm.talent("张三", phones=[written])

    assert talent["phones"] == [e164]


async def test_one_number_written_two_ways_is_kept_once(crm: Crm) -> None:
    talent = await crm.talent("张三", phones=["13800138000", "+86 138 0013 8000"],
                              emails=["Zhang@Example.com", "Zhang@example.COM"], tags=["java", "java"])

    assert talent["phones"] == ["+8613800138000"]
    assert talent["emails"] == ["Zhang@example.com"]
    assert talent["tags"] == ["java"]


@pytest.mark.parametrize(("location", "city"), [
    ("上海市浦东新区", "上海"),
    ("上海", "上海"),
    ("Beijing, China", "北京"),
    ("北京市海淀区中关村", "北京"),
    ("Shenzhen", "深圳"),
    ("San Francisco Bay Area", "San Francisco"),
    ("新加坡", "Singapore"),
    ("Remote", None),
    ("Transfer station", None),
])
async def test_the_city_is_derived_from_the_location(crm: Crm, location: str, city: str | None) -> None:
    talent = await crm.talent("张三", location=location)

    assert talent["city"] == city
    assert talent["location"] == location


async def test_the_city_follows_the_location_and_cannot_be_set(crm: Crm) -> None:
    talent = await crm.talent("张三", location="上海市浦东新区")
    path = f"/api/v1/talents/{talent['id']}"

    moved = await crm.patch(path, json={"location": "Beijing, China"})
    forced = await crm.patch(path, json={"city": "深圳"})
    cleared = await crm.patch(path, json={"location": None})

    assert moved.json()["city"] == "北京"
    assert_problem(forced, 422, "validation-failed", loc="body.city")
    assert cleared.json()["city"] is None


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "loc"), [
    ({"name": ""}, "body.name"),
    ({"name": "   "}, "body.name"),
    ({"name": "x" * 201}, "body.name"),
    ({}, "body.name"),
    ({"name": None}, "body.name"),
    ({"name": "张三", "emails": ["not-an-email"]}, "body.emails.0"),
    ({"name": "张三", "emails": ["ok@example.com", "two@@example.com"]}, "body.emails.1"),
    ({"name": "张三", "emails": ["a@no_underscores.com"]}, "body.emails.0"),
    ({"name": "张三", "emails": "zhang@example.com"}, "body.emails"),
    ({"name": "张三", "phones": ["12345"]}, "body.phones.0"),
    ({"name": "张三", "phones": ["13800138000", "call me maybe"]}, "body.phones.1"),
    ({"name": "张三", "phones": [""]}, "body.phones.0"),
    ({"name": "张三", "phones": [13800138000]}, "body.phones.0"),
    ({"name": "张三", "links": ["javascript:alert(1)"]}, "body.links.0"),
    ({"name": "张三", "years_of_experience": -1}, "body.years_of_experience"),
    ({"name": "张三", "years_of_experience": 81}, "body.years_of_experience"),
    ({"name": "张三", "years_of_experience": "ten"}, "body.years_of_experience"),
    ({"name": "张三", "expected_salary": {"min": 50000, "max": 30000}}, "body.expected_salary"),
    ({"name": "张三", "expected_salary": {"min": -1}}, "body.expected_salary.min"),
    ({"name": "张三", "expected_salary": {"currency": "rmb"}}, "body.expected_salary.currency"),
    ({"name": "张三", "job_status": "bored"}, "body.job_status"),
    ({"name": "张三", "tags": ["ok", ""]}, "body.tags.1"),
    ({"name": "张三", "tags": "backend"}, "body.tags"),
    ({"name": "张三", "skills": ["python"]}, "body.skills.0"),
    ({"name": "张三", "skills": [{}]}, "body.skills.0"),
    ({"name": "张三", "skills": [{"name": "Python", "level": "guru"}]}, "body.skills.0.level"),
    ({"name": "张三", "skills": [{"name": "Python", "known": "perhaps"}]}, "body.skills.0.known"),
    ({"name": "张三", "experience": [{"company": "A", "start": "2020-01", "end": "2019-05"}]}, "body.experience.0"),
    ({"name": "张三", "experience": [{"company": "A", "start": "last spring"}]}, "body.experience.0.start"),
    ({"name": "张三", "education": [{"school": "B", "start": "2010-13"}]}, "body.education.0.start"),
    ({"name": "张三", "custom": {"blob": "x" * 17000}}, "body.custom"),
    ({"name": "张三", "custom": ["not", "an", "object"]}, "body.custom"),
    ({"name": "张三", "city": "上海"}, "body.city"),
    ({"name": "张三", "birthday": "1990-01-01"}, "body.birthday"),
])
async def test_bad_input_is_422_naming_the_field(crm: Crm, body: dict[str, Any], loc: str) -> None:
    response = await crm.post("/api/v1/talents", json=body)

    assert_problem(response, 422, "validation-failed", loc=loc)
    assert (await crm.get("/api/v1/talents")).json()["total"] == 0


async def test_every_bad_field_is_named_at_once(crm: Crm) -> None:
    response = await crm.post("/api/v1/talents", json={"name": "", "emails": ["nope"], "years_of_experience": -3,
                                                        "unknown": 1})

    body = assert_problem(response, 422, "validation-failed")
    assert {e["loc"] for e in body["errors"]} >= {"body.name", "body.emails.0", "body.years_of_experience",
                                                  "body.unknown"}
    assert all(e["msg"] for e in body["errors"])


async def test_an_unknown_skill_id_is_422_naming_it(crm: Crm) -> None:
    response = await crm.post("/api/v1/talents", json={"name": "张三", "skills": [{"skill_id": "no-such-skill"}]})
    later = await crm.post("/api/v1/talents", json={"name": "张三", "skills": [
        {"skill_id": "python"}, {"name": "Zorblang"}, {"skill_id": "no-such-skill"}]})

    assert_problem(response, 422, "validation-failed", loc="body.skills.0.skill_id")
    assert_problem(later, 422, "validation-failed", loc="body.skills.2.skill_id")
    assert (await crm.get("/api/v1/talents")).json()["total"] == 0


async def test_a_patch_that_breaks_a_talent_is_refused_naming_the_field(crm: Crm) -> None:
    talent = await crm.talent("张三", emails=["zhang@example.com"])
    path = f"/api/v1/talents/{talent['id']}"

    for body, loc in (({"emails": ["broken"]}, "body.emails.0"), ({"name": ""}, "body.name"),
                      ({"years_of_experience": -2}, "body.years_of_experience"),
                      ({"skills": [{"skill_id": "no-such-skill"}]}, "body.skills.0.skill_id")):
        assert_problem(await crm.patch(path, json=body), 422, "validation-failed", loc=loc)
    assert_problem(await crm.patch(path, content=b"[1,"), 400, "malformed-json")
    assert_problem(await crm.patch(path, json=["name"]), 422, "validation-failed")
    assert (await crm.get(path)).json() == talent


async def test_another_orgs_talent_is_404(crm: Crm) -> None:
    theirs = await crm.talent("别人的人才", who=OTHER_ORG, emails=["other@example.com"])

    assert_problem(await crm.get(f"/api/v1/talents/{theirs['id']}"), 404, "talent-not-found")
    assert_problem(await crm.get(f"/api/v1/talents/{theirs['id']}/duplicates"), 404)
    assert_problem(await crm.get(f"/api/v1/talents/{theirs['id']}/network"), 404)
    assert (await crm.get("/api/v1/talents", params={"q": "别人"})).json()["total"] == 0
    assert (await crm.get(f"/api/v1/talents/{theirs['id']}", who=OTHER_ORG)).status_code == 200


# --- skills ---------------------------------------------------------------------------------------


async def test_skills_named_in_chinese_or_english_resolve_to_the_taxonomy(crm: Crm) -> None:
    talent = await crm.talent("张三", skills=[
        {"name": "机器学习", "level": "advanced"}, {"name": "Python", "years": 6}, {"name": "k8s"},
        {"skill_id": "mysql"}, {"name": "Zorblang", "level": "beginner"}])

    by_name = {s["name"]: s for s in talent["skills"]}
    assert by_name["机器学习"]["skill_id"] == "machine-learning" and by_name["机器学习"]["known"] is True
    assert by_name["机器学习"]["level"] == "advanced"
    assert by_name["Python"]["skill_id"] == "python" and by_name["Python"]["known"] is True
    assert by_name["Python"]["years"] == 6
    assert by_name["k8s"]["skill_id"] == "kubernetes" and by_name["k8s"]["display"] == "Kubernetes"
    assert [s["skill_id"] for s in talent["skills"]][3] == "mysql"
    assert talent["skills"][3]["known"] is True and talent["skills"][3]["name"]
    unknown = by_name["Zorblang"]
    assert (unknown["skill_id"], unknown["known"], unknown["display"], unknown["level"]) == (None, False, "Zorblang",
                                                                                            "beginner")
    assert len(talent["skills"]) == 5


async def test_the_same_skill_twice_is_kept_once(crm: Crm) -> None:
    talent = await crm.talent("张三", skills=[{"name": "Golang", "level": "expert"}, {"name": "Go"},
                                              {"skill_id": "go"}, {"name": "zorblang"}, {"name": "Zorblang"}])

    assert [(s["skill_id"], s["level"]) for s in talent["skills"]] == [("go", "expert"), (None, None)]


async def test_the_client_cannot_claim_a_skill_is_known(crm: Crm) -> None:
    talent = await crm.talent("张三", skills=[{"name": "Zorblang", "known": True, "skill_id": None,
                                               "display": "Python"}])

    assert talent["skills"][0]["known"] is False
    assert talent["skills"][0]["display"] == "Zorblang"


async def test_a_talents_skills_survive_a_patch_of_other_fields(crm: Crm) -> None:
    talent = await crm.talent("张三", skills=[{"name": "机器学习"}, {"name": "Zorblang"}])

    patched = (await crm.patch(f"/api/v1/talents/{talent['id']}", json={"current_title": "算法工程师"})).json()

    assert patched["skills"] == talent["skills"]


async def test_a_job_without_requirements_derives_them_from_its_description(crm: Crm) -> None:
    job = await crm.job("后端工程师", description="负责后端服务开发，熟悉Java和Spring Boot，了解MySQL与Redis，有Kubernetes经验者优先")

    assert job["requirements_derived"] is True
    derived = {s["skill_id"] for s in job["requirements"]["skills"]}
    assert {"java", "spring-boot", "mysql", "redis", "kubernetes"} <= derived
    assert all(s["known"] is True and s["required"] is True for s in job["requirements"]["skills"])


async def test_a_job_with_requirements_keeps_them_normalised(crm: Crm) -> None:
    job = await crm.job("数据工程师", description="熟悉Java", requirements={
        "skills": [{"name": "Python", "weight": 2}, {"name": "Zorblang", "required": False}], "min_years": 3})

    assert job["requirements_derived"] is False
    skills = job["requirements"]["skills"]
    assert [(s["skill_id"], s["known"], s["weight"], s["required"]) for s in skills] == [
        ("python", True, 2, True), (None, False, 1, False)]
    assert job["requirements"]["min_years"] == 3
    unknown = await crm.post("/api/v1/jobs", json={"title": "x", "description": "y", "requirements": {
        "skills": [{"skill_id": "no-such-skill"}]}})
    assert_problem(unknown, 422, "validation-failed", loc="body.requirements.skills.0.skill_id")


async def test_derived_requirements_stay_derived_through_a_patch_of_something_else(crm: Crm) -> None:
    job = await crm.job("后端工程师", description="熟悉Java和MySQL")

    paused = (await crm.patch(f"/api/v1/jobs/{job['id']}", json={"status": "paused"})).json()

    assert paused["status"] == "paused"
    assert paused["requirements"] == job["requirements"]
    assert paused["requirements_derived"] is True


async def test_derived_requirements_follow_a_new_description(crm: Crm) -> None:
    job = await crm.job("后端工程师", description="熟悉Java和MySQL")

    changed = (await crm.patch(f"/api/v1/jobs/{job['id']}", json={"description": "熟悉Python和Redis"})).json()

    assert {s["skill_id"] for s in changed["requirements"]["skills"]} >= {"python", "redis"}
    assert not {s["skill_id"] for s in changed["requirements"]["skills"]} & {"java", "mysql"}
    assert changed["requirements_derived"] is True


# --- list filters ---------------------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="module")
async def people(crm: Crm) -> dict[str, dict[str, Any]]:
    return {
        "shanghai_py": await crm.talent("上海Python", location="上海市浦东新区", years_of_experience=3,
                                        skills=[{"name": "Python"}, {"name": "机器学习"}], job_status="open",
                                        tags=["Backend", "remote-ok"], source="linkedin"),
        "shanghai_java": await crm.talent("上海Java", location="Shanghai, China", years_of_experience=8,
                                          skills=[{"name": "Java"}, {"name": "Zorblang"}], job_status="passive",
                                          tags=["backend"], source="referral"),
        "beijing_py": await crm.talent("北京Python", location="Beijing", years_of_experience=12,
                                       skills=[{"name": "python"}, {"name": "Machine Learning"}, {"name": "Java"}],
                                       job_status="open", tags=["ml"]),
        "nowhere": await crm.talent("不详"),
    }


@pytest.mark.parametrize("city", ["上海", "Shanghai", "shanghai", "上海市"])
async def test_city_filters_in_either_language(crm: Crm, people: dict[str, dict[str, Any]], city: str) -> None:
    page = (await crm.get("/api/v1/talents", params={"city": city})).json()

    assert ids(page) == {people["shanghai_py"]["id"], people["shanghai_java"]["id"]}
    assert page["total"] == 2


async def test_city_filter_for_beijing_and_for_a_city_nobody_lives_in(crm: Crm,
                                                                     people: dict[str, dict[str, Any]]) -> None:
    assert ids((await crm.get("/api/v1/talents", params={"city": "北京"})).json()) == {people["beijing_py"]["id"]}
    assert ids((await crm.get("/api/v1/talents", params={"city": "Beijing"})).json()) == {people["beijing_py"]["id"]}
    assert (await crm.get("/api/v1/talents", params={"city": "Atlantis"})).json()["total"] == 0


@pytest.mark.parametrize(("skills", "expected"), [
    ("python", {"shanghai_py", "beijing_py"}),
    ("Python", {"shanghai_py", "beijing_py"}),
    ("python,machine-learning", {"shanghai_py", "beijing_py"}),
    ("Python,机器学习", {"shanghai_py", "beijing_py"}),
    ("python,java", {"beijing_py"}),
    ("Java, 机器学习, python", {"beijing_py"}),
    ("java", {"shanghai_java", "beijing_py"}),
    ("zorblang", {"shanghai_java"}),
    ("Zorblang,java", {"shanghai_java"}),
    ("rust", set()),
])
async def test_skills_filter_is_all_of_by_id_or_name(crm: Crm, people: dict[str, dict[str, Any]], skills: str,
                                                     expected: set[str]) -> None:
    page = (await crm.get("/api/v1/talents", params={"skills": skills})).json()

    assert ids(page) == {people[k]["id"] for k in expected}
    assert page["total"] == len(expected)


@pytest.mark.parametrize(("params", "expected"), [
    ({"years_min": "5"}, {"shanghai_java", "beijing_py"}),
    ({"years_max": "8"}, {"shanghai_py", "shanghai_java"}),
    ({"years_min": "3", "years_max": "3"}, {"shanghai_py"}),
    ({"years_min": "8.5"}, {"beijing_py"}),
    ({"years_min": "0"}, {"shanghai_py", "shanghai_java", "beijing_py"}),
    ({"status": "open"}, {"shanghai_py", "beijing_py"}),
    ({"status": "passive"}, {"shanghai_java"}),
    ({"tags": "backend"}, {"shanghai_py", "shanghai_java"}),
    ({"tags": "BACKEND,remote-ok"}, {"shanghai_py"}),
    ({"tags": "ml,backend"}, set()),
    ({"source": "referral"}, {"shanghai_java"}),
    ({"city": "上海", "skills": "python", "status": "open", "years_max": "5", "tags": "backend"}, {"shanghai_py"}),
    ({"city": "Shanghai", "years_min": "10"}, set()),
])
async def test_years_status_tags_and_combined_filters(crm: Crm, people: dict[str, dict[str, Any]],
                                                      params: dict[str, str], expected: set[str]) -> None:
    page = (await crm.get("/api/v1/talents", params=params)).json()

    assert ids(page) == {people[k]["id"] for k in expected}
    assert page["total"] == len(expected)


async def test_filters_page_with_cursors(crm: Crm, people: dict[str, dict[str, Any]]) -> None:
    extra = [await crm.talent(f"上海{i}", location="上海", skills=[{"name": "Python"}]) for i in range(5)]

    walked = await crm.walk("talents", "name", limit=2, city="Shanghai", skills="python")

    assert sorted(t["id"] for t in walked) == sorted([people["shanghai_py"]["id"], *(t["id"] for t in extra)])


@pytest.mark.parametrize("params", [{"years_min": "-1"}, {"years_max": "a lot"}, {"years_min": "81"}])
async def test_a_nonsense_years_filter_is_400_naming_it(crm: Crm, params: dict[str, str]) -> None:
    response = await crm.get("/api/v1/talents", params=params)

    assert_problem(response, 400, "invalid-parameter", loc=f"query.{next(iter(params))}")


async def test_filters_follow_changes(crm: Crm) -> None:
    talent = await crm.talent("张三", location="上海", skills=[{"name": "Python"}], tags=["a"])
    path = f"/api/v1/talents/{talent['id']}"
    await crm.patch(path, json={"location": "北京", "skills": [{"name": "Java"}], "tags": ["b"]})

    for params in ({"city": "上海"}, {"skills": "python"}, {"tags": "a"}):
        assert (await crm.get("/api/v1/talents", params=params)).json()["total"] == 0, params
    for params in ({"city": "北京"}, {"skills": "java"}, {"tags": "b"}):
        assert ids((await crm.get("/api/v1/talents", params=params)).json()) == {talent["id"]}, params
    await crm.delete(path)
    assert (await crm.get("/api/v1/talents", params={"city": "北京"})).json()["total"] == 0


# --- duplicates -----------------------------------------------------------------------------------


async def duplicates_of(crm: Crm, talent_id: str) -> dict[str, list[str]]:
    response = await crm.get(f"/api/v1/talents/{talent_id}/duplicates")
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == len(page["items"])
    return {item["talent"]["id"]: item["reasons"] for item in page["items"]}


async def test_the_same_email_in_another_case_is_a_duplicate(crm: Crm) -> None:
    first = await crm.talent("张三", emails=["zhang.san@example.com"])
    second = await crm.talent("Zhang San", emails=["other@example.com", "Zhang.San@EXAMPLE.com"])
    await crm.talent("李四", emails=["li@example.com"])

    assert await duplicates_of(crm, first["id"]) == {second["id"]: ["same email"]}
    assert await duplicates_of(crm, second["id"]) == {first["id"]: ["same email"]}


async def test_the_same_phone_written_another_way_is_a_duplicate(crm: Crm) -> None:
    first = await crm.talent("张三", phones=["13800138000"])
    second = await crm.talent("张三丰", phones=["+86 138 0013 8000"], emails=["x@example.com"])

    assert await duplicates_of(crm, first["id"]) == {second["id"]: ["same phone"]}


async def test_the_same_name_and_employer_is_a_duplicate(crm: Crm) -> None:
    first = await crm.talent("王伟", current_company="阿里巴巴")
    second = await crm.talent("王伟", experience=[{"company": "阿里巴巴", "title": "工程师"}])
    elsewhere = await crm.talent("王伟", current_company="腾讯")

    assert await duplicates_of(crm, first["id"]) == {second["id"]: ["same name and employer"]}
    assert await duplicates_of(crm, elsewhere["id"]) == {}


async def test_every_reason_is_given(crm: Crm) -> None:
    first = await crm.talent("王伟", current_company="阿里巴巴", emails=["w@example.com"], phones=["13800138000"])
    second = await crm.talent("王伟", current_company="阿里巴巴", emails=["w@example.com"], phones=["13800138000"])

    assert await duplicates_of(crm, first["id"]) == {
        second["id"]: ["same email", "same name and employer", "same phone"]}


async def test_no_duplicates_by_empty_keys(crm: Crm) -> None:
    no_contacts = [await crm.talent("张三"), await crm.talent("李四"), await crm.talent("王五", emails=[], phones=[])]
    same_name = [await crm.talent("赵六"), await crm.talent("赵六")]
    blank_employer = [await crm.talent("钱七", current_company="", experience=[{"company": "", "title": "x"}]),
                      await crm.talent("钱七", current_company="  ", experience=[{"title": "x"}])]

    for talent in (*no_contacts, *same_name, *blank_employer):
        assert await duplicates_of(crm, talent["id"]) == {}, talent["name"]


async def test_no_duplicates_in_another_org_or_among_the_deleted(crm: Crm) -> None:
    mine = await crm.talent("张三", emails=["zhang@example.com"])
    await crm.talent("张三", emails=["zhang@example.com"], who=OTHER_ORG)
    deleted = await crm.talent("张三", emails=["zhang@example.com"])
    await crm.delete(f"/api/v1/talents/{deleted['id']}")

    assert await duplicates_of(crm, mine["id"]) == {}


async def test_a_duplicate_stops_being_one_when_its_email_changes(crm: Crm) -> None:
    first = await crm.talent("张三", emails=["zhang@example.com"])
    second = await crm.talent("张三", emails=["zhang@example.com"])
    await crm.patch(f"/api/v1/talents/{second['id']}", json={"emails": ["new@example.com"]})

    assert await duplicates_of(crm, first["id"]) == {}


# --- merging --------------------------------------------------------------------------------------


async def merge(crm: Crm, primary_id: str, *duplicate_ids: str, **kwargs: Any) -> Any:
    return await crm.post(f"/api/v1/talents/{primary_id}/merge", json={"duplicate_ids": list(duplicate_ids)},
                          **kwargs)


async def test_merging_moves_applications_and_notes_and_keeps_the_history(crm: Crm) -> None:
    primary = await crm.talent("张三", emails=["zhang@example.com"], current_title="后端工程师")
    duplicate = await crm.talent("张三", emails=["zhang.san@example.com"], phones=["13800138000"],
                                 location="上海", tags=["java"])
    job_a, job_b = await crm.job("后端A"), await crm.job("后端B")
    kept = await crm.application(primary["id"], job_a["id"])
    moved = await crm.application(duplicate["id"], job_b["id"], source="referral")
    note = await crm.create("notes", {"subject_type": "talent", "subject_id": duplicate["id"], "body": "电话沟通"})

    response = await merge(crm, primary["id"], duplicate["id"], headers={"If-Match": '"1"'})

    assert response.status_code == 200, response.text
    merged = response.json()
    assert merged["id"] == primary["id"] and merged["version"] == 2
    assert response.headers["etag"] == '"2"'
    assert merged["merge_conflicts"] == []
    assert merged["emails"] == ["zhang@example.com", "zhang.san@example.com"]
    assert merged["phones"] == ["+8613800138000"]
    assert merged["current_title"] == "后端工程师"
    assert (merged["location"], merged["city"], merged["tags"]) == ("上海", "上海", ["java"])
    assert [(m["id"], m["name"], m["by"]) for m in merged["merged_from"]] == [
        (duplicate["id"], "张三", "user-recruiter-a")]
    assert merged["merged_from"][0]["at"].endswith("Z")
    assert_problem(await crm.get(f"/api/v1/talents/{duplicate['id']}"), 404)
    assert (await crm.get("/api/v1/talents")).json()["total"] == 1
    apps = (await crm.get("/api/v1/applications", params={"talent_id": primary["id"]})).json()
    assert {a["id"] for a in apps["items"]} == {kept["id"], moved["id"]}
    moved_now = (await crm.get(f"/api/v1/applications/{moved['id']}")).json()
    assert moved_now["talent_id"] == primary["id"] and moved_now["source"] == "referral"
    assert (await crm.get("/api/v1/applications", params={"talent_id": duplicate["id"]})).json()["total"] == 0
    notes = (await crm.get("/api/v1/notes", params={"subject_id": primary["id"]})).json()
    assert [n["id"] for n in notes["items"]] == [note["id"]]
    assert (await crm.get(f"/api/v1/notes/{note['id']}")).json()["subject_id"] == primary["id"]
    assert (await crm.get(f"/api/v1/talents/{primary['id']}")).json() == {
        k: v for k, v in merged.items() if k != "merge_conflicts"}


async def test_a_merged_duplicates_email_finds_the_primary(crm: Crm) -> None:
    primary = await crm.talent("张三", emails=["zhang@example.com"])
    duplicate = await crm.talent("张三", emails=["zhang.san@example.com"])
    third = await crm.talent("Zhang San", emails=["zhang.san@example.com"])
    assert (await merge(crm, primary["id"], duplicate["id"])).status_code == 200

    assert await duplicates_of(crm, third["id"]) == {primary["id"]: ["same email"]}


async def test_a_conflicting_application_is_reported_and_the_primarys_kept(crm: Crm) -> None:
    primary = await crm.talent("张三")
    duplicate = await crm.talent("张三")
    job = await crm.job()
    mine = await crm.application(primary["id"], job["id"])
    theirs = await crm.application(duplicate["id"], job["id"])

    response = await merge(crm, primary["id"], duplicate["id"])

    assert response.status_code == 200, response.text
    assert response.json()["merge_conflicts"] == [{"application_id": theirs["id"], "job_id": job["id"],
                                                   "kept": "primary's application"}]
    apps = (await crm.get("/api/v1/applications", params={"job_id": job["id"]})).json()
    assert [a["id"] for a in apps["items"]] == [mine["id"]]
    assert_problem(await crm.get(f"/api/v1/applications/{theirs['id']}"), 404)
    board = (await crm.get(f"/api/v1/jobs/{job['id']}/pipeline")).json()
    assert board["total"] == 1


async def test_relationships_follow_the_merge(crm: Crm) -> None:
    primary = await crm.talent("张三")
    duplicate = await crm.talent("张三")
    friend = await crm.talent("李四")
    link = await crm.create("relationships", {"source_id": friend["id"], "target_id": duplicate["id"],
                                              "type": "friend"})
    between = await crm.create("relationships", {"source_id": primary["id"], "target_id": duplicate["id"],
                                                 "type": "colleague"})

    assert (await merge(crm, primary["id"], duplicate["id"])).status_code == 200

    assert (await crm.get(f"/api/v1/relationships/{link['id']}")).json()["target_id"] == primary["id"]
    assert_problem(await crm.get(f"/api/v1/relationships/{between['id']}"), 404)
    network = (await crm.get(f"/api/v1/talents/{primary['id']}/network")).json()
    assert [(r["talent"]["id"], r["direction"]) for r in network["relationships"]] == [(friend["id"], "in")]


async def test_a_relationship_the_primary_already_had_is_not_doubled_by_the_merge(crm: Crm) -> None:
    primary = await crm.talent("张三")
    duplicate = await crm.talent("张三")
    friend = await crm.talent("李四")
    await crm.create("relationships", {"source_id": friend["id"], "target_id": primary["id"], "type": "friend"})
    await crm.create("relationships", {"source_id": friend["id"], "target_id": duplicate["id"], "type": "friend"})

    assert (await merge(crm, primary["id"], duplicate["id"])).status_code == 200

    links = (await crm.get("/api/v1/relationships", params={"talent_id": primary["id"]})).json()
    assert [(r["source_id"], r["target_id"], r["type"]) for r in links["items"]] == [
        (friend["id"], primary["id"], "friend")]


async def test_the_merge_history_survives_later_changes(crm: Crm) -> None:
    primary = await crm.talent("张三")
    duplicate = await crm.talent("张三")
    merged = (await merge(crm, primary["id"], duplicate["id"])).json()

    patched = await crm.patch(f"/api/v1/talents/{primary['id']}", json={"current_title": "架构师"})

    assert patched.status_code == 200, patched.text
    assert patched.json()["merged_from"] == merged["merged_from"]


async def test_merge_refuses_itself_unknown_ids_stale_versions_and_viewers(crm: Crm) -> None:
    primary = await crm.talent("张三")
    duplicate = await crm.talent("张三")
    theirs = await crm.talent("张三", who=OTHER_ORG)

    assert_problem(await merge(crm, primary["id"], primary["id"]), 422, loc="body.duplicate_ids")
    assert_problem(await merge(crm, primary["id"]), 422, loc="body.duplicate_ids")
    assert_problem(await merge(crm, primary["id"], theirs["id"]), 404)
    assert_problem(await merge(crm, primary["id"], str(uuid.uuid4())), 404)
    assert_problem(await merge(crm, primary["id"], duplicate["id"], headers={"If-Match": '"7"'}), 412,
                   "version-mismatch")
    assert_problem(await merge(crm, primary["id"], duplicate["id"], who=VIEWER), 403)
    assert (await crm.get(f"/api/v1/talents/{duplicate['id']}")).status_code == 200
    assert (await crm.get(f"/api/v1/talents/{primary['id']}")).json()["version"] == 1
    assert (await crm.get(f"/api/v1/talents/{theirs['id']}", who=OTHER_ORG)).status_code == 200


async def test_merging_several_duplicates_at_once(crm: Crm) -> None:
    primary = await crm.talent("张三", emails=["a@example.com"])
    others = [await crm.talent("张三", emails=[f"{c}@example.com"]) for c in "bcd"]

    merged = (await merge(crm, primary["id"], *(o["id"] for o in others))).json()

    assert merged["emails"] == [f"{c}@example.com" for c in "abcd"]
    assert [m["id"] for m in merged["merged_from"]] == [o["id"] for o in others]
    assert (await crm.get("/api/v1/talents")).json()["total"] == 1


# --- company contacts -----------------------------------------------------------------------------


async def test_company_contacts_are_current_employees_first(crm: Crm) -> None:
    company = await crm.create("companies", {"name": "Acme Inc."})
    alumnus = await crm.talent("Aaron", current_company="Globex",
                               experience=[{"company": "ACME Inc.", "title": "Engineer", "end": "2020"}])
    current = await crm.talent("Zoe", current_company="Acme Inc.")
    also_current = await crm.talent("Mia", current_company="acme inc.",
                                    experience=[{"company": "Acme Inc.", "title": "Lead"}])
    await crm.talent("Nobody", current_company="Initech", experience=[{"company": "Globex"}])
    await crm.talent("Elsewhere", current_company="Acme Corp")
    await crm.talent("Other org", current_company="Acme Inc.", who=OTHER_ORG)

    response = await crm.get(f"/api/v1/companies/{company['id']}/contacts")

    assert response.status_code == 200, response.text
    contacts = response.json()
    assert contacts["company"] == {"id": company["id"], "name": "Acme Inc."}
    assert [(p["id"], p["current"]) for p in contacts["items"]] == [
        (also_current["id"], True), (current["id"], True), (alumnus["id"], False)]
    assert contacts["total"] == 3


async def test_company_contacts_follow_changes_and_deletes(crm: Crm) -> None:
    company = await crm.create("companies", {"name": "字节跳动"})
    leaver = await crm.talent("张三", current_company="字节跳动")
    gone = await crm.talent("李四", current_company="字节跳动")
    await crm.patch(f"/api/v1/talents/{leaver['id']}", json={
        "current_company": "腾讯", "experience": [{"company": "字节跳动", "title": "工程师"}]})
    await crm.delete(f"/api/v1/talents/{gone['id']}")

    contacts = (await crm.get(f"/api/v1/companies/{company['id']}/contacts")).json()

    assert [(p["id"], p["current"]) for p in contacts["items"]] == [(leaver["id"], False)]
    assert_problem(await crm.get(f"/api/v1/companies/{company['id']}/contacts", who=OTHER_ORG), 404)
