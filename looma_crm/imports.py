"""Importing talents and jobs from CSV files, with a validation report (columns: csv_io).

    POST /api/v1/imports?kind=talents|jobs[&skip_invalid=true][&dry_run=true]   body: the CSV
    GET  /api/v1/imports/{id}

Every row goes through what a create goes through: the entity's model and preparation
(entities.validated), its reference check, then store.insert and the entity's after_write hook
(keys, outbox events) in a write transaction. The report numbers rows as a spreadsheet does
(the header is row 1) and names the column a problem is in:

    {id, kind, status, total, processed, valid, invalid, imported, dry_run, skip_invalid,
     errors: [{row, loc, msg}], warnings: [{row, loc, msg}], created_by, created_at, finished_at}

- An invalid row without skip_invalid=true: nothing is imported, 422 with the report.
  skip_invalid=true imports the valid rows and reports the others. dry_run=true validates
  only, and answers as the import would (200 instead of 201, or 422).
- Every row is checked first (`processed` counts them); then the valid ones are written in
  transactions of 200 (`imported` counts them), with a pause between transactions: SQLite's
  write lock is not fair, and a writer waiting on it polls every 100 ms, so back-to-back
  batches would starve everyone else's writes.
- Up to 1,000 rows are imported inside the request: 201 with the report.
- Larger files become a background task of the server: 202, Location /api/v1/imports/{id}.
  Its status: queued, validating, importing, done or failed.
- Limits: 20 MB of request body and 100,000 rows. Behind the gateway, the gateway's own body
  limit (LOOMA_MAX_BODY_BYTES, 16 MB by default) is met first.
- There is no deduplication: a row whose email already belongs to a talent of the org, or to an
  earlier row of the file, is imported and reported as a warning (the duplicates API merges).
- Every import, small or large, leaves a record in crm_import_jobs that GET shows.

Limitations: a job runs in the process that took the upload. If that process stops mid-job the
record keeps the status it had (validating or importing) and the job is not resumed; batches
written before stay written. All-or-nothing covers validation: should a row stop passing between
validation and writing (its company deleted meanwhile), the import fails with the earlier
batches written, and the report says how many. The report lists the first 1,000 errors and warnings; the counts
cover every row.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sanic import HTTPResponse, Request
from sanic.response import json
from sqlalchemy.ext.asyncio import AsyncConnection

from looma_crm import csv_io, store
from looma_crm.domain import JOBS, TALENTS
from looma_crm.entities import Entity, validated
from looma_crm.tables import import_jobs, talent_keys
from shared.database import UnifiedDataAccess
from shared.database.outbox import wake_projector
from shared.service.auth import caller
from shared.service.problems import Problem
from shared.service.tenancy import not_found, org_of

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
INLINE_ROWS = 1_000
BATCH = 200
PAUSE = 0.2  # seconds between write transactions: longer than a SQLite busy-wait poll
REPORTED = 1_000  # errors and warnings listed, each
CSV_TYPES = frozenset(("text/csv", "application/csv", "text/comma-separated-values", "text/plain",
                       "application/vnd.ms-excel"))  # the last: what browsers on Windows send for .csv
MULTIPART = "multipart/form-data"
ENTITIES: Mapping[str, Entity] = {"talents": TALENTS, "jobs": JOBS}
QUEUED, VALIDATING, IMPORTING, DONE, FAILED = "queued", "validating", "importing", "done", "failed"

log = logging.getLogger("looma.crm.imports")
T = TypeVar("T")
Progress = Callable[[], Awaitable[None]]


# --- the request --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    kind: str  # talents, jobs
    skip_invalid: bool = False
    dry_run: bool = False


def options(args: Mapping[str, str]) -> Options:
    kind = args.get("kind", "")
    if kind not in ENTITIES:
        raise Problem(400, f"kind must be one of {', '.join(ENTITIES)}", slug="invalid-parameter",
                      errors=[{"loc": "query.kind", "msg": f"one of {', '.join(ENTITIES)}"}])
    return Options(kind, _flag(args, "skip_invalid"), _flag(args, "dry_run"))


def _flag(args: Mapping[str, str], name: str) -> bool:
    raw = args.get(name, "false").strip().lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise Problem(400, f"{name} must be true or false", slug="invalid-parameter",
                      errors=[{"loc": f"query.{name}", "msg": "true or false"}])
    return raw in ("true", "1", "yes")


def require_permission(request: Request, kind: str) -> None:
    """The kind's write permission: importing talents needs talent:write, jobs job:write."""
    permission = ENTITIES[kind].write
    if not caller(request).can(permission):
        raise Problem(403, f"this needs the {permission!r} permission", slug="permission-denied",
                      permission=permission)


