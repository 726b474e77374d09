"""The CRM's entities and how each differs from the common conventions (looma_crm/entities.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from looma_crm import skills as skill_terms
from looma_crm import talents as talent_logic
from looma_crm.contacts import name_key
from looma_crm.entities import Entity
from looma_crm.models import Company, Job, Note, Project, Relationship
from looma_crm.projections import job_events
from looma_crm.references import body_loc, require
from looma_crm.store import Kind, bump_revision, live
from looma_crm.tables import companies, jobs, notes, projects, relationships
from shared.database.outbox import record
from shared.service.auth.permissions import JOB_READ, JOB_WRITE, TALENT_READ, TALENT_WRITE
from shared.service.problems import Problem

COMPANY = Kind("company", companies, lambda d: {"name": d["name"], "name_key": name_key(d["name"])[:200]},
               sortable={"created_at": "created_at", "updated_at": "updated_at", "name": "name_key"})
JOB = Kind("job", jobs, lambda d: {"title": d["title"], "status": d["status"], "company_id": d.get("company_id"),
                                   "hiring_manager_id": d.get("hiring_manager_id")},
           sortable={"created_at": "created_at", "updated_at": "updated_at", "title": "title", "status": "status"})
PROJECT = Kind("project", projects, lambda d: {"name": d["name"], "status": d["status"]},
               sortable={"created_at": "created_at", "updated_at": "updated_at", "name": "name"})
NOTE = Kind("note", notes, lambda d: {"subject_type": d["subject_type"], "subject_id": d["subject_id"],
                                      "kind": d["kind"]})
RELATIONSHIP = Kind("relationship", relationships,
                    lambda d: {"source_id": d["source_id"], "target_id": d["target_id"], "type": d["type"],
                               "strength": d["strength"]},
                    sortable={"created_at": "created_at", "updated_at": "updated_at", "strength": "strength"})


# --- jobs ---------------------------------------------------------------------------------------
def prepare_job(body: Job) -> dict[str, Any]:
    data = body.model_dump(mode="json")
    if data.get("requirements") is None:
        data["requirements"] = skill_terms.derive_requirements(data["description"])
        data["requirements_derived"] = True
    else:
        data["requirements"]["skills"] = skill_terms.normalise(data["requirements"]["skills"], "requirements.skills")
        data["requirements_derived"] = False
    return data


def job_editable(data: Mapping[str, Any], model: type[Job]) -> dict[str, Any]:
    """What a PATCH starts from: derived requirements are left out, to be derived again from the description."""
    fields = {k: v for k, v in data.items() if k in model.model_fields}
    if data.get("requirements_derived"):
        fields.pop("requirements", None)
    return fields


async def job_references(conn: AsyncConnection, org_id: str, data: dict[str, Any]) -> None:
    if data.get("company_id"):
        await require(conn, COMPANY, org_id, [data["company_id"]], body_loc("company_id"))


async def project_job(conn: AsyncConnection, org_id: str, row: dict[str, Any]) -> None:
    await record(conn, *job_events(row))


def job_filters(args: Mapping[str, Any]) -> list[Any]:
    where = []
    if status := args.get("status"):
        where.append(jobs.c.status == status)
    if company := args.get("company_id"):
        where.append(jobs.c.company_id == company)
    return where


# --- projects, notes ----------------------------------------------------------------------------
async def project_references(conn: AsyncConnection, org_id: str, data: dict[str, Any]) -> None:
    for index, member in enumerate(data.get("members", [])):
        await require(conn, talent_logic.TALENT, org_id, [member["talent_id"]], body_loc("members", index, "talent_id"))


async def note_references(conn: AsyncConnection, org_id: str, data: dict[str, Any]) -> None:
    from looma_crm.pipeline import APPLICATION

    kind = talent_logic.TALENT if data["subject_type"] == "talent" else APPLICATION
    await require(conn, kind, org_id, [data["subject_id"]], body_loc("subject_id"))


def note_filters(args: Mapping[str, Any]) -> list[Any]:
    where = []
    for name in ("subject_type", "subject_id", "kind"):
        if value := args.get(name):
            where.append(notes.c[name] == value)
    return where


# --- relationships ------------------------------------------------------------------------------
async def relationship_references(conn: AsyncConnection, org_id: str, data: dict[str, Any]) -> None:
    await require(conn, talent_logic.TALENT, org_id, [data["source_id"]], body_loc("source_id"))
    await require(conn, talent_logic.TALENT, org_id, [data["target_id"]], body_loc("target_id"))


async def project_relationship(conn: AsyncConnection, org_id: str, row: dict[str, Any]) -> None:
    """A relationship is an edge of its source talent's graph node: re-project that talent."""
    if row.get("deleted_at") is None:
        twins = (await conn.execute(sa.select(sa.func.count()).select_from(relationships).where(
            live(RELATIONSHIP, org_id), relationships.c.source_id == row["source_id"],
            relationships.c.target_id == row["target_id"], relationships.c.type == row["type"]))).scalar_one()
        if twins > 1:
            raise Problem(409, "these two talents already have a relationship of this type; change that one",
                          slug="relationship-exists")
    source = await bump_revision(conn, talent_logic.TALENT, org_id, row["source_id"])
    if source is not None:
        await talent_logic.project(conn, source)


