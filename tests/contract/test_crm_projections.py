"""The CRM's projections end to end: writes through the API reach full-text search and the
relationship graph by way of the outbox, with the projector's delivery loop running beside the
app in the test's event loop, over SQLite and PostgreSQL.

Projections trail their writes, so every check polls (up to PROJECTION_WAIT seconds).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from shared.config import LoomaSettings
from shared.database.outbox import wake_projector
from shared.database.schema import upgrade
from shared.projector.projections import all_projections
from shared.projector.projector import Projector, ProjectorPolicy
from tests.unit.test_crm_entities import OTHER_ORG, Crm, CrmHarness, assert_problem, crm_settings

PROJECTION_WAIT = 5.0


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.server)])
def crm_settings_for(request: pytest.FixtureRequest, tmp_path: Path) -> LoomaSettings:
    """Settings on one relational backend (the projection stores live in it), the schema migrated."""
    if request.param == "sqlite":
        settings = crm_settings(tmp_path)
    else:
        settings = crm_settings(tmp_path, database_url=request.getfixturevalue("postgres_url"))
    upgrade(settings.sqlalchemy_url)
    return settings


@pytest.fixture
async def crm(crm_settings_for: LoomaSettings) -> AsyncIterator[Crm]:
    """A started CRM app with a projector delivering its outbox, both in this test's event loop."""
    harness = CrmHarness(crm_settings_for)
    await harness.start()
    data = harness.app.ctx.store
    projector = Projector(data, all_projections(data), policy=ProjectorPolicy(idle_poll=0.1, lock_ttl=4.0))
    stop = asyncio.Event()
    running = asyncio.create_task(projector.run(stop))
    try:
        yield Crm(harness)
    finally:
        stop.set()
        await wake_projector(data.cache)
        await asyncio.wait_for(running, 10)
        await harness.stop()