def too_large() -> Problem:
    return Problem(413, f"the upload is larger than {MAX_BYTES // (1024 * 1024)} MB ({MAX_BYTES:,} bytes); "
                        "split the file", slug="payload-too-large", limit=MAX_BYTES)


async def read_upload(request: Request) -> bytes:
    """The CSV's bytes: the body (text/csv), or the `file` field of a multipart form; 413 past MAX_BYTES."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CSV_TYPES and content_type != MULTIPART:
        raise Problem(415, f"expected Content-Type text/csv or {MULTIPART}, got {content_type or 'none'}",
                      slug="unsupported-media-type")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise too_large()
    body = bytearray(request.body or b"")
    if request.stream is not None:
        async for chunk in request.stream:
            body += chunk
            if len(body) > MAX_BYTES:
                raise too_large()
    raw = bytes(body)
    if content_type == MULTIPART:
        request.body = raw
        upload = request.files.get("file") if request.files else None
        if upload is None:
            raise Problem(400, "a multipart upload carries the CSV in a field named 'file'", slug="missing-file",
                          errors=[{"loc": "body.file", "msg": "missing"}])
        raw = upload.body
    if not raw.strip():
        raise Problem(400, "the request body is empty; send the CSV file", slug="empty-body")
    return raw


# --- the job and its report ---------------------------------------------------------------------
@dataclass
class ImportJob:
    id: str
    org_id: str
    kind: str
    created_by: str | None
    total: int
    skip_invalid: bool = False
    dry_run: bool = False
    status: str = QUEUED
    processed: int = 0
    invalid: int = 0
    imported: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    errors_omitted: int = 0
    warnings_omitted: int = 0
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None

    def error(self, row: int | None, loc: str, msg: str) -> None:
        if len(self.errors) < REPORTED:
            self.errors.append({"row": row, "loc": loc, "msg": msg})
        else:
            self.errors_omitted += 1

    def warn(self, row: int | None, loc: str, msg: str) -> None:
        if len(self.warnings) < REPORTED:
            self.warnings.append({"row": row, "loc": loc, "msg": msg})
        else:
            self.warnings_omitted += 1

    def finish(self, status: str) -> None:
        self.status, self.finished_at = status, time.time()

    def record(self) -> dict[str, Any]:
        """The crm_import_jobs row."""
        report = {"valid": self.processed - self.invalid, "invalid": self.invalid, "dry_run": self.dry_run,
                  "skip_invalid": self.skip_invalid, "errors": self.errors, "warnings": self.warnings,
                  "errors_omitted": self.errors_omitted, "warnings_omitted": self.warnings_omitted}
        return {"id": self.id, "org_id": self.org_id, "kind": self.kind, "status": self.status, "total": self.total,
                "processed": self.processed, "imported": self.imported, "report": report,
                "created_by": self.created_by, "created_at": self.created_at, "finished_at": self.finished_at}


def view(record: Mapping[str, Any]) -> dict[str, Any]:
    """An import as the API shows it."""
    report = record["report"]
    return {"id": record["id"], "kind": record["kind"], "status": record["status"], "total": record["total"],
            "processed": record["processed"], "valid": report["valid"], "invalid": report["invalid"],
            "imported": record["imported"], "dry_run": report["dry_run"], "skip_invalid": report["skip_invalid"],
            "errors": report["errors"], "warnings": report["warnings"],
            "errors_omitted": report["errors_omitted"], "warnings_omitted": report["warnings_omitted"],
            "created_by": record["created_by"], "created_at": store.rfc3339(record["created_at"]),
            "finished_at": store.rfc3339(record["finished_at"])}


async def save(data: UnifiedDataAccess, job: ImportJob, new: bool = False) -> None:
    record = job.record()
    async with data.relational.write() as conn:
        if new:
            await conn.execute(import_jobs.insert().values(**record))
        else:
            await conn.execute(import_jobs.update().where(import_jobs.c.id == job.id).values(**record))


async def fetch(conn: AsyncConnection, org_id: str, import_id: str) -> dict[str, Any]:
    row = (await conn.execute(sa.select(import_jobs).where(import_jobs.c.id == import_id,
                                                           import_jobs.c.org_id == org_id))).mappings().first()
    if row is None:
        raise not_found("import", import_id)
    return dict(row)


# --- validating and writing rows ----------------------------------------------------------------
def _batches(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _issues(problem: Problem, layout: csv_io.Layout) -> list[csv_io.Issue]:
    found = problem.extra.get("errors") or [{"loc": "row", "msg": problem.detail}]
    return [(layout.column_of(str(e["loc"]).removeprefix("body.")), str(e["msg"])) for e in found]


async def checked(conn: AsyncConnection, entity: Entity, layout: csv_io.Layout, org_id: str,
                  cells: csv_io.Cells) -> tuple[dict[str, Any] | None, list[csv_io.Issue]]:
    """The row as the entity's stored JSON, as a create would store it; or what is wrong with it."""
    data, issues = layout.from_cells(cells)
    for column, _ in issues:
        data.pop(column, None)
    try:
        prepared = validated(entity, data)
    except Problem as problem:
        return None, issues + _issues(problem, layout)
    if issues:
        return None, issues
    try:
        await entity.check_references(conn, org_id, prepared)
    except Problem as problem:
        return None, _issues(problem, layout)
    return prepared, []


