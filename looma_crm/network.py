"""Who knows whom: relationships, shared employers and schools, and paths between talents.

Direct relationships and shared employers or schools are read from the relational store (exact
and immediate). People further away and the shortest paths come from the relationship graph,
which the projector keeps in step with the talents (so it trails a write by a moment).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from looma_crm import store
from looma_crm.contacts import name_key
from looma_crm.domain import COMPANY, RELATIONSHIP
from looma_crm.tables import relationships, talent_keys, talents
from looma_crm.talents import TALENT
from shared.database import UnifiedDataAccess
from shared.database.graph import GraphInputError, Path
from shared.service.problems import Problem

PEOPLE_LIMIT = 50


def _person(row: Any) -> dict[str, Any]:
    data = row["data"]
    return {"id": row["id"], "name": data["name"], "current_title": data.get("current_title"),
            "current_company": data.get("current_company"), "city": data.get("city")}


async def _sharing(conn: AsyncConnection, org_id: str, talent_id: str, kind: str) -> list[dict[str, Any]]:
    mine = (await conn.execute(sa.select(talent_keys.c.value).where(talent_keys.c.talent_id == talent_id,
                                                                    talent_keys.c.kind == kind))).scalars().all()
    if not mine:
        return []
    rows = (await conn.execute(
        sa.select(talent_keys.c.value, talents).join(talents, talents.c.id == talent_keys.c.talent_id)
        .where(talent_keys.c.org_id == org_id, talent_keys.c.kind == kind, talent_keys.c.value.in_(mine),
               talent_keys.c.talent_id != talent_id, store.live(TALENT, org_id))
        .order_by(talent_keys.c.value, talents.c.name_key).limit(PEOPLE_LIMIT * 4))).mappings().all()
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        people = grouped.setdefault(row["value"], [])
        if len(people) < PEOPLE_LIMIT:
            people.append(_person(row))
    return [{"name": value, "talents": people} for value, people in grouped.items()]


async def network(data: UnifiedDataAccess, org_id: str, talent_id: str, depth: int) -> dict[str, Any]:
    if not 1 <= depth <= 3:
        raise Problem(400, "depth must be 1, 2 or 3", slug="invalid-parameter",
                      errors=[{"loc": "query.depth", "msg": "1..3"}])
    async with data.relational.read() as conn:
        talent = await store.fetch(conn, TALENT, org_id, talent_id)
        links = (await conn.execute(sa.select(relationships).where(
            store.live(RELATIONSHIP, org_id), sa.or_(relationships.c.source_id == talent_id,
                                           relationships.c.target_id == talent_id)))).mappings().all()
        others = await store.fetch_many(conn, TALENT, org_id,
                                        [r["target_id"] if r["source_id"] == talent_id else r["source_id"] for r in links])
        direct = []
        for r in links:
            other = r["target_id"] if r["source_id"] == talent_id else r["source_id"]
            if other in others:
                direct.append({"relationship_id": r["id"], "type": r["type"], "strength": r["strength"],
                               "direction": "out" if r["source_id"] == talent_id else "in",
                               "talent": _person(others[other])})
        employers = await _sharing(conn, org_id, talent_id, "employer")
        schools = await _sharing(conn, org_id, talent_id, "school")
    reachable = await data.graph.neighbours(org_id, talent_id, depth=depth, labels=["Talent"], limit=PEOPLE_LIMIT)
    return {"talent": _person(talent), "depth": depth, "relationships": direct, "shared_employers": employers,
            "shared_schools": schools,
            "reachable": [{"id": n.id, "name": n.properties.get("name"), "current_title": n.properties.get("title"),
                           "current_company": n.properties.get("company")} for n in reachable]}


def _path_view(path: Path) -> dict[str, Any]:
    return {"length": len(path.edges),
            "nodes": [{"id": n.id, "label": n.label, "name": n.properties.get("name")} for n in path.nodes],
            "edges": [{"from": e.source, "type": e.type.lower(), "to": e.target} for e in path.edges]}


async def paths(data: UnifiedDataAccess, org_id: str, talent_id: str, other_id: str) -> dict[str, Any]:
    async with data.relational.read() as conn:
        await store.fetch(conn, TALENT, org_id, talent_id)
        await store.fetch(conn, TALENT, org_id, other_id)
    if talent_id == other_id:
        raise Problem(400, "a path needs two different talents", slug="invalid-parameter")
    try:
        found = await data.graph.all_shortest_paths(org_id, talent_id, other_id, max_depth=4)
    except GraphInputError as error:
        raise Problem(400, str(error), slug="invalid-parameter") from None
    return {"from": talent_id, "to": other_id, "paths": [_path_view(p) for p in found[:10]]}


async def contacts(conn: AsyncConnection, org_id: str, company_id: str) -> dict[str, Any]:
    """Everyone the org knows who works or worked at the company, current employees first."""
    company = await store.fetch(conn, COMPANY, org_id, company_id)
    key = name_key(company["data"]["name"])
    rows = (await conn.execute(
        sa.select(talents).where(store.live(TALENT, org_id), sa.exists().where(
            talent_keys.c.talent_id == talents.c.id, talent_keys.c.kind == "employer", talent_keys.c.value == key))
        .order_by(talents.c.name_key).limit(200))).mappings().all()
    people = [{**_person(r), "current": name_key(r["data"].get("current_company") or "") == key} for r in rows]
    people.sort(key=lambda p: not p["current"])
    return {"company": {"id": company["id"], "name": company["data"]["name"]}, "total": len(people),
            "items": people}
