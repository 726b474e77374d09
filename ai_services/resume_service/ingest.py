"""Parsing an upload, and ingesting it: file stored, talent resolved in the CRM, chunks embedded.

    parse_upload(data, filename)           text extraction and structure, in a worker thread
    ingest(...)                            POST /api/v1/resumes: the five steps of docs/resumes.md

Nothing is stored for a file that does not parse. Once stored, a resume is finished (talent
resolved, outbox event recorded) by the request itself, by a retry with the same Idempotency-Key,
or by the sweep that `finish_pending` runs in the background: whichever comes first, the CRM call
carries the resume's own idempotency key, so none of them makes a second talent.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from ai_services.resume_service import records
from ai_services.resume_service.parsed import structure, talent_body
from looma_crm.client import CrmClient, CrmRefused, CrmUnavailable
from shared.database import UnifiedDataAccess
from shared.database.outbox import wake_projector
from shared.service import Problem

if TYPE_CHECKING:  # the file readers load on the first upload, not when the service starts
    from ai_services.resume_service.documents import ResumeFileError

log = logging.getLogger("looma.resume")

PENDING_AFTER = 30.0  # seconds a resume may stay `stored` before the sweep finishes it
@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str | None


def file_problem(error: ResumeFileError) -> Problem:
    """The answer for a file that cannot be read: the status and slug its error class declares."""
    return Problem(error.status, error.detail, slug=error.slug, errors=[{"loc": "body.file", "msg": error.detail}])


def _parse(upload: Upload) -> tuple[dict[str, Any], Any]:
    from ai_services.resume_service.documents import extract_text

    extracted = extract_text(upload.data, upload.filename)
    return structure(extracted.text), extracted


async def parse_upload(upload: Upload) -> tuple[dict[str, Any], Any]:
    """The structured resume and the extraction's facts (kind, pages, ocr...); 4xx for a bad file."""
    from ai_services.resume_service.documents import ResumeFileError

    try:
        parsed, extracted = await asyncio.to_thread(_parse, upload)
    except ResumeFileError as error:
        raise file_problem(error) from None
    if not parsed["text"].strip():
        raise Problem(422, "the file holds no text", slug="no-text", errors=[{"loc": "body.file", "msg": "no text"}])
    return parsed, extracted


async def parse_text(text: str) -> dict[str, Any]:
    return await asyncio.to_thread(structure, text)


def answer(row: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"resume_id": row["id"], "talent_id": row["talent_id"], "status": row["status"],
            "filename": row["filename"], "parsed": row["parsed"], **extra}


async def ingest(data: UnifiedDataAccess, crm: CrmClient, org_id: str, actor: str | None, upload: Upload,
                 key: str | None) -> tuple[int, dict[str, Any]]:
    if key is not None:
        async with data.relational.read() as conn:
            earlier = await records.by_key(conn, org_id, key)
        if earlier is not None:
            if earlier["status"] == records.LINKED:
                return 201, answer(earlier, replayed=True)
            return await finish(data, crm, earlier)
    parsed, extracted = await parse_upload(upload)
    sha256 = hashlib.sha256(upload.data).hexdigest()
    async with data.relational.read() as conn:
        copy = await records.linked_copy(conn, org_id, sha256)
    if copy is not None:
        return 200, answer(copy, duplicate=True)
    row = {"id": records.new_id(), "org_id": org_id, "talent_id": None, "sha256": sha256,
           "filename": PurePath(upload.filename).name[:255] if upload.filename else None,
           "media_type": getattr(extracted, "media_type", None) or f"application/{extracted.kind}",
           "kind": extracted.kind, "language": parsed["language"], "parsed": parsed, "status": records.STORED,
           "idempotency_key": key, "created_at": time.time(), "created_by": actor, "linked_at": None}
    try:
        async with data.relational.write() as conn:
            await records.store(conn, row, upload.data)
    except IntegrityError:
        raise Problem(409, "a request with this Idempotency-Key is still being processed; retry it shortly",
                      slug="idempotency-in-progress", headers={"Retry-After": "1"}) from None
    return await finish(data, crm, row)


async def finish(data: UnifiedDataAccess, crm: CrmClient, row: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Resolve the stored resume's talent in the CRM, then link it and record its embedding event."""
    fallback = f"Unnamed candidate ({row['filename'] or row['id'][:8]})"
    try:
        resolved = await crm.resolve(row["org_id"], talent_body(row["parsed"], fallback), key=f"resume:{row['id']}")
    except CrmUnavailable as error:
        raise Problem(503, f"resume {row['id']} is stored; its talent will be created when the CRM answers: {error}",
                      slug="crm-unavailable", headers={"Retry-After": "5"},
                      errors=[{"loc": "resume_id", "msg": row["id"]}]) from None
    except CrmRefused as error:
        async with data.relational.write() as conn:
            await records.refuse(conn, row["id"])
        raise Problem(422, f"resume {row['id']} is stored, but the CRM refused its talent: {error}",
                      slug="talent-refused", errors=[{"loc": "resume_id", "msg": row["id"]}]) from None
    async with data.relational.write() as conn:
        current = await records.by_id(conn, row["org_id"], row["id"])
        if current is not None and current["status"] == records.LINKED:
            linked = current  # finished meanwhile by a retry or the sweep
        else:
            linked = await records.link(conn, row, resolved.talent_id)
    await wake_projector(data.cache)
    return 201, answer(linked, talent_created=resolved.created, matched_by=resolved.matched_by,
                       dropped_fields=resolved.dropped)


async def finish_pending(data: UnifiedDataAccess, crm: CrmClient) -> int:
    """Finish resumes left `stored` for longer than PENDING_AFTER; the number finished."""
    async with data.relational.read() as conn:
        rows = await records.pending(conn, time.time() - PENDING_AFTER)
    finished = 0
    for row in rows:
        try:
            await finish(data, crm, row)
            finished += 1
        except Problem as problem:
            log.warning("a stored resume is still waiting for the CRM",
                        extra={"resume_id": row["id"], "error": problem.detail})
            break  # the CRM is down: the next sweep tries again
    return finished
