"""The CRM core's routes beyond plain CRUD: search is on the talents list (`?q=`), the rest here."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field
from sanic import Blueprint, HTTPResponse, Request
from sanic.response import json
from sanic_ext import openapi

from looma_crm import duplicates, network, pipeline, resolve, stats
from looma_crm.domain import COMPANIES, JOBS, NOTES, PROJECTS, RELATIONSHIPS, TALENTS
from looma_crm.entities import crud_blueprint, with_etag
from looma_crm.models import StageChange, Strict
from looma_crm.pipeline import APPLICATIONS
from looma_crm.store import view
from shared.database.outbox import wake_projector
from shared.service import Problem, parse_body
from shared.service.requests import if_match
from shared.service.auth import caller, requires
from shared.service.auth.permissions import JOB_READ, TALENT_READ, TALENT_WRITE
from shared.service.tenancy import org_of


class MergeRequest(Strict):
    duplicate_ids: list[str] = Field(min_length=1, max_length=20)


def _depth(request: Request) -> int:
    raw = request.args.get("depth", "2")
    if not raw.isdigit():
        raise Problem(400, "depth must be 1, 2 or 3", slug="invalid-parameter",
                      errors=[{"loc": "query.depth", "msg": "1..3"}])
    return int(raw)


def talent_extras() -> Blueprint:
    bp = Blueprint("crm_talent_extras", url_prefix="/api/v1/talents")

    @bp.post("/resolve")
    @requires(TALENT_WRITE)
    @openapi.summary("Find the same person (email, phone, or name and employer) and update them, or create "
                     "a talent; Idempotency-Key honoured")
    async def resolve_talent(request: Request) -> HTTPResponse:
        return await resolve.resolve(request)

    @bp.get("/<talent_id:str>/duplicates")
    @requires(TALENT_READ)
    @openapi.summary("Talents that are probably the same person: same email, phone, or name and employer")
    async def find_duplicates(request: Request, talent_id: str) -> HTTPResponse:
        async with request.app.ctx.store.relational.read() as conn:
            items = await duplicates.find(conn, org_of(request), talent_id)
        return json({"items": items, "total": len(items), "next_cursor": None})

    @bp.post("/<talent_id:str>/merge")
    @requires(TALENT_WRITE)
    @openapi.body({"application/json": MergeRequest})
    @openapi.summary("Merge duplicates into this talent; their applications, notes and relationships follow")
    async def merge(request: Request, talent_id: str) -> HTTPResponse:
        body = parse_body(request, MergeRequest)
        async with request.app.ctx.store.relational.write() as conn:
            row, conflicts = await duplicates.merge(conn, org_of(request), talent_id, body.duplicate_ids,
                                                    caller(request).subject, if_match(request))
        await wake_projector(request.app.ctx.store.cache)
        return with_etag(row, extra={"merge_conflicts": conflicts})

    @bp.get("/<talent_id:str>/network")
    @requires(TALENT_READ)
    @openapi.summary("Who this talent knows: relationships, shared employers and schools, people within depth")
    async def talent_network(request: Request, talent_id: str) -> HTTPResponse:
        return json(await network.network(request.app.ctx.store, org_of(request), talent_id, _depth(request)))

    @bp.get("/<talent_id:str>/paths/<other_id:str>")
    @requires(TALENT_READ)
    @openapi.summary("The shortest relationship paths between two talents")
    async def talent_paths(request: Request, talent_id: str, other_id: str) -> HTTPResponse:
        return json(await network.paths(request.app.ctx.store, org_of(request), talent_id, other_id))

    return bp


def company_extras() -> Blueprint:
    bp = Blueprint("crm_company_extras", url_prefix="/api/v1/companies")

    @bp.get("/<company_id:str>/contacts")
    @requires(TALENT_READ)
    @openapi.summary("Who we know at this company, current employees first")
    async def contacts(request: Request, company_id: str) -> HTTPResponse:
        async with request.app.ctx.store.relational.read() as conn:
            return json(await network.contacts(conn, org_of(request), company_id))

    return bp


def pipeline_routes() -> Blueprint:
    bp = Blueprint("crm_pipeline", url_prefix="/api/v1")

    @bp.get("/jobs/<job_id:str>/pipeline")
    @requires(JOB_READ)
    @openapi.summary("The job's pipeline board: every stage with its count and applications")
    async def board(request: Request, job_id: str) -> HTTPResponse:
        async with request.app.ctx.store.relational.read() as conn:
            return json(await pipeline.board(conn, org_of(request), job_id))

    @bp.post("/applications/<application_id:str>/stage")
    @requires(TALENT_WRITE)
    @openapi.body({"application/json": StageChange})
    @openapi.summary("Move an application to another stage (only sensible moves; If-Match optional)")
    async def move(request: Request, application_id: str) -> HTTPResponse:
        body = parse_body(request, StageChange)
        async with request.app.ctx.store.relational.write() as conn:
            row = await pipeline.move(conn, org_of(request), application_id, body.stage, body.reason,
                                      caller(request).subject, if_match(request))
        return with_etag(row)

    @bp.get("/applications/<application_id:str>/history")
    @requires(TALENT_READ)
    @openapi.summary("Every stage move of an application: who, when and why")
    async def history(request: Request, application_id: str) -> HTTPResponse:
        async with request.app.ctx.store.relational.read() as conn:
            items = await pipeline.history(conn, org_of(request), application_id)
        return json({"items": items, "total": len(items), "next_cursor": None})

    @bp.get("/stats/pipeline")
    @requires(JOB_READ)
    @openapi.summary("Funnel, time in stage and conversion by source, for the org or one job (?job_id=)")
    async def pipeline_stats(request: Request) -> HTTPResponse:
        async with request.app.ctx.store.relational.read() as conn:
            return json(await stats.pipeline(conn, org_of(request), request.args.get("job_id")))

    @bp.get("/stats/jobs")
    @requires(JOB_READ)
    @openapi.summary("How many jobs are open, paused and closed")
    async def job_stats(request: Request) -> HTTPResponse:
        async with request.app.ctx.store.relational.read() as conn:
            return json(await stats.open_jobs(conn, org_of(request)))

    return bp


def blueprints() -> Sequence[Blueprint]:
    # Extras first: /talents/<id>/network must not be taken for a talent id.
    return (talent_extras(), company_extras(), pipeline_routes(), csv_routes(),
            *(crud_blueprint(e) for e in (TALENTS, COMPANIES, JOBS, PROJECTS, NOTES, RELATIONSHIPS,
                                          APPLICATIONS)))


__all__ = ["blueprints", "view"]


def csv_routes() -> Blueprint:
    """CSV export of talents and jobs, and imports (looma_crm/csv_io.py, looma_crm/imports.py)."""
    from datetime import UTC, datetime

    from looma_crm import csv_io, imports
    from looma_crm.entities import Entity, args_dict
    from shared.service.auth import authenticated

    bp = Blueprint("crm_csv", url_prefix="/api/v1")

    async def export(request: Request, entity: Entity) -> None:
        filename = f"{entity.plural}-{datetime.now(UTC):%Y-%m-%d}.csv"
        response = await request.respond(content_type="text/csv; charset=utf-8",
                                         headers={"Content-Disposition": f'attachment; filename="{filename}"'})
        async with request.app.ctx.store.relational.read() as conn:
            async for chunk in csv_io.export(conn, csv_io.LAYOUTS[entity.plural], entity.kind, org_of(request)):
                await response.send(chunk)
        await response.eof()

    @bp.get("/talents/export.csv")
    @requires(TALENT_READ)
    @openapi.summary("Every talent of the org as CSV (UTF-8 with BOM; columns in looma_crm/csv_io.py)")
    async def export_talents(request: Request) -> None:
        await export(request, TALENTS)

    @bp.get("/jobs/export.csv")
    @requires(JOB_READ)
    @openapi.summary("Every job of the org as CSV (UTF-8 with BOM; columns in looma_crm/csv_io.py)")
    async def export_jobs(request: Request) -> None:
        await export(request, JOBS)

    @bp.post("/imports", stream=True)
    @authenticated  # talent:write or job:write, by ?kind=
    @openapi.summary("Import talents or jobs from CSV: ?kind=talents|jobs, skip_invalid, dry_run; "
                     "more than 1,000 rows answer 202 and run as a job")
    async def start_import(request: Request) -> HTTPResponse:
        chosen = imports.options(args_dict(request))
        imports.require_permission(request, chosen.kind)
        job = await imports.start(request, chosen, await imports.read_upload(request))
        return imports.answer(job)

    @bp.get("/imports/<import_id:str>")
    @authenticated  # the permission an import of its kind needs
    @openapi.summary("An import: its status, progress and validation report")
    async def read_import(request: Request, import_id: str) -> HTTPResponse:
        async with request.app.ctx.store.relational.read() as conn:
            record = await imports.fetch(conn, org_of(request), import_id)
        imports.require_permission(request, record["kind"])
        return json(imports.view(record))

    return bp
