"""The resume service's HTTP surface (docs/resumes.md). Handlers read the request, call parsing
or ingest, and answer; the org always comes from the caller."""

from __future__ import annotations

from urllib.parse import quote

from sanic import Blueprint, HTTPResponse, Request
from sanic.response import json, raw
from sanic_ext import openapi

from ai_services.resume_service import batches, records
from ai_services.resume_service.ingest import ingest, parse_text, parse_upload
from ai_services.resume_service.parsed import redacted
from ai_services.resume_service.uploads import MAX_TEXT_CHARS, many_files, one_file
from shared.service import Problem, json_body
from shared.service.auth import caller, requires
from shared.service.auth.permissions import RESUME_READ, RESUME_WRITE
from shared.service.tenancy import org_of

MAX_KEY = 200


def _key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= MAX_KEY:
        raise Problem(400, f"Idempotency-Key has 1 to {MAX_KEY} characters", slug="invalid-header")
    return key


def _view(request: Request) -> str:
    view = request.args.get("view", "full")
    if view not in ("full", "redacted"):
        raise Problem(400, "view is full or redacted", slug="invalid-parameter",
                      errors=[{"loc": "query.view", "msg": "full | redacted"}])
    return view


async def _resume(request: Request, resume_id: str) -> dict:
    async with request.app.ctx.store.relational.read() as conn:
        row = await records.by_id(conn, org_of(request), resume_id)
    if row is None:
        raise Problem(404, f"no resume {resume_id!r}", slug="resume-not-found")
    return row


def resume_blueprint() -> Blueprint:
    bp = Blueprint("resumes", url_prefix="/api/v1/resumes")

    @bp.post("/parse")
    @requires(RESUME_READ)
    @openapi.summary("Parse a resume file (multipart `file`) or {\"text\": ...} into a structured resume; "
                     "nothing is stored")
    async def parse(request: Request) -> HTTPResponse:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/json":
            body = json_body(request)
            text = body.get("text") if isinstance(body, dict) else None
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
                raise Problem(422, f"text must be a non-empty string of at most {MAX_TEXT_CHARS} characters",
                              slug="validation-failed", errors=[{"loc": "body.text", "msg": "1..200000 characters"}])
            return json(await parse_text(text))
        parsed, extracted = await parse_upload(one_file(request))
        return json({**parsed, "file": {"kind": extracted.kind, "pages": extracted.pages, "ocr": extracted.ocr}})

    @bp.post("/")
    @requires(RESUME_WRITE)
    @openapi.summary("Ingest a resume (multipart `file`, Idempotency-Key): stored, parsed, its talent created "
                     "or updated in the CRM, its text embedded")
    async def ingest_one(request: Request) -> HTTPResponse:
        upload = one_file(request)
        status, answer = await ingest(request.app.ctx.store, request.app.ctx.crm, org_of(request),
                                      caller(request).subject, upload, _key(request))
        return json(answer, status=status)

    @bp.get("/")
    @requires(RESUME_READ)
    @openapi.summary("The org's resumes, newest first; ?talent_id= for one talent's resume history")
    async def list_resumes(request: Request) -> HTTPResponse:
        raw_limit = request.args.get("limit", "20")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
            raise Problem(400, "limit is 1 to 100", slug="invalid-parameter",
                          errors=[{"loc": "query.limit", "msg": "1..100"}])
        async with request.app.ctx.store.relational.read() as conn:
            items = await records.history(conn, org_of(request), request.args.get("talent_id"), int(raw_limit), None)
        return json({"items": [{**item, "resume_id": item.pop("id")} for item in items]})

    @bp.get("/<resume_id:str>")
    @requires(RESUME_READ)
    @openapi.summary("A resume and its parse; ?view=redacted for blind screening")
    async def get_resume(request: Request, resume_id: str) -> HTTPResponse:
        view = _view(request)
        row = await _resume(request, resume_id)
        parsed = redacted(row["parsed"]) if view == "redacted" else row["parsed"]
        body = {"resume_id": row["id"], "talent_id": row["talent_id"], "status": row["status"],
                "kind": row["kind"], "created_at": row["created_at"], "parsed": parsed}
        if view == "full":
            body["filename"] = row["filename"]
        return json(body)

    @bp.get("/<resume_id:str>/file")
    @requires(RESUME_READ)
    @openapi.summary("The original file, as uploaded")
    async def get_file(request: Request, resume_id: str) -> HTTPResponse:
        row = await _resume(request, resume_id)
        async with request.app.ctx.store.relational.read() as conn:
            found = await records.original(conn, row["org_id"], row["sha256"])
        if found is None:
            raise Problem(404, f"the file of resume {resume_id!r} is gone", slug="file-not-found")
        data, media_type = found
        name = row["filename"] or f"{resume_id}.{row['kind']}"
        return raw(data, content_type=media_type, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})

    @bp.post("/batch")
    @requires(RESUME_WRITE)
    @openapi.summary("Ingest many resumes (multipart `files`, or a zip) in the background: 202 and a batch id")
    async def start_batch(request: Request) -> HTTPResponse:
        uploads = many_files(request)
        ctx = request.app.ctx
        row = await batches.start(ctx.store, ctx.settings.data_dir, org_of(request), caller(request).subject,
                                  uploads)
        request.app.add_task(batches.run(ctx.store, ctx.crm, ctx.settings.data_dir, row["id"]),
                             name=f"resume-batch-{row['id']}")
        return json(batches.view(row), status=202, headers={"Location": f"/api/v1/resumes/batches/{row['id']}"})

    @bp.get("/batches/<batch_id:str>")
    @requires(RESUME_READ)
    @openapi.summary("A batch's progress and each file's result")
    async def get_batch(request: Request, batch_id: str) -> HTTPResponse:
        return json(batches.view(await batches.fetch(request.app.ctx.store, org_of(request), batch_id)))

    return bp