async def eventually(check: Callable[[], Awaitable[Any]], expected: Any, what: str) -> None:
    """Poll `check` until it answers `expected`; fail with the last answer after PROJECTION_WAIT."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PROJECTION_WAIT
    while True:
        answer = await check()
        if answer == expected:
            return
        if loop.time() > deadline:
            raise AssertionError(f"{what}: still {answer!r} after {PROJECTION_WAIT} s, expected {expected!r}")
        await asyncio.sleep(0.05)


def found(crm: Crm, who: Any = None, **params: str) -> Callable[[], Awaitable[set[str]]]:
    async def search() -> set[str]:
        kwargs = {"who": who} if who is not None else {}
        response = await crm.get("/api/v1/talents", params=params, **kwargs)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == len(page["items"])
        return {item["id"] for item in page["items"]}

    return search


def path_edges(crm: Crm, source: str, target: str) -> Callable[[], Awaitable[list[list[tuple[str, str, str]]]]]:
    async def paths() -> list[list[tuple[str, str, str]]]:
        response = await crm.get(f"/api/v1/talents/{source}/paths/{target}")
        assert response.status_code == 200, response.text
        return [[(e["from"], e["type"], e["to"]) for e in p["edges"]] for p in response.json()["paths"]]

    return paths


def reachable(crm: Crm, talent_id: str, depth: int) -> Callable[[], Awaitable[set[str]]]:
    async def network() -> set[str]:
        response = await crm.get(f"/api/v1/talents/{talent_id}/network", params={"depth": str(depth)})
        assert response.status_code == 200, response.text
        return {person["id"] for person in response.json()["reachable"]}

    return network


# --- search ---------------------------------------------------------------------------------------


async def test_a_new_talent_is_found_by_a_word_of_its_title(crm: Crm) -> None:
    talent = await crm.talent("张三", current_title="资深后端工程师", location="上海市浦东新区")
    await crm.talent("李四", current_title="产品经理", location="上海")

    await eventually(found(crm, q="后端"), {talent["id"]}, "q=后端")

    page = (await crm.get("/api/v1/talents", params={"q": "后端"})).json()
    hit = page["items"][0]
    assert {k: hit[k] for k in ("id", "name", "current_title", "city", "version")} == {
        "id": talent["id"], "name": "张三", "current_title": "资深后端工程师", "city": "上海", "version": 1}
    assert hit["score"] > 0
    assert isinstance(hit["highlights"], dict)


async def test_search_combines_with_the_list_filters(crm: Crm) -> None:
    shanghai = await crm.talent("张三", current_title="资深后端工程师", location="上海市浦东新区",
                                skills=[{"name": "Python"}], years_of_experience=8, job_status="open")
    beijing = await crm.talent("王五", current_title="后端开发", location="Beijing, China",
                               skills=[{"name": "Java"}], years_of_experience=2, job_status="open")
    await eventually(found(crm, q="后端"), {shanghai["id"], beijing["id"]}, "q=后端")

    assert await found(crm, q="后端", city="上海")() == {shanghai["id"]}
    assert await found(crm, q="后端", city="Shanghai")() == {shanghai["id"]}
    assert await found(crm, q="后端", city="北京")() == {beijing["id"]}
    assert await found(crm, q="后端", city="深圳")() == set()
    assert await found(crm, q="后端", skills="python")() == {shanghai["id"]}
    assert await found(crm, q="后端", years_min="5")() == {shanghai["id"]}
    assert await found(crm, q="后端", status="open", city="北京")() == {beijing["id"]}
    assert await found(crm, q="后端", status="passive")() == set()


async def test_search_pages_with_a_cursor(crm: Crm) -> None:
    talents = [await crm.talent(f"工程师{i}", current_title="后端工程师") for i in range(5)]
    await eventually(found(crm, q="后端"), {t["id"] for t in talents}, "q=后端")

    first = (await crm.get("/api/v1/talents", params={"q": "后端", "limit": "2"})).json()
    second = (await crm.get("/api/v1/talents", params={"q": "后端", "limit": "2",
                                                       "cursor": first["next_cursor"]})).json()
    third = (await crm.get("/api/v1/talents", params={"q": "后端", "limit": "2",
                                                      "cursor": second["next_cursor"]})).json()

    walked = [t["id"] for page in (first, second, third) for t in page["items"]]
    assert sorted(walked) == sorted(t["id"] for t in talents)
    assert first["total"] == 5 and third["next_cursor"] is None
    assert_problem(await crm.get("/api/v1/talents", params={"q": "后端", "cursor": "bogus"}), 400, "invalid-cursor")


async def test_a_talent_no_longer_matching_leaves_the_search_and_a_deleted_one_is_gone(crm: Crm) -> None:
    talent = await crm.talent("张三", current_title="资深后端工程师", location="上海")
    other = await crm.talent("赵六", current_title="后端架构师", location="上海")
    await eventually(found(crm, q="后端"), {talent["id"], other["id"]}, "q=后端")

    changed = await crm.patch(f"/api/v1/talents/{talent['id']}", json={"current_title": "产品经理"})
    assert changed.status_code == 200

    await eventually(found(crm, q="后端"), {other["id"]}, "after the title changed")
    await eventually(found(crm, q="产品经理"), {talent["id"]}, "the new title")

    assert (await crm.delete(f"/api/v1/talents/{other['id']}")).status_code == 204

    await eventually(found(crm, q="后端"), set(), "after the delete")
    await eventually(found(crm, q="赵六"), set(), "by the deleted talent's name")


async def test_search_stays_in_the_org(crm: Crm) -> None:
    mine = await crm.talent("张三", current_title="资深后端工程师")
    theirs = await crm.talent("李四", current_title="资深后端工程师", who=OTHER_ORG)

    await eventually(found(crm, q="后端"), {mine["id"]}, "org a")
    await eventually(found(crm, who=OTHER_ORG, q="后端"), {theirs["id"]}, "org b")


# --- the relationship graph -----------------------------------------------------------------------


async def test_related_talents_have_a_path_and_a_network(crm: Crm) -> None:
    a = await crm.talent("甲", current_title="工程师")
    b = await crm.talent("乙", current_title="经理")
    c = await crm.talent("丙", current_title="总监")
    await crm.talent("丁")  # knows nobody
    await crm.create("relationships", {"source_id": a["id"], "target_id": b["id"], "type": "friend",
                                       "strength": 0.8})
    await crm.create("relationships", {"source_id": b["id"], "target_id": c["id"], "type": "colleague"})

    await eventually(path_edges(crm, a["id"], b["id"]), [[(a["id"], "friend", b["id"])]], "path a-b")
    await eventually(path_edges(crm, a["id"], c["id"]),
                     [[(a["id"], "friend", b["id"]), (b["id"], "colleague", c["id"])]], "path a-c")
    await eventually(path_edges(crm, c["id"], a["id"]),  # edges in the path's order, each as it points
                     [[(b["id"], "colleague", c["id"]), (a["id"], "friend", b["id"])]], "path c-a")
    await eventually(reachable(crm, a["id"], 2), {b["id"], c["id"]}, "a's network at depth 2")
    assert await reachable(crm, a["id"], 1)() == {b["id"]}

    paths = (await crm.get(f"/api/v1/talents/{a['id']}/paths/{c['id']}")).json()
    assert (paths["from"], paths["to"]) == (a["id"], c["id"])
    assert [(n["id"], n["name"]) for n in paths["paths"][0]["nodes"]] == [(a["id"], "甲"), (b["id"], "乙"),
                                                                         (c["id"], "丙")]
    assert paths["paths"][0]["length"] == 2
    network = (await crm.get(f"/api/v1/talents/{a['id']}/network", params={"depth": "2"})).json()
    assert {p["id"]: p["name"] for p in network["reachable"]} == {b["id"]: "乙", c["id"]: "丙"}
    assert [(r["talent"]["id"], r["type"], r["direction"], r["strength"]) for r in network["relationships"]] == [
        (b["id"], "friend", "out", 0.8)]
    assert_problem(await crm.get(f"/api/v1/talents/{a['id']}/network", params={"depth": "4"}), 400,
                   loc="query.depth")
    assert_problem(await crm.get(f"/api/v1/talents/{a['id']}/paths/{a['id']}"), 400)
    assert_problem(await crm.get(f"/api/v1/talents/{a['id']}/paths/{c['id']}", who=OTHER_ORG), 404)
    assert_problem(await crm.get(f"/api/v1/talents/{a['id']}/network", who=OTHER_ORG), 404)


async def test_deleting_a_relationship_removes_its_path(crm: Crm) -> None:
    a = await crm.talent("甲")
    b = await crm.talent("乙")
    link = await crm.create("relationships", {"source_id": a["id"], "target_id": b["id"], "type": "mentor"})
    await eventually(path_edges(crm, a["id"], b["id"]), [[(a["id"], "mentor", b["id"])]], "path a-b")

    assert (await crm.delete(f"/api/v1/relationships/{link['id']}")).status_code == 204

    await eventually(path_edges(crm, a["id"], b["id"]), [], "path a-b after the relationship was deleted")
    await eventually(reachable(crm, a["id"], 2), set(), "a's network after the relationship was deleted")


async def test_changing_a_relationships_type_replaces_its_edge(crm: Crm) -> None:
    a = await crm.talent("甲")
    b = await crm.talent("乙")
    link = await crm.create("relationships", {"source_id": a["id"], "target_id": b["id"], "type": "colleague"})
    await eventually(path_edges(crm, a["id"], b["id"]), [[(a["id"], "colleague", b["id"])]], "path a-b")

    assert (await crm.patch(f"/api/v1/relationships/{link['id']}", json={"type": "friend"})).status_code == 200

    await eventually(path_edges(crm, a["id"], b["id"]), [[(a["id"], "friend", b["id"])]], "the changed type")


async def test_moving_a_relationship_to_another_source_moves_its_edge(crm: Crm) -> None:
    a, b, c = await crm.talent("甲"), await crm.talent("乙"), await crm.talent("丙")
    link = await crm.create("relationships", {"source_id": a["id"], "target_id": b["id"], "type": "referral"})
    await eventually(path_edges(crm, a["id"], b["id"]), [[(a["id"], "referral", b["id"])]], "path a-b")

    moved = await crm.patch(f"/api/v1/relationships/{link['id']}", json={"source_id": c["id"]})
    assert moved.status_code == 200, moved.text

    await eventually(path_edges(crm, c["id"], b["id"]), [[(c["id"], "referral", b["id"])]], "path c-b")
    await eventually(path_edges(crm, a["id"], b["id"]), [], "path a-b after the relationship moved to c")


async def test_deleting_a_talent_takes_it_out_of_paths_and_networks(crm: Crm) -> None:
    a, b, c = await crm.talent("甲"), await crm.talent("乙"), await crm.talent("丙")
    await crm.create("relationships", {"source_id": a["id"], "target_id": b["id"], "type": "friend"})
    await crm.create("relationships", {"source_id": b["id"], "target_id": c["id"], "type": "friend"})
    await eventually(reachable(crm, a["id"], 2), {b["id"], c["id"]}, "a's network")

    await crm.delete(f"/api/v1/talents/{b['id']}")

    await eventually(reachable(crm, a["id"], 3), set(), "a's network without b")
    await eventually(path_edges(crm, a["id"], c["id"]), [], "path a-c without b")


async def test_shared_employers_connect_talents_in_the_graph(crm: Crm) -> None:
    a = await crm.talent("甲", experience=[{"company": "字节跳动", "title": "工程师"}])
    b = await crm.talent("乙", current_company="字节跳动")
    await crm.talent("丙", current_company="腾讯")

    await eventually(reachable(crm, a["id"], 2), {b["id"]}, "a's network through a shared employer")
    network = (await crm.get(f"/api/v1/talents/{a['id']}/network")).json()
    assert [(g["name"], [t["id"] for t in g["talents"]]) for g in network["shared_employers"]] == [
        ("字节跳动", [b["id"]])]


async def test_relationships_moved_by_a_merge_reach_the_graph(crm: Crm) -> None:
    primary = await crm.talent("张三", emails=["zhang@example.com"])
    duplicate = await crm.talent("张三", emails=["zhang@example.com"])
    friend = await crm.talent("李四")
    await crm.create("relationships", {"source_id": friend["id"], "target_id": duplicate["id"], "type": "friend"})
    await eventually(path_edges(crm, friend["id"], duplicate["id"]), [[(friend["id"], "friend", duplicate["id"])]],
                     "path friend-duplicate")

    response = await crm.post(f"/api/v1/talents/{primary['id']}/merge", json={"duplicate_ids": [duplicate["id"]]})
    assert response.status_code == 200, response.text

    await eventually(path_edges(crm, friend["id"], primary["id"]), [[(friend["id"], "friend", primary["id"])]],
                     "path friend-primary after the merge")
    await eventually(found(crm, q="张三"), {primary["id"]}, "the merged talent in search")
