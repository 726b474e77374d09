"""Talents: the people a recruiting team knows, with their contacts, history and skills."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from looma_crm import skills as skill_terms
from looma_crm.contacts import name_key
from looma_crm.models import Talent
from looma_crm.places import city_of
from looma_crm.projections import employers, schools, talent_events
from looma_crm.store import Kind
from looma_crm.tables import relationships, talent_keys, talents
from shared.database.outbox import record


def _columns(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": data["name"], "name_key": name_key(data["name"])[:200], "city": data.get("city"),
            "years_of_experience": data.get("years_of_experience"), "job_status": data.get("job_status"),
            "source": data.get("source"), "current_company": (data.get("current_company") or None)}


TALENT = Kind("talent", talents, _columns, sortable={
    "created_at": "created_at", "updated_at": "updated_at", "name": "name_key",
    "years_of_experience": "years_of_experience", "city": "city"})


def prepare(body: Talent) -> dict[str, Any]:
    """The talent's JSON as stored: validated, normalised, with `city` derived from `location`."""
    data = body.model_dump(mode="json")
    data["emails"] = list(dict.fromkeys(data["emails"]))
    data["phones"] = list(dict.fromkeys(data["phones"]))
    data["tags"] = list(dict.fromkeys(data["tags"]))
    data["skills"] = skill_terms.normalise(data["skills"], "skills")
    data["city"] = city_of(data.get("location"))
    return data


def keys(talent_id: str, org_id: str, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows of crm_talent_keys: what lists filter on and duplicates are found by."""
    values: set[tuple[str, str]] = set()
    values.update(("email", e.lower()) for e in data.get("emails", []))
    values.update(("phone", p) for p in data.get("phones", []))
    values.update(("skill", skill_terms.skill_key(s)[:255]) for s in data.get("skills", []))
    values.update(("tag", t.casefold()) for t in data.get("tags", []))
    values.update(("employer", name_key(n)[:255]) for n in employers(data).values())
    values.update(("school", name_key(n)[:255]) for n in schools(data).values())
    return [{"talent_id": talent_id, "org_id": org_id, "kind": kind, "value": value} for kind, value in sorted(values)]


async def write_keys(conn: AsyncConnection, row: Mapping[str, Any]) -> None:
    await conn.execute(talent_keys.delete().where(talent_keys.c.talent_id == row["id"]))
    if row.get("deleted_at") is None:
        rows = keys(row["id"], row["org_id"], row["data"])
        if rows:
            await conn.execute(talent_keys.insert(), rows)


async def outgoing_relationships(conn: AsyncConnection, org_id: str, talent_id: str) -> list[dict[str, Any]]:
    rows = (await conn.execute(sa.select(relationships).where(
        relationships.c.org_id == org_id, relationships.c.source_id == talent_id,
        relationships.c.deleted_at.is_(None)))).mappings().all()
    return [{"id": r["id"], "type": r["type"], "target_id": r["target_id"], "strength": r["strength"]} for r in rows]


async def project(conn: AsyncConnection, row: Mapping[str, Any]) -> None:
    """Keys and outbox events for the talent as `row` now stands, in the caller's transaction."""
    await write_keys(conn, row)
    links = [] if row.get("deleted_at") is not None else \
        await outgoing_relationships(conn, row["org_id"], row["id"])
    await record(conn, *talent_events(dict(row), links))


def filters(args: Mapping[str, Any]) -> list[Any]:
    """Relational conditions from the list's query parameters (all of them must hold)."""
    table, where = talents, []
    if city := args.get("city"):
        from looma_crm.places import canonical_city

        where.append(table.c.city == canonical_city(city))
    if status := args.get("status"):
        where.append(table.c.job_status == status)
    if source := args.get("source"):
        where.append(table.c.source == source)
    for name, op in (("years_min", ">="), ("years_max", "<=")):
        if (raw := args.get(name)) is not None:
            value = _number(name, raw)
            column = table.c.years_of_experience
            where.append(column >= value if op == ">=" else column <= value)
    for kind, raw in (("skill", args.get("skills")), ("tag", args.get("tags"))):
        for value in _split(raw):
            key = skill_terms.filter_key(value) if kind == "skill" else value.casefold()
            where.append(sa.exists().where(talent_keys.c.talent_id == table.c.id, talent_keys.c.kind == kind,
                                           talent_keys.c.value == key))
    return where


def _split(raw: Any) -> list[str]:
    return [v.strip() for v in str(raw).split(",") if v.strip()] if raw else []


def _number(name: str, raw: Any) -> float:
    from shared.service.problems import Problem

    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if not 0 <= value <= 80:
        raise Problem(400, f"{name} must be a number of years from 0 to 80", slug="invalid-parameter",
                      errors=[{"loc": f"query.{name}", "msg": "0..80"}])
    return value
