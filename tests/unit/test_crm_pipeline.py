"""The hiring pipeline: applications, their stage moves and history, the job's board, and the
recruiting figures (funnel, time in stage, conversion by source, open jobs).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa

from looma_crm.tables import stage_history
from tests.unit.test_crm_entities import (  # noqa: F401 -- fixtures
    OTHER_ORG,
    RECRUITER,
    VIEWER,
    Crm,
    Who,
    assert_problem,
    crm,
    crm_app,
    crm_settings_migrated,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

HAPPY_PATH = ("screening", "interview", "offer", "hired")
STAGES = ("sourced", "screening", "interview", "offer", "hired", "rejected", "withdrawn")
ALLOWED = {
    "sourced": {"screening", "interview", "rejected", "withdrawn"},
    "screening": {"interview", "rejected", "withdrawn"},
    "interview": {"offer", "rejected", "withdrawn"},
    "offer": {"hired", "rejected", "withdrawn"},
    "hired": set(),
    "rejected": {"screening"},
    "withdrawn": {"sourced"},
}
# A way to reach each stage from sourced.
ROUTE = {"sourced": (), "screening": ("screening",), "interview": ("screening", "interview"),
         "offer": ("screening", "interview", "offer"), "hired": HAPPY_PATH, "rejected": ("rejected",),
         "withdrawn": ("withdrawn",)}
OTHER_RECRUITER = Who(subject="user-recruiter-a2")


async def move(crm: Crm, application_id: str, stage: str, reason: str | None = None, who: Who = RECRUITER,
               headers: dict[str, str] | None = None) -> Any:
    body: dict[str, Any] = {"stage": stage}
    if reason is not None:
        body["reason"] = reason
    return await crm.post(f"/api/v1/applications/{application_id}/stage", json=body, who=who, headers=headers)


async def moved(crm: Crm, application_id: str, *stages: str) -> dict[str, Any]:
    response = None
    for stage in stages:
        response = await move(crm, application_id, stage)
        assert response.status_code == 200, response.text
    return response.json() if response is not None else (await crm.get(f"/api/v1/applications/{application_id}")).json()


@pytest_asyncio.fixture(loop_scope="module")
async def opening(crm: Crm) -> dict[str, Any]:
    """A job and a talent to apply to it."""
    return {"job": await crm.job("后端工程师"), "talent": await crm.talent("张三")}


# --- applications ---------------------------------------------------------------------------------


async def test_an_application_starts_at_sourced(crm: Crm, opening: dict[str, Any]) -> None:
    response = await crm.post("/api/v1/applications", json={"talent_id": opening["talent"]["id"],
                                                             "job_id": opening["job"]["id"], "source": "linkedin"})

    assert response.status_code == 201, response.text
    application = response.json()
    assert application["stage"] == "sourced"
    assert (application["talent_id"], application["job_id"]) == (opening["talent"]["id"], opening["job"]["id"])
    assert application["version"] == 1 and response.headers["etag"] == '"1"'


async def test_an_application_may_start_later_in_the_pipeline_but_never_hired(crm: Crm,
                                                                              opening: dict[str, Any]) -> None:
    other = await crm.talent("李四")

    screening = await crm.application(opening["talent"]["id"], opening["job"]["id"], stage="screening")
    hired = await crm.post("/api/v1/applications", json={"talent_id": other["id"], "job_id": opening["job"]["id"],
                                                         "stage": "hired"})

    assert screening["stage"] == "screening"
    assert_problem(hired, 409, "invalid-transition", loc="body.stage")
    assert (await crm.get("/api/v1/applications", params={"talent_id": other["id"]})).json()["total"] == 0


async def test_the_same_talent_cannot_apply_twice_to_one_job(crm: Crm, opening: dict[str, Any]) -> None:
    body = {"talent_id": opening["talent"]["id"], "job_id": opening["job"]["id"]}
    first = await crm.post("/api/v1/applications", json=body)

    again = await crm.post("/api/v1/applications", json=body)
    elsewhere = await crm.post("/api/v1/applications", json={**body, "job_id": (await crm.job("前端"))["id"]})

    assert first.status_code == 201
    assert_problem(again, 409, "application-exists", loc="body.talent_id")
    assert elsewhere.status_code == 201
    assert (await crm.get("/api/v1/applications", params={"job_id": opening["job"]["id"]})).json()["total"] == 1


async def test_a_deleted_application_makes_way_for_a_new_one(crm: Crm, opening: dict[str, Any]) -> None:
    first = await crm.application(opening["talent"]["id"], opening["job"]["id"])
    await crm.delete(f"/api/v1/applications/{first['id']}")

    second = await crm.post("/api/v1/applications", json={"talent_id": opening["talent"]["id"],
                                                          "job_id": opening["job"]["id"]})

    assert second.status_code == 201, second.text
    assert second.json()["id"] != first["id"]


async def test_applications_refuse_another_orgs_or_missing_talents_and_jobs(crm: Crm) -> None:
    my_job, my_talent = await crm.job(), await crm.talent("张三")
    their_job, their_talent = await crm.job(who=OTHER_ORG), await crm.talent("李四", who=OTHER_ORG)
    deleted = await crm.talent("王五")
    await crm.delete(f"/api/v1/talents/{deleted['id']}")

    cases = [({"talent_id": their_talent["id"], "job_id": my_job["id"]}, "body.talent_id"),
             ({"talent_id": my_talent["id"], "job_id": their_job["id"]}, "body.job_id"),
             ({"talent_id": deleted["id"], "job_id": my_job["id"]}, "body.talent_id"),
             ({"talent_id": str(uuid.uuid4()), "job_id": my_job["id"]}, "body.talent_id")]
    for body, loc in cases:
        assert_problem(await crm.post("/api/v1/applications", json=body), 404, loc=loc)
    assert (await crm.get("/api/v1/applications")).json()["total"] == 0
    assert (await crm.get("/api/v1/applications", who=OTHER_ORG)).json()["total"] == 0


@pytest.mark.parametrize(("body", "loc"), [
    ({"job_id": "j"}, "body.talent_id"),
    ({"talent_id": "t", "job_id": "j", "stage": "interviewing"}, "body.stage"),
    ({"talent_id": "t", "job_id": "j", "next_action": {"description": ""}}, "body.next_action.description"),
    ({"talent_id": "t", "job_id": "j", "next_action": {"description": "call", "due": "next week"}},
     "body.next_action.due"),
])
async def test_bad_applications_are_422_naming_the_field(crm: Crm, body: dict[str, Any], loc: str) -> None:
    assert_problem(await crm.post("/api/v1/applications", json=body), 422, "validation-failed", loc=loc)


async def test_a_patch_changes_source_and_next_action_but_never_the_stage_talent_or_job(
        crm: Crm, opening: dict[str, Any]) -> None:
    application = await crm.application(opening["talent"]["id"], opening["job"]["id"])
    path = f"/api/v1/applications/{application['id']}"
    other_talent, other_job = await crm.talent("李四"), await crm.job("前端")

    stage = await crm.patch(path, json={"stage": "hired"})
    talent = await crm.patch(path, json={"talent_id": other_talent["id"]})
    job = await crm.patch(path, json={"job_id": other_job["id"]})
    put = await crm.put(path, json={"talent_id": opening["talent"]["id"], "job_id": opening["job"]["id"],
                                    "stage": "interview"})
    fine = await crm.patch(path, json={"source": "referral", "next_action": {"description": "约二面",
                                                                            "due": "2030-01-02T03:04:05Z"}})

    assert_problem(stage, 409, "field-fixed", loc="body.stage")
    assert_problem(talent, 409, "field-fixed", loc="body.talent_id")
    assert_problem(job, 409, "field-fixed", loc="body.job_id")
    assert_problem(put, 409, "field-fixed", loc="body.stage")
    assert fine.status_code == 200, fine.text
    assert fine.json()["stage"] == "sourced" and fine.json()["version"] == 2
    assert fine.json()["next_action"]["description"] == "约二面"
    same_stage = await crm.patch(path, json={"stage": "sourced", "source": "event"})
    assert same_stage.status_code == 200 and same_stage.json()["source"] == "event"


# --- stage moves ----------------------------------------------------------------------------------


async def test_the_happy_path_moves_one_stage_at_a_time(crm: Crm, opening: dict[str, Any]) -> None:
    application = await crm.application(opening["talent"]["id"], opening["job"]["id"])

    for version, stage in enumerate(HAPPY_PATH, start=2):
        response = await move(crm, application["id"], stage)

        assert response.status_code == 200, response.text
        assert response.json()["stage"] == stage
        assert response.json()["version"] == version
        assert response.headers["etag"] == f'"{version}"'
    assert (await crm.get(f"/api/v1/applications/{application['id']}")).json()["stage"] == "hired"


@pytest.mark.parametrize(("start", "target"), [(a, b) for a in STAGES for b in STAGES])
async def test_every_move_is_allowed_or_refused_by_the_transition_table(crm: Crm, opening: dict[str, Any],
                                                                        start: str, target: str) -> None:
    application = await crm.application(opening["talent"]["id"], opening["job"]["id"])
    before = await moved(crm, application["id"], *ROUTE[start])
    assert before["stage"] == start

    response = await move(crm, application["id"], target)

    if target in ALLOWED[start]:
        assert response.status_code == 200, response.text
        assert response.json()["stage"] == target
    else:
        body = assert_problem(response, 409, "invalid-transition")
        assert body["errors"][0]["loc"] == "body.stage"
        current = (await crm.get(f"/api/v1/applications/{application['id']}")).json()
        assert current["stage"] == start and current["version"] == before["version"]


@pytest.mark.parametrize(("route", "target"), [(HAPPY_PATH, "sourced"), ((), "hired"),
                                               (("screening", "interview", "offer"), "screening"),
                                               (HAPPY_PATH, "rejected"), (("rejected",), "hired")])
async def test_nonsense_moves_are_409_naming_the_stage(crm: Crm, opening: dict[str, Any], route: tuple[str, ...],
                                                       target: str) -> None:
    application = await crm.application(opening["talent"]["id"], opening["job"]["id"])
    await moved(crm, application["id"], *route)
    history_before = (await crm.get(f"/api/v1/applications/{application['id']}/history")).json()

    response = await move(crm, application["id"], target)

    body = assert_problem(response, 409, "invalid-transition")
    assert body["errors"][0]["loc"] == "body.stage"
    assert (await crm.get(f"/api/v1/applications/{application['id']}/history")).json() == history_before


async def test_a_move_to_an_unknown_stage_is_422(crm: Crm, opening: dict[str, Any]) -> None:
    application = await crm.application(opening["talent"]["id"], opening["job"]["id"])

    assert_problem(await move(crm, application["id"], "promoted"), 422, "validation-failed", loc="body.stage")
    assert_problem(await crm.post(f"/api/v1/applications/{application['id']}/stage", json={"stage": "screening",
                                                                                          "when": "now"}),
                   422, "validation-failed", loc="body.when")


async def test_a_move_honours_if_match(crm: Crm, opening: dict[str, Any]) -> None:
    application = await crm.application(opening["talent"]["id"], opening["job"]["id"])

    stale = await move(crm, application["id"], "screening", headers={"If-Match": '"5"'})
    current = await move(crm, application["id"], "screening", headers={"If-Match": '"1"'})

    assert_problem(stale, 412, "version-mismatch")
    assert current.status_code == 200 and current.json()["version"] == 2


async def test_moves_of_another_orgs_or_deleted_applications_are_404(crm: Crm, opening: dict[str, Any]) -> None:
    application = await crm.application(opening["talent"]["id"], opening["job"]["id"])

    assert_problem(await move(crm, application["id"], "screening", who=OTHER_ORG), 404)
    assert_problem(await crm.get(f"/api/v1/applications/{application['id']}/history", who=OTHER_ORG), 404)
    await crm.delete(f"/api/v1/applications/{application['id']}")
    assert_problem(await move(crm, application["id"], "screening"), 404)
    assert_problem(await crm.get(f"/api/v1/applications/{application['id']}/history"), 404)


async def test_the_history_lists_every_move_with_who_when_and_why(crm: Crm, opening: dict[str, Any]) -> None:
    application = await crm.application(opening["talent"]["id"], opening["job"]["id"])
    await move(crm, application["id"], "screening", "简历匹配")
    await move(crm, application["id"], "interview", who=OTHER_RECRUITER)
    await move(crm, application["id"], "rejected", "技术面未通过")
    await move(crm, application["id"], "screening", "重新考虑")
    await move(crm, application["id"], "hired")  # refused: not recorded

    response = await crm.get(f"/api/v1/applications/{application['id']}/history", who=VIEWER)

    assert response.status_code == 200
    history = response.json()
    assert history["total"] == len(history["items"]) == 5 and history["next_cursor"] is None
    assert [(h["from"], h["to"], h["by"], h["reason"]) for h in history["items"]] == [
        (None, "sourced", "user-recruiter-a", "created"),
        ("sourced", "screening", "user-recruiter-a", "简历匹配"),
        ("screening", "interview", "user-recruiter-a2", None),
        ("interview", "rejected", "user-recruiter-a", "技术面未通过"),
        ("rejected", "screening", "user-recruiter-a", "重新考虑"),
    ]
    times = [h["at"] for h in history["items"]]
    assert all(t.endswith("Z") for t in times) and times == sorted(times)
    assert times[0] == application["created_at"]


async def test_the_history_is_kept_per_org(crm: Crm, opening: dict[str, Any]) -> None:
    application = await crm.application(opening["talent"]["id"], opening["job"]["id"])
    await moved(crm, application["id"], "screening")

    async with crm.data.relational.read() as conn:
        orgs = (await conn.execute(sa.select(stage_history.c.org_id).where(
            stage_history.c.application_id == application["id"]))).scalars().all()

    assert orgs == [crm.org, crm.org]


# --- the board ------------------------------------------------------------------------------------


async def test_the_board_counts_every_stage(crm: Crm) -> None:
    job, other_job = await crm.job("后端工程师"), await crm.job("前端工程师")
    talents = [await crm.talent(f"候选人{i}", current_title="工程师", location="上海") for i in range(7)]
    plan = ["sourced", "sourced", "screening", "interview", "offer", "hired", "rejected"]
    apps = []
    for talent, stage in zip(talents, plan, strict=True):
        application = await crm.application(talent["id"], job["id"], source="linkedin")
        await moved(crm, application["id"], *ROUTE[stage])
        apps.append(application)
    await crm.application(talents[0]["id"], other_job["id"])
    deleted_talent = await crm.talent("已删除")
    await crm.application(deleted_talent["id"], job["id"])
    await crm.delete(f"/api/v1/talents/{deleted_talent['id']}")

    response = await crm.get(f"/api/v1/jobs/{job['id']}/pipeline", who=VIEWER)

    assert response.status_code == 200, response.text
    board = response.json()
    assert board["job"] == {"id": job["id"], "title": "后端工程师", "status": "open"}
    assert board["total"] == 7
    assert [(s["stage"], s["count"]) for s in board["stages"]] == [
        ("sourced", 2), ("screening", 1), ("interview", 1), ("offer", 1), ("hired", 1), ("rejected", 1),
        ("withdrawn", 0)]
    for column in board["stages"]:
        assert len(column["applications"]) == column["count"]
    hired = board["stages"][4]["applications"][0]
    assert hired["id"] == apps[5]["id"] and hired["source"] == "linkedin"
    assert hired["talent"] == {"id": talents[5]["id"], "name": "候选人5", "current_title": "工程师", "city": "上海"}
    assert_problem(await crm.get(f"/api/v1/jobs/{job['id']}/pipeline", who=OTHER_ORG), 404)
    assert_problem(await crm.get(f"/api/v1/jobs/{uuid.uuid4()}/pipeline"), 404)


async def test_the_figures_agree_with_the_board_when_a_talent_is_deleted(crm: Crm) -> None:
    job = await crm.job()
    staying, leaving = await crm.talent("留下"), await crm.talent("离开")
    await crm.application(staying["id"], job["id"], source="linkedin")
    hired = await crm.application(leaving["id"], job["id"], source="referral")
    await moved(crm, hired["id"], *HAPPY_PATH)

    await crm.delete(f"/api/v1/talents/{leaving['id']}")

    board = (await crm.get(f"/api/v1/jobs/{job['id']}/pipeline")).json()
    stats = (await crm.get("/api/v1/stats/pipeline", params={"job_id": job["id"]})).json()
    assert board["total"] == 1
    assert stats["applications"] == board["total"]
    assert stats["current"]["hired"] == 0
    assert [s["source"] for s in stats["by_source"]] == ["linkedin"]


async def test_an_empty_board(crm: Crm) -> None:
    job = await crm.job()

    board = (await crm.get(f"/api/v1/jobs/{job['id']}/pipeline")).json()

    assert board["total"] == 0
    assert [s["stage"] for s in board["stages"]] == list(STAGES)
    assert all(s["count"] == 0 and s["applications"] == [] for s in board["stages"])


# --- figures --------------------------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="module")
async def scripted(crm: Crm) -> dict[str, Any]:
    """A small pipeline whose figures are known.

    job 1: A sourced→screening→interview→offer→hired (linkedin)
           B sourced→screening→rejected (referral)
           C sourced (linkedin)
           D sourced→interview (referral)
    job 2: E sourced→withdrawn (no source)
    plus a deleted application and another org's, which count nowhere.
    """
    job1, job2 = await crm.job("后端工程师"), await crm.job("产品经理")
    people = {name: await crm.talent(name) for name in "ABCDEF"}
    plan = [("A", job1, "linkedin", HAPPY_PATH), ("B", job1, "referral", ("screening", "rejected")),
            ("C", job1, "linkedin", ()), ("D", job1, "referral", ("interview",)), ("E", job2, None, ("withdrawn",))]
    apps = {}
    for name, job, source, route in plan:
        fields = {"source": source} if source else {}
        apps[name] = await crm.application(people[name]["id"], job["id"], **fields)
        await moved(crm, apps[name]["id"], *route)
    gone = await crm.application(people["F"]["id"], job1["id"], source="linkedin")
    await moved(crm, gone["id"], *HAPPY_PATH)
    await crm.delete(f"/api/v1/applications/{gone['id']}")
    theirs_job, theirs = await crm.job(who=OTHER_ORG), await crm.talent("X", who=OTHER_ORG)
    theirs_app = await crm.create("applications", {"talent_id": theirs["id"], "job_id": theirs_job["id"],
                                                   "source": "linkedin"}, who=OTHER_ORG)
    for stage in HAPPY_PATH:
        assert (await move(crm, theirs_app["id"], stage, who=OTHER_ORG)).status_code == 200
    return {"job1": job1, "job2": job2, "apps": apps}


async def test_the_funnel_for_one_job(crm: Crm, scripted: dict[str, Any]) -> None:
    response = await crm.get("/api/v1/stats/pipeline", params={"job_id": scripted["job1"]["id"]}, who=VIEWER)

    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["job_id"] == scripted["job1"]["id"]
    assert stats["applications"] == 4
    assert stats["current"] == {"sourced": 1, "screening": 0, "interview": 1, "offer": 0, "hired": 1, "rejected": 1,
                                "withdrawn": 0}
    # Reaching a stage counts as passing the ones before it (D went straight to interview).
    assert [(f["stage"], f["reached"]) for f in stats["funnel"]] == [
        ("sourced", 4), ("screening", 3), ("interview", 2), ("offer", 1), ("hired", 1)]
    assert [f["conversion_from_start"] for f in stats["funnel"]] == [1.0, 0.75, 0.5, 0.25, 0.25]
    assert [f["conversion_from_previous"] for f in stats["funnel"]] == [1.0, 0.75, 0.6667, 0.5, 1.0]
    assert stats["by_source"] == [{"source": "linkedin", "applications": 2, "hired": 1, "hire_rate": 0.5},
                                  {"source": "referral", "applications": 2, "hired": 0, "hire_rate": 0.0}]


async def test_time_in_stage_counts_each_stay_in_an_open_stage(crm: Crm, scripted: dict[str, Any]) -> None:
    stats = (await crm.get("/api/v1/stats/pipeline", params={"job_id": scripted["job1"]["id"]})).json()

    by_stage = {t["stage"]: t for t in stats["time_in_stage"]}
    assert list(by_stage) == ["sourced", "screening", "interview", "offer"]
    # A: 4 stays; B: sourced, screening; C: sourced (still there); D: sourced, interview (still there).
    assert {s: t["samples"] for s, t in by_stage.items()} == {"sourced": 4, "screening": 2, "interview": 2,
                                                              "offer": 1}
    for t in by_stage.values():
        assert 0 <= t["mean_hours"] < 1 and 0 <= t["median_hours"] < 1


async def test_the_funnel_for_the_whole_org(crm: Crm, scripted: dict[str, Any]) -> None:
    stats = (await crm.get("/api/v1/stats/pipeline")).json()

    assert stats["job_id"] is None
    assert stats["applications"] == 5
    assert stats["current"]["withdrawn"] == 1 and stats["current"]["hired"] == 1
    assert [(f["stage"], f["reached"]) for f in stats["funnel"]] == [
        ("sourced", 5), ("screening", 3), ("interview", 2), ("offer", 1), ("hired", 1)]
    assert stats["funnel"][4]["conversion_from_start"] == 0.2
    assert [s["source"] for s in stats["by_source"]] == ["linkedin", "referral", "unknown"]
    assert stats["by_source"][2] == {"source": "unknown", "applications": 1, "hired": 0, "hire_rate": 0.0}


async def test_figures_of_an_empty_org_and_unknown_jobs(crm: Crm) -> None:
    stats = (await crm.get("/api/v1/stats/pipeline")).json()

    assert stats["applications"] == 0
    assert all(f["reached"] == 0 and f["conversion_from_start"] is None for f in stats["funnel"])
    assert all(t["samples"] == 0 and t["mean_hours"] is None for t in stats["time_in_stage"])
    assert stats["by_source"] == []
    assert_problem(await crm.get("/api/v1/stats/pipeline", params={"job_id": str(uuid.uuid4())}), 404)


async def test_job_counts_by_status(crm: Crm) -> None:
    for status in ("open", "open", "open", "paused", "closed", "closed"):
        await crm.job(status=status)
    gone = await crm.job(status="open")
    await crm.delete(f"/api/v1/jobs/{gone['id']}")
    paused = await crm.job(status="open")
    await crm.patch(f"/api/v1/jobs/{paused['id']}", json={"status": "paused"})
    await crm.job(status="open", who=OTHER_ORG)

    response = await crm.get("/api/v1/stats/jobs", who=VIEWER)

    assert response.status_code == 200
    assert response.json() == {"open": 3, "paused": 2, "closed": 2}
    assert (await crm.get("/api/v1/stats/jobs", who=OTHER_ORG)).json() == {"open": 1, "paused": 0, "closed": 0}


async def test_job_list_filters_by_status_and_company(crm: Crm) -> None:
    acme = await crm.create("companies", {"name": "Acme"})
    open_acme = await crm.job(status="open", company_id=acme["id"])
    await crm.job(status="closed", company_id=acme["id"])
    await crm.job(status="open")

    by_both = (await crm.get("/api/v1/jobs", params={"status": "open", "company_id": acme["id"]})).json()

    assert [j["id"] for j in by_both["items"]] == [open_acme["id"]]
    assert (await crm.get("/api/v1/jobs", params={"status": "open"})).json()["total"] == 2


async def test_applications_list_filters_by_job_talent_and_stage(crm: Crm) -> None:
    job1, job2 = await crm.job(), await crm.job()
    a, b = await crm.talent("甲"), await crm.talent("乙")
    a1 = await crm.application(a["id"], job1["id"])
    await crm.application(a["id"], job2["id"])
    b1 = await crm.application(b["id"], job1["id"])
    await moved(crm, b1["id"], "screening")

    def listed(**params: str) -> Any:
        return crm.get("/api/v1/applications", params=params)

    assert {x["id"] for x in (await listed(job_id=job1["id"])).json()["items"]} == {a1["id"], b1["id"]}
    assert (await listed(talent_id=a["id"])).json()["total"] == 2
    assert [x["id"] for x in (await listed(job_id=job1["id"], stage="screening")).json()["items"]] == [b1["id"]]
    walked = await crm.walk("applications", "stage", limit=1)
    assert [x["stage"] for x in walked] == ["screening", "sourced", "sourced"]
