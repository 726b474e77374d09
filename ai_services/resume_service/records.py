"""Resume rows and original files in the relational store.

A file is stored once per org, keyed by its SHA-256: the same file uploaded twice is one blob. A
resume row is written `stored` with its parse, in the same transaction as its file; once the CRM
has the talent it becomes `linked`, in the same transaction as the outbox event that embeds its
chunks. A row left `stored` (the CRM was down, or the process died in between) is finished by the
next retry with its Idempotency-Key, or by the service's sweep (ingest.finish_pending).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ai_services.resume_service.sections import sections
from ai_services.resume_service.tables import resume_files, resumes
from shared.database.outbox import OutboxEvent, record

STORED, LINKED, REFUSED = "stored", "linked", "refused"  # refused: the CRM would not take its talent
SUMMARY_COLUMNS = (resumes.c.id, resumes.c.talent_id, resumes.c.filename, resumes.c.media_type, resumes.c.kind,
                   resumes.c.language, resumes.c.status, resumes.c.created_at, resumes.c.linked_at, resumes.c.sha256)


def new_id() -> str:
    return str(uuid.uuid4())


async def by_key(conn: AsyncConnection, org_id: str, key: str) -> dict[str, Any] | None:
    row = (await conn.execute(sa.select(resumes).where(resumes.c.org_id == org_id,
                                                       resumes.c.idempotency_key == key))).mappings().first()
    return dict(row) if row else None


async def by_id(conn: AsyncConnection, org_id: str, resume_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(sa.select(resumes).where(resumes.c.org_id == org_id,
                                                       resumes.c.id == resume_id))).mappings().first()
    return dict(row) if row else None


async def linked_copy(conn: AsyncConnection, org_id: str, sha256: str) -> dict[str, Any] | None:
    """The org's linked resume of exactly this file, if it was ingested before."""
    row = (await conn.execute(sa.select(resumes).where(
        resumes.c.org_id == org_id, resumes.c.sha256 == sha256, resumes.c.status == LINKED)
        .order_by(resumes.c.created_at).limit(1))).mappings().first()
    return dict(row) if row else None


async def store(conn: AsyncConnection, row: dict[str, Any], data: bytes) -> None:
    held = (await conn.execute(sa.select(resume_files.c.sha256).where(
        resume_files.c.org_id == row["org_id"], resume_files.c.sha256 == row["sha256"]))).first()
    if held is None:
        await conn.execute(resume_files.insert().values(org_id=row["org_id"], sha256=row["sha256"], size=len(data),
                                                         media_type=row["media_type"], data=data,
                                                         created_at=time.time()))
    await conn.execute(resumes.insert().values(**row))


async def link(conn: AsyncConnection, row: dict[str, Any], talent_id: str) -> dict[str, Any]:
    now = time.time()
    await conn.execute(resumes.update().where(resumes.c.id == row["id"]).values(
        talent_id=talent_id, status=LINKED, linked_at=now))
    parsed = row["parsed"]
    spans = [{"name": s.name, "start": s.start, "end": s.end} for s in sections(parsed["text"]) if s.end > s.start]
    await record(conn, OutboxEvent(row["org_id"], "resume", row["id"], 1, "upsert", {"vectors": {
        "collection": "resume_chunks", "text": parsed["text"], "chunked": True, "sections": spans,
        "metadata": {"talent_id": talent_id, "resume_id": row["id"], "language": parsed["language"]}}}))
    return {**row, "talent_id": talent_id, "status": LINKED, "linked_at": now}


async def refuse(conn: AsyncConnection, resume_id: str) -> None:
    await conn.execute(resumes.update().where(resumes.c.id == resume_id, resumes.c.status == STORED)
                       .values(status=REFUSED))


async def pending(conn: AsyncConnection, older_than: float, limit: int = 50) -> list[dict[str, Any]]:
    rows = await conn.execute(sa.select(resumes).where(resumes.c.status == STORED,
                                                       resumes.c.created_at < older_than)
                              .order_by(resumes.c.created_at).limit(limit))
    return [dict(row) for row in rows.mappings()]


async def original(conn: AsyncConnection, org_id: str, sha256: str) -> tuple[bytes, str] | None:
    row = (await conn.execute(sa.select(resume_files.c.data, resume_files.c.media_type).where(
        resume_files.c.org_id == org_id, resume_files.c.sha256 == sha256))).first()
    return (bytes(row.data), row.media_type) if row else None


async def history(conn: AsyncConnection, org_id: str, talent_id: str | None, limit: int,
                  before: float | None) -> list[dict[str, Any]]:
    query = sa.select(*SUMMARY_COLUMNS).where(resumes.c.org_id == org_id)
    if talent_id:
        query = query.where(resumes.c.talent_id == talent_id)
    if before is not None:
        query = query.where(resumes.c.created_at < before)
    rows = await conn.execute(query.order_by(resumes.c.created_at.desc(), resumes.c.id).limit(limit))
    return [dict(row) for row in rows.mappings()]
