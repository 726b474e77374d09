"""A talent from a resume: the same person found and updated, or a new talent created.

    POST /api/v1/talents/resolve   body: a talent, as POST /api/v1/talents takes it
    → 201 {talent_id, created: true, matched_by: null, talent}
    → 200 {talent_id, created: false, matched_by: "email" | "phone" | "name and employer", talent}

The resume service calls this for every ingested resume. A talent of the org is the same person
when it shares an email address, then a phone number, then the folded name together with an
employer (the keys duplicates.find compares; empty values never match). The match is updated:
the resume's current title, company, location, summary and years of experience replace the
stored ones (a newer resume is the better witness of the present), every other field is filled
only where empty, and lists are joined without repeats. Idempotency-Key is honoured for a day:
a retry answers what the first request answered and changes nothing.
"""

from __future__ import annotations

import json as jsonlib
from typing import Any

import sqlalchemy as sa
from sanic import HTTPResponse, Request
from sanic.response import json
from sqlalchemy.ext.asyncio import AsyncConnection

from looma_crm import store
from looma_crm.contacts import name_key
from looma_crm.duplicates import merged_data
from looma_crm.entities import IDEMPOTENCY_TTL, validated
from looma_crm.tables import talent_keys, talents
from looma_crm.talents import TALENT, keys, project
from shared.database.outbox import wake_projector
from shared.service import Problem, json_body
from shared.service.auth import caller
from shared.service.tenancy import org_of

NEWER_WINS = ("current_title", "current_company", "location", "summary", "years_of_experience")
PENDING = b"pending"


async def match(conn: AsyncConnection, org_id: str, data: dict[str, Any]) -> tuple[str, str] | None:
    """The org's live talent that is the same person as `data`, and by which key; None if none is."""
    wanted = keys("", org_id, data)
    for kind in ("email", "phone"):
        values = [row["value"] for row in wanted if row["kind"] == kind]
        if values:
            found = (await conn.execute(
                sa.select(talent_keys.c.talent_id).join(talents, talents.c.id == talent_keys.c.talent_id)
                .where(talent_keys.c.org_id == org_id, talent_keys.c.kind == kind, talent_keys.c.value.in_(values),
                       talents.c.deleted_at.is_(None)).order_by(talents.c.created_at, talents.c.id).limit(1))).first()
            if found is not None:
                return found[0], kind
    folded = name_key(data["name"])[:200]
    employers = [row["value"] for row in wanted if row["kind"] == "employer"]
    if len(folded) >= 2 and employers:
        found = (await conn.execute(
            sa.select(talents.c.id).where(
                store.live(TALENT, org_id), talents.c.name_key == folded,
                sa.exists().where(talent_keys.c.talent_id == talents.c.id, talent_keys.c.kind == "employer",
                                  talent_keys.c.value.in_(employers)))
            .order_by(talents.c.created_at, talents.c.id).limit(1))).first()
        if found is not None:
            return found[0], "name and employer"
    return None


def updated(current: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    data = merged_data(current, [incoming])
    data["emails"] = list({email.lower(): email for email in reversed(data.get("emails", []))}.values())[::-1]
    for name in NEWER_WINS:
        if incoming.get(name) not in (None, ""):
            data[name] = incoming[name]
    return data


async def resolve(request: Request) -> HTTPResponse:
    from looma_crm.domain import TALENTS  # the entity, with its model and preparation

    org, body = org_of(request), json_body(request)
    incoming = validated(TALENTS, body)
    key = request.headers.get("idempotency-key")
    cache = request.app.ctx.store.cache
    slot = f"crm:idempotency:{org}:talent-resolve:{key}" if key else None
    if slot is not None:
        if len(key) > 200:
            raise Problem(400, "Idempotency-Key has at most 200 characters", slug="invalid-header")
        if not await cache.add(slot, PENDING, ttl=IDEMPOTENCY_TTL):
            earlier = await cache.get(slot)
            if earlier in (None, PENDING):
                raise Problem(409, "a request with this Idempotency-Key is still being processed; retry it shortly",
                              slug="idempotency-in-progress", headers={"Retry-After": "1"})
            answer = jsonlib.loads(earlier)
            return json(answer["body"], status=answer["status"])
    try:
        async with request.app.ctx.store.relational.write() as conn:
            found = await match(conn, org, incoming)
            if found is None:
                row = await store.insert(conn, TALENT, org, incoming, caller(request).subject)
            else:
                current = await store.fetch(conn, TALENT, org, found[0])
                merged = validated(TALENTS, {k: v for k, v in updated(current["data"], incoming).items()
                                             if k in TALENTS.model.model_fields})
                merged.update({k: current["data"][k] for k in TALENTS.kept if k in current["data"]})
                row = await store.replace(conn, TALENT, current, merged, None)
            await project(conn, row)
    except BaseException:
        if slot is not None:
            await cache.delete(slot)
        raise
    status = 201 if found is None else 200
    answer = {"talent_id": row["id"], "created": found is None, "matched_by": None if found is None else found[1],
              "talent": store.view(row)}
    if slot is not None:
        await cache.set(slot, jsonlib.dumps({"status": status, "body": answer}, default=str).encode(),
                        ttl=IDEMPOTENCY_TTL)
    await wake_projector(cache)
    return json(answer, status=status)
