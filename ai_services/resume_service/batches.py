"""Batch ingest: many files, one by one in the background, with progress and per-file results.

    POST /api/v1/resumes/batch        multipart `files` (or a zip) → 202 {batch_id}, Location
    GET  /api/v1/resumes/batches/{id} {status, total, processed, succeeded, failed, items}

The files are first written to a spool directory (data_dir/resume-spool/<batch id>/), one file
each, and the batch row is committed: then the answer goes out. Each file is ingested as POST
/api/v1/resumes would (its Idempotency-Key is `batch:<id>:<index>`), its result recorded, and
its spooled copy removed. A batch cut short by a restart is picked up from its spool when the
service starts again: a file already ingested answers from its idempotency key, so nothing is
lost and nothing doubled.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from looma_crm.client import CrmClient
from ai_services.resume_service.ingest import Upload, ingest
from ai_services.resume_service.tables import resume_batches
from shared.database import UnifiedDataAccess
from shared.database.cache import LockTimeout
from shared.service import Problem

log = logging.getLogger("looma.resume")
QUEUED, RUNNING, DONE = "queued", "running", "done"


def spool_dir(data_dir: Path, batch_id: str) -> Path:
    return data_dir / "resume-spool" / batch_id


async def start(data: UnifiedDataAccess, data_dir: Path, org_id: str, actor: str | None,
                uploads: list[Upload]) -> dict[str, Any]:
    batch_id = str(uuid.uuid4())
    folder = spool_dir(data_dir, batch_id)
    await asyncio.to_thread(_spool, folder, uploads)
    items = [{"index": i, "filename": u.filename, "status": QUEUED} for i, u in enumerate(uploads)]
    row = {"id": batch_id, "org_id": org_id, "status": QUEUED, "total": len(uploads), "processed": 0,
           "succeeded": 0, "failed": 0, "items": items, "created_at": time.time(), "created_by": actor,
           "finished_at": None}
    async with data.relational.write() as conn:
        await conn.execute(resume_batches.insert().values(**row))
    return row


def _spool(folder: Path, uploads: list[Upload]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, upload in enumerate(uploads):
        (folder / f"{index:05d}.bin").write_bytes(upload.data)
    (folder / "names.json").write_text(json.dumps([u.filename for u in uploads]))


async def run(data: UnifiedDataAccess, crm: CrmClient, data_dir: Path, batch_id: str) -> None:
    """Ingest every spooled file of the batch not yet done, unless another task or instance is on it."""
    try:
        async with data.cache.lock(f"resume-batch:{batch_id}", ttl=30.0, wait=0.0):
            await _run(data, crm, data_dir, batch_id)
    except LockTimeout:
        return


async def _run(data: UnifiedDataAccess, crm: CrmClient, data_dir: Path, batch_id: str) -> None:
    row = await fetch(data, None, batch_id)
    if row["status"] == DONE:
        return
    folder = spool_dir(data_dir, batch_id)
    names = json.loads((folder / "names.json").read_text()) if (folder / "names.json").exists() else []
    items = list(row["items"])
    await _save(data, batch_id, items, RUNNING)
    for item in items:
        if item["status"] != QUEUED:
            continue
        path = folder / f"{item['index']:05d}.bin"
        if not path.exists():
            item.update(status="failed", error={"status": 410, "detail": "the spooled file is gone"})
            continue
        upload = Upload(await asyncio.to_thread(path.read_bytes), names[item["index"]] if names else None)
        try:
            status, answer = await ingest(data, crm, row["org_id"], row["created_by"], upload,
                                          key=f"batch:{batch_id}:{item['index']}")
            item.update(status="duplicate" if answer.get("duplicate") else "done", resume_id=answer["resume_id"],
                        talent_id=answer["talent_id"], http_status=status)
        except Problem as problem:
            if problem.status_code == 503:  # the CRM is down: the file waits in the spool for the next run
                log.warning("batch paused: the CRM is unavailable", extra={"batch_id": batch_id})
                await _save(data, batch_id, items, QUEUED)
                return
            item.update(status="failed", error={"status": problem.status_code, "slug": problem.slug,
                                                "detail": problem.detail})
        path.unlink(missing_ok=True)
        await _save(data, batch_id, items, RUNNING)
    await _save(data, batch_id, items, DONE)
    await asyncio.to_thread(shutil.rmtree, folder, True)


async def unfinished(data: UnifiedDataAccess) -> list[str]:
    async with data.relational.read() as conn:
        return list((await conn.execute(sa.select(resume_batches.c.id).where(
            resume_batches.c.status.in_((QUEUED, RUNNING))).order_by(resume_batches.c.created_at))).scalars())


async def fetch(data: UnifiedDataAccess, org_id: str | None, batch_id: str) -> dict[str, Any]:
    query = sa.select(resume_batches).where(resume_batches.c.id == batch_id)
    if org_id is not None:
        query = query.where(resume_batches.c.org_id == org_id)
    async with data.relational.read() as conn:
        row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise Problem(404, f"no batch {batch_id!r}", slug="batch-not-found")
    return dict(row)


async def _save(data: UnifiedDataAccess, batch_id: str, items: list[dict[str, Any]], status: str) -> None:
    processed = sum(1 for item in items if item["status"] != QUEUED)
    failed = sum(1 for item in items if item["status"] == "failed")
    async with data.relational.write() as conn:
        await conn.execute(resume_batches.update().where(resume_batches.c.id == batch_id).values(
            status=status, items=items, processed=processed, failed=failed, succeeded=processed - failed,
            finished_at=time.time() if status == DONE else None))


def view(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "status", "total", "processed", "succeeded", "failed", "items", "created_at",
                                "finished_at")}
