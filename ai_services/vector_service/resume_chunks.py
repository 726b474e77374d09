"""Resume text as chunks: each embedded on its own, each keeping where it sits in the resume.

`PUT /api/v1/vectors/resumes/{resume_id}/chunks` takes a resume's whole text (and, optionally,
the sections a parser found), cuts it with shared/embeddings/chunking.py, embeds every chunk as a
passage and stores it in `resume_chunks` under `{resume_id}#{index}`, with `talent_id`,
`resume_id`, `section`, `language`, `start` and `end` in its metadata: a hit on a chunk points at
the characters of the resume it came from. Writing a resume again replaces its chunks, and the
chunks a shorter text no longer has are deleted. `DELETE` removes them all.
"""

from __future__ import annotations

from sanic import Blueprint, HTTPResponse, Request
from sanic.response import empty, json
from sanic_ext import openapi

from ai_services.vector_service.api import embedded, invalid, loaded_provider, record_id
from ai_services.vector_service.models import ResumeChunksWrite, ResumeChunksWritten
from shared.catalog import MAX_CHUNKS, MODEL_FIELD, RESUME_CHUNKS, chunk_id
from shared.database.vectors import VectorIdTaken, VectorRecord
from shared.embeddings.chunking import Chunk, Section, chunk_text
from shared.service import Problem, parse_body
from shared.service.auth import requires
from shared.service.auth.permissions import VECTOR_WRITE
from shared.service.tenancy import org_of

EMBED_AT_ONCE = 64  # chunks per embedding call: a long resume does not hold the model in one go


def chunks_of(body: ResumeChunksWrite) -> list[Chunk]:
    try:
        chunks = chunk_text(body.text, sections=[Section(s.name, s.start, s.end) for s in body.sections] or None)
    except ValueError as error:
        raise invalid("body.sections", str(error)) from None
    if not chunks:
        raise invalid("body.text", "the text has nothing but whitespace")
    if len(chunks) > MAX_CHUNKS:
        raise invalid("body.text", f"the text makes {len(chunks)} chunks, at most {MAX_CHUNKS} are kept per resume")
    return chunks


def resume_chunks_blueprint() -> Blueprint:
    bp = Blueprint("resume_chunks", url_prefix="/api/v1/vectors/resumes")

    @bp.put("/<resume_id:str>/chunks")
    @requires(VECTOR_WRITE)
    @openapi.body({"application/json": ResumeChunksWrite})
    @openapi.response(200, {"application/json": ResumeChunksWritten})
    @openapi.summary("Chunk, embed and store a resume's text; each chunk keeps its character span")
    async def write_chunks(request: Request, resume_id: str) -> HTTPResponse:
        resume_id = record_id(resume_id)
        body = parse_body(request, ResumeChunksWrite)
        org = org_of(request)
        chunks = chunks_of(body)
        if len(chunk_id(resume_id, len(chunks) - 1)) > 128:
            raise invalid("path.resume_id", "resume_id is too long to name its chunks")
        provider = loaded_provider(request)
        stored = RESUME_CHUNKS.stored_as(provider.model_id)
        records = []
        for start in range(0, len(chunks), EMBED_AT_ONCE):
            batch = chunks[start:start + EMBED_AT_ONCE]
            vectors = await embedded(provider, [chunk.text for chunk in batch], "passage")
            records += [VectorRecord(chunk_id(resume_id, chunk.index), org, vector, {
                "talent_id": body.talent_id, "resume_id": resume_id, "section": chunk.section,
                "language": body.language, "start": chunk.start, "end": chunk.end, "index": chunk.index,
                MODEL_FIELD: provider.model_id}) for chunk, vector in zip(batch, vectors, strict=True)]
        vectors_store = request.app.ctx.store.vectors
        try:
            await vectors_store.upsert(stored, records)
        except VectorIdTaken:
            raise Problem(409, f"resume id {resume_id!r} cannot be used; choose another id",
                          slug="id-unavailable") from None
        await vectors_store.delete(stored, org, [chunk_id(resume_id, i) for i in range(len(chunks), MAX_CHUNKS)])
        return json({"resume_id": resume_id, "talent_id": body.talent_id, "model": provider.model_id,
                     "chunks": [{"id": chunk_id(resume_id, c.index), "index": c.index, "start": c.start,
                                 "end": c.end, "section": c.section} for c in chunks]})

    @bp.delete("/<resume_id:str>/chunks")
    @requires(VECTOR_WRITE)
    @openapi.response(204, None)
    @openapi.summary("Delete every chunk of a resume")
    async def delete_chunks(request: Request, resume_id: str) -> HTTPResponse:
        resume_id = record_id(resume_id)
        provider = loaded_provider(request)
        deleted = await request.app.ctx.store.vectors.delete(
            RESUME_CHUNKS.stored_as(provider.model_id), org_of(request),
            [chunk_id(resume_id, i) for i in range(MAX_CHUNKS)])
        if not deleted:
            raise Problem(404, f"no chunks of resume {resume_id!r}", slug="vector-not-found")
        return empty()

    return bp
