"""The hiring pipeline: applications move through stages, and every move is remembered.

    sourced → screening → interview → offer → hired
    any open stage → rejected or withdrawn; rejected → screening (reconsidered);
    withdrawn → sourced (back in the running)

Other moves (hired → sourced, offer → screening...) answer 409 naming `stage`. Each move records
who made it, when and why in crm_stage_history, which the funnel and time-in-stage figures read.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from looma_crm import store
from looma_crm.domain import JOB
from looma_crm.entities import Entity
from looma_crm.models import Application
from looma_crm.references import body_loc, require
from looma_crm.store import Kind, live
from looma_crm.tables import applications, stage_history, talents
from looma_crm.talents import TALENT
from shared.service.auth.permissions import TALENT_READ, TALENT_WRITE
from shared.service.problems import Problem

STAGES = ("sourced", "screening", "interview", "offer", "hired", "rejected", "withdrawn")
OPEN_STAGES = ("sourced", "screening", "interview", "offer")
TRANSITIONS: dict[str, frozenset[str]] = {
    "sourced": frozenset({"screening", "interview", "rejected", "withdrawn"}),
    "screening": frozenset({"interview", "rejected", "withdrawn"}),
    "interview": frozenset({"offer", "rejected", "withdrawn"}),
    "offer": frozenset({"hired", "rejected", "withdrawn"}),
    "hired": frozenset(),
    "rejected": frozenset({"screening"}),
    "withdrawn": frozenset({"sourced"}),
}


def _due(data: Mapping[str, Any]) -> float | None:
    from datetime import datetime

    due = (data.get("next_action") or {}).get("due")
    return datetime.fromisoformat(due.replace("Z", "+00:00")).timestamp() if due else None


APPLICATION = Kind("application", applications,
                   lambda d: {"talent_id": d["talent_id"], "job_id": d["job_id"], "stage": d["stage"],
                              "source": d.get("source"), "next_action_due": _due(d)},
                   sortable={"created_at": "created_at", "updated_at": "updated_at", "stage": "stage",
                             "stage_changed_at": "stage_changed_at", "next_action_due": "next_action_due"})


async def application_references(conn: AsyncConnection, org_id: str, data: dict[str, Any]) -> None:
    await require(conn, TALENT, org_id, [data["talent_id"]], body_loc("talent_id"))
    await require(conn, JOB, org_id, [data["job_id"]], body_loc("job_id"))


async def after_application_write(conn: AsyncConnection, org_id: str, row: dict[str, Any]) -> None:
    if row["version"] != 1:
        return
    twins = (await conn.execute(sa.select(sa.func.count()).select_from(applications).where(
        live(APPLICATION, org_id), applications.c.talent_id == row["talent_id"],
        applications.c.job_id == row["job_id"]))).scalar_one()
    if twins > 1:
        raise Problem(409, "this talent already has an application for this job", slug="application-exists",
                      errors=[{"loc": "body.talent_id", "msg": "already applied to this job"}])
    if row["stage"] == "hired":
        raise Problem(409, "an application starts in an open stage; move it to hired through the pipeline",
                      slug="invalid-transition", errors=[{"loc": "body.stage", "msg": "cannot start as hired"}])
    await conn.execute(applications.update().where(applications.c.id == row["id"])
                       .values(stage_changed_at=row["created_at"]))
    await conn.execute(stage_history.insert().values(org_id=org_id, application_id=row["id"], from_stage=None,
                                                     to_stage=row["stage"], at=row["created_at"],
                                                     by=row["created_by"], reason="created"))


def application_filters(args: Mapping[str, Any]) -> list[Any]:
    where = []
    for name in ("job_id", "talent_id", "stage", "source"):
        if value := args.get(name):
            where.append(applications.c[name] == value)
    return where


APPLICATIONS = Entity(APPLICATION, "applications", Application, TALENT_READ, TALENT_WRITE,
                      check_references=application_references, after_write=after_application_write,
                      list_filters=application_filters, fixed={
                          "stage": "move an application with POST /api/v1/applications/{id}/stage",
                          "talent_id": "an application's talent does not change; create another application",
                          "job_id": "an application's job does not change; create another application"})


async def move(conn: AsyncConnection, org_id: str, application_id: str, stage: str, reason: str | None,
               actor: str, if_match: int | None) -> dict[str, Any]:
    current = await store.fetch(conn, APPLICATION, org_id, application_id)
    store.check_version(APPLICATION, current, if_match)
    before = current["stage"]
    if stage not in TRANSITIONS[before]:
        allowed = ", ".join(sorted(TRANSITIONS[before])) or "none: it is final"
        raise Problem(409, f"an application cannot move from {before} to {stage} (from {before}: {allowed})",
                      slug="invalid-transition", errors=[{"loc": "body.stage", "msg": f"not allowed from {before}"}])
    now = time.time()
    data = {**current["data"], "stage": stage}
    row = await store.replace(conn, APPLICATION, current, data, None, stage_changed_at=now)
    await conn.execute(stage_history.insert().values(org_id=org_id, application_id=application_id, from_stage=before,
                                                     to_stage=stage, at=now, by=actor, reason=reason))
    return row


async def history(conn: AsyncConnection, org_id: str, application_id: str) -> list[dict[str, Any]]:
    await store.fetch(conn, APPLICATION, org_id, application_id)
    rows = (await conn.execute(sa.select(stage_history).where(
        stage_history.c.org_id == org_id, stage_history.c.application_id == application_id)
        .order_by(stage_history.c.at, stage_history.c.id))).mappings().all()
    return [{"from": r["from_stage"], "to": r["to_stage"], "at": store.rfc3339(r["at"]), "by": r["by"],
             "reason": r["reason"]} for r in rows]


async def board(conn: AsyncConnection, org_id: str, job_id: str, per_stage: int = 100) -> dict[str, Any]:
    """The job's pipeline: each stage with its count and its most recently moved applications."""
    job = await store.fetch(conn, JOB, org_id, job_id)
    rows = (await conn.execute(
        sa.select(applications.c.id, applications.c.stage, applications.c.stage_changed_at, applications.c.data,
                  applications.c.version, talents.c.id.label("talent_id"), talents.c.name, talents.c.data.label("talent"))
        .join(talents, sa.and_(talents.c.id == applications.c.talent_id, talents.c.deleted_at.is_(None)))
        .where(live(APPLICATION, org_id), applications.c.job_id == job_id)
        .order_by(applications.c.stage_changed_at.desc(), applications.c.id))).mappings().all()
    stages: dict[str, dict[str, Any]] = {s: {"stage": s, "count": 0, "applications": []} for s in STAGES}
    for r in rows:
        column = stages[r["stage"]]
        column["count"] += 1
        if len(column["applications"]) < per_stage:
            column["applications"].append({
                "id": r["id"], "version": r["version"], "stage_changed_at": store.rfc3339(r["stage_changed_at"]),
                "next_action": r["data"].get("next_action"), "source": r["data"].get("source"),
                "talent": {"id": r["talent_id"], "name": r["name"], "current_title": r["talent"].get("current_title"),
                           "city": r["talent"].get("city")}})
    return {"job": {"id": job["id"], "title": job["data"]["title"], "status": job["data"]["status"]},
            "total": len(rows), "stages": list(stages.values())}
