"""Finding the same person entered twice, and merging them into one talent.

Two talents are likely the same person when they share an email address, a phone number, or a
folded name together with an employer. Empty values never match: the key table holds none, and
names shorter than two characters after folding are not compared.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from looma_crm import store
from looma_crm.tables import applications, notes, relationships, talent_keys, talents
from looma_crm.talents import TALENT, project
from shared.service.problems import Problem

LIST_FIELDS = ("emails", "phones", "links", "languages", "tags", "education", "experience", "skills")


async def find(conn: AsyncConnection, org_id: str, talent_id: str) -> list[dict[str, Any]]:
    talent = await store.fetch(conn, TALENT, org_id, talent_id)
    mine = (await conn.execute(sa.select(talent_keys.c.kind, talent_keys.c.value).where(
        talent_keys.c.talent_id == talent_id))).all()
    reasons: dict[str, list[str]] = {}
    contact = [(k, v) for k, v in mine if k in ("email", "phone") and v]
    if contact:
        for other, kind, value in (await conn.execute(
                sa.select(talent_keys.c.talent_id, talent_keys.c.kind, talent_keys.c.value).where(
                    talent_keys.c.org_id == org_id, talent_keys.c.talent_id != talent_id,
                    sa.tuple_(talent_keys.c.kind, talent_keys.c.value).in_(contact)))).all():
            reasons.setdefault(other, []).append(f"same {kind}")
    employers = [v for k, v in mine if k == "employer" and v]
    if len(talent["name_key"]) >= 2 and employers:
        others = (await conn.execute(sa.select(talents.c.id).where(
            store.live(TALENT, org_id), talents.c.id != talent_id, talents.c.name_key == talent["name_key"],
            sa.exists().where(talent_keys.c.talent_id == talents.c.id, talent_keys.c.kind == "employer",
                              talent_keys.c.value.in_(employers))))).scalars()
        for other in others:
            reasons.setdefault(other, []).append("same name and employer")
    rows = await store.fetch_many(conn, TALENT, org_id, list(reasons))
    return [{"talent": store.view(rows[i]), "reasons": sorted(set(reasons[i]))} for i in reasons if i in rows]


def merged_data(primary: dict[str, Any], others: list[dict[str, Any]]) -> dict[str, Any]:
    """The primary's fields, filled from the others where empty; lists joined without repeats."""
    data = dict(primary)
    for other in others:
        for name, value in other.items():
            if name in LIST_FIELDS:
                seen = {repr(v) for v in data.get(name, [])}
                data[name] = list(data.get(name, [])) + [v for v in value if repr(v) not in seen]
            elif data.get(name) in (None, "", {}, []) and value not in (None, "", {}, []):
                data[name] = value
    return data


async def merge(conn: AsyncConnection, org_id: str, primary_id: str, duplicate_ids: list[str], actor: str,
                if_match: int | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Fold the duplicates into the primary; applications, notes and relationships follow it."""
    duplicate_ids = list(dict.fromkeys(duplicate_ids))
    if primary_id in duplicate_ids:
        raise Problem(422, "a talent cannot be merged into itself", slug="validation-failed",
                      errors=[{"loc": "body.duplicate_ids", "msg": "contains the primary id"}])
    primary = await store.fetch(conn, TALENT, org_id, primary_id)
    store.check_version(TALENT, primary, if_match)
    others = [await store.fetch(conn, TALENT, org_id, i) for i in duplicate_ids]
    now = time.time()
    data = merged_data(primary["data"], [o["data"] for o in others])
    data["merged_from"] = list(data.get("merged_from", [])) + [
        {"id": o["id"], "name": o["data"]["name"], "at": store.rfc3339(now), "by": actor} for o in others]
    conflicts: list[dict[str, Any]] = []
    sources: set[str] = set()  # talents with a relationship to a duplicate
    taken = set((await conn.execute(sa.select(applications.c.job_id).where(
        applications.c.talent_id == primary_id, applications.c.deleted_at.is_(None)))).scalars())
    for other in others:
        moving = (await conn.execute(sa.select(applications.c.id, applications.c.job_id, applications.c.data).where(
            applications.c.talent_id == other["id"], applications.c.deleted_at.is_(None)))).all()
        for app_id, job_id, app_data in moving:
            if job_id in taken:  # the primary already applied: keep theirs, close this one with a trace
                await conn.execute(applications.update().where(applications.c.id == app_id).values(
                    deleted_at=now, updated_at=now, version=applications.c.version + 1))
                conflicts.append({"application_id": app_id, "job_id": job_id, "kept": "primary's application"})
                continue
            taken.add(job_id)
            await conn.execute(applications.update().where(applications.c.id == app_id).values(
                talent_id=primary_id, data={**app_data, "talent_id": primary_id}, updated_at=now,
                version=applications.c.version + 1))
        # Notes and relationships follow, in their JSON (what the API shows) as in their columns.
        for note in (await conn.execute(sa.select(notes.c.id, notes.c.data).where(
                notes.c.org_id == org_id, notes.c.subject_type == "talent", notes.c.subject_id == other["id"]))).all():
            await conn.execute(notes.update().where(notes.c.id == note.id).values(
                subject_id=primary_id, data={**note.data, "subject_id": primary_id}, updated_at=now,
                version=notes.c.version + 1, revision=notes.c.revision + 1))
        for column in ("source_id", "target_id"):
            for link in (await conn.execute(sa.select(relationships.c.id, relationships.c.source_id,
                                                      relationships.c.data).where(
                    relationships.c.org_id == org_id, relationships.c[column] == other["id"]))).all():
                await conn.execute(relationships.update().where(relationships.c.id == link.id).values(
                    **{column: primary_id}, data={**link.data, column: primary_id}, updated_at=now,
                    version=relationships.c.version + 1, revision=relationships.c.revision + 1))
                if column == "target_id":
                    sources.add(link.source_id)
        gone = await store.mark_deleted(conn, TALENT, other, None, merged_into=primary_id)
        await project(conn, gone)
    # Relationships that now join the primary to itself, or repeat one it had, are closed.
    links = (await conn.execute(sa.select(relationships.c.id, relationships.c.source_id, relationships.c.target_id,
                                          relationships.c.type).where(
        relationships.c.org_id == org_id, relationships.c.deleted_at.is_(None),
        sa.or_(relationships.c.source_id == primary_id, relationships.c.target_id == primary_id))
        .order_by(relationships.c.created_at, relationships.c.id))).all()
    seen: set[tuple[str, str, str]] = set()
    closing = []
    for link in links:
        if link.source_id == link.target_id or (link.source_id, link.target_id, link.type) in seen:
            closing.append(link.id)
        seen.add((link.source_id, link.target_id, link.type))
    if closing:
        await conn.execute(relationships.update().where(relationships.c.id.in_(closing)).values(
            deleted_at=now, updated_at=now, version=relationships.c.version + 1,
            revision=relationships.c.revision + 1))
    # Talents whose relationships pointed at a duplicate now point at the primary: their graph edges move.
    for source_id in sorted(sources - {primary_id, *duplicate_ids}):
        source = await store.bump_revision(conn, TALENT, org_id, source_id)
        if source is not None:
            await project(conn, source)
    row = await store.replace(conn, TALENT, primary, data, None)
    await project(conn, row)
    return row, conflicts