async def project_relationship_change(conn: AsyncConnection, org_id: str, before: dict[str, Any],
                                      row: dict[str, Any]) -> None:
    """As project_relationship; a relationship moved to another source also leaves the old source's node."""
    await project_relationship(conn, org_id, row)
    if before["source_id"] != row["source_id"]:
        old = await bump_revision(conn, talent_logic.TALENT, org_id, before["source_id"])
        if old is not None:
            await talent_logic.project(conn, old)


def relationship_filters(args: Mapping[str, Any]) -> list[Any]:
    where = []
    if talent := args.get("talent_id"):
        where.append(sa.or_(relationships.c.source_id == talent, relationships.c.target_id == talent))
    if kind := args.get("type"):
        where.append(relationships.c.type == kind)
    return where


async def project_talent(conn: AsyncConnection, org_id: str, row: dict[str, Any]) -> None:
    await talent_logic.project(conn, row)


async def search_talents(request: Any, org_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    from looma_crm.entities import args_dict
    from looma_crm.search import search_talents as run
    from looma_crm.semantic import forwarded_identity

    return await run(request.app.ctx.store, org_id, request.args.get("q"), args_dict(request), limit, cursor,
                     request.app.ctx.vector_search, forwarded_identity(request.headers))


TALENTS = Entity(talent_logic.TALENT, "talents", talent_logic.Talent, TALENT_READ, TALENT_WRITE,
                 prepare=talent_logic.prepare, after_write=project_talent, list_filters=talent_logic.filters,
                 projected=True, search=search_talents, kept=("merged_from",))
COMPANIES = Entity(COMPANY, "companies", Company, JOB_READ, JOB_WRITE)
JOBS = Entity(JOB, "jobs", Job, JOB_READ, JOB_WRITE, prepare=prepare_job, check_references=job_references,
              after_write=project_job, list_filters=job_filters, projected=True, editable=job_editable)
PROJECTS = Entity(PROJECT, "projects", Project, TALENT_READ, TALENT_WRITE, check_references=project_references)
NOTES = Entity(NOTE, "notes", Note, TALENT_READ, TALENT_WRITE, check_references=note_references,
               list_filters=note_filters)
RELATIONSHIPS = Entity(RELATIONSHIP, "relationships", Relationship, TALENT_READ, TALENT_WRITE,
                       check_references=relationship_references, after_write=project_relationship,
                       after_change=project_relationship_change, list_filters=relationship_filters, projected=True)