async def _email_warnings(conn: AsyncConnection, job: ImportJob, rows: list[tuple[int, dict[str, Any]]],
                          earlier: dict[str, int]) -> None:
    emails = {e.lower() for _, data in rows for e in data.get("emails", [])}
    known: dict[str, str] = {}
    for chunk in _batches(sorted(emails), 500):
        found = await conn.execute(sa.select(talent_keys.c.value, talent_keys.c.talent_id).where(
            talent_keys.c.org_id == job.org_id, talent_keys.c.kind == "email", talent_keys.c.value.in_(chunk)))
        known.update({value: talent_id for value, talent_id in found})
    for number, data in rows:
        for index, email in enumerate(data.get("emails", [])):
            key = email.lower()
            if key in known:
                job.warn(number, f"emails.{index}", f"{email} already belongs to talent {known[key]}")
            elif key in earlier:
                job.warn(number, f"emails.{index}", f"{email} is also in row {earlier[key]}")
            else:
                earlier[key] = number


async def validate(data: UnifiedDataAccess, job: ImportJob, sheet: csv_io.Sheet, progress: Progress) -> set[int]:
    """Check every row as a create would; the numbers of the invalid ones."""
    entity = ENTITIES[job.kind]
    invalid: set[int] = set()
    earlier: dict[str, int] = {}  # email -> the first row it is in
    for batch in _batches(sheet.rows(), BATCH):
        passed: list[tuple[int, dict[str, Any]]] = []
        async with data.relational.read() as conn:
            for number, cells in batch:
                prepared, issues = await checked(conn, entity, sheet.layout, job.org_id, cells)
                if prepared is None:
                    invalid.add(number)
                    for loc, msg in issues:
                        job.error(number, loc, msg)
                else:
                    passed.append((number, prepared))
            if entity is TALENTS:
                await _email_warnings(conn, job, passed, earlier)
        job.processed += len(batch)
        job.invalid = len(invalid)
        await progress()
        await asyncio.sleep(0)  # validation is CPU work: let the server answer between batches
    return invalid


class RowRefused(Exception):
    """A row that passed validation failed when written, and the import is all-or-nothing."""

    def __init__(self, row: int) -> None:
        super().__init__(f"row {row}")
        self.row = row


async def write(data: UnifiedDataAccess, job: ImportJob, sheet: csv_io.Sheet, skip: set[int],
                progress: Progress) -> None:
    """Insert the rows not in `skip`, BATCH to a transaction, each as a create would."""
    entity = ENTITIES[job.kind]
    rows = ((number, cells) for number, cells in sheet.rows() if number not in skip)
    for index, batch in enumerate(_batches(rows, BATCH)):
        if index:
            await asyncio.sleep(PAUSE)
        written = 0
        async with data.relational.write() as conn:
            for number, cells in batch:
                prepared, issues = await checked(conn, entity, sheet.layout, job.org_id, cells)
                if prepared is None:
                    job.invalid += 1
                    for loc, msg in issues:
                        job.error(number, loc, msg)
                    if not job.skip_invalid:
                        raise RowRefused(number)
                    continue
                row = await store.insert(conn, entity.kind, job.org_id, prepared, job.created_by)
                await entity.after_write(conn, job.org_id, row)
                written += 1
        job.imported += written
        if entity.projected:
            await _wake(data)
        await progress()


async def _wake(data: UnifiedDataAccess) -> None:
    try:
        await wake_projector(data.cache)
    except Exception:  # the events are committed; a lost wake-up costs the projector one idle poll
        log.warning("could not wake the projector after an import batch", exc_info=True)


async def execute(data: UnifiedDataAccess, job: ImportJob, sheet: csv_io.Sheet, progress: Progress) -> None:
    """Validate every row, then, unless refused or a dry run, write the valid ones."""
    job.status = VALIDATING
    await progress()
    invalid = await validate(data, job, sheet, progress)
    if invalid and not job.skip_invalid:
        job.finish(FAILED)
        return
    if job.dry_run:
        job.finish(DONE)
        return
    job.status = IMPORTING
    await progress()
    try:
        await write(data, job, sheet, invalid, progress)
    except RowRefused as refused:
        if job.imported:
            job.error(None, "import", f"row {refused.row} no longer passed when written; the {job.imported} rows "
                                      "written before it stay")
        job.finish(FAILED)
        return
    job.finish(DONE)


async def _nothing() -> None:
    return None


async def run_in_background(data: UnifiedDataAccess, job: ImportJob, sheet: csv_io.Sheet) -> None:
    async def progress() -> None:
        await save(data, job)

    try:
        await execute(data, job, sheet, progress)
    except Exception as error:
        log.exception("import failed", extra={"import_id": job.id, "org_id": job.org_id})
        job.error(None, "import", f"the import stopped on an internal error ({type(error).__name__}) after "
                                  f"{job.imported} rows were written")
        job.finish(FAILED)
    await save(data, job)


async def start(request: Request, chosen: Options, raw: bytes) -> ImportJob:
    """Read the upload and import it: here for a small file, in a background task for a large one."""
    text, encoding = csv_io.decode(raw)
    sheet = csv_io.read(csv_io.LAYOUTS[chosen.kind], text, MAX_ROWS)
    job = ImportJob(store.new_id(), org_of(request), chosen.kind, caller(request).subject, sheet.total,
                    chosen.skip_invalid, chosen.dry_run)
    if encoding != "utf-8":
        job.warn(None, "file", f"the file is not UTF-8 and was read as {encoding.upper()} (Chinese Windows); "
                               "if names look wrong, save it as CSV UTF-8 and import again")
    for warning in sheet.warnings:
        job.warn(**warning)
    app, data = request.app, request.app.ctx.store
    if sheet.total > INLINE_ROWS:
        await save(data, job, new=True)
        app.purge_tasks()
        app.add_task(run_in_background(data, job, sheet), name=f"crm-import-{job.id}")
        return job
    await execute(data, job, sheet, _nothing)
    await save(data, job, new=True)
    return job


def answer(job: ImportJob) -> HTTPResponse:
    """202 for a job under way, 201 (200 for a dry run) when done, 422 when refused."""
    body = view(job.record())
    location = {"Location": f"/api/v1/imports/{job.id}"}
    if job.status == FAILED:
        outcome = ("the import would be refused" if job.dry_run else
                   f"{job.imported} rows were written before a row failed" if job.imported else "nothing was imported")
        detail = f"{job.invalid} of {job.total} rows are invalid; {outcome} (skip_invalid=true imports the valid rows)"
        raise Problem(422, detail, slug="invalid-rows", errors=job.errors, report=body)
    if job.status == DONE:
        return json(body, status=200 if job.dry_run else 201, headers=location)
    return json(body, status=202, headers=location)
