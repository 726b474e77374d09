"""Files out of a request: one multipart `file`, many `files`, or a zip among them (batches)."""

from __future__ import annotations

from sanic import Request

from ai_services.resume_service.ingest import Upload, file_problem
from shared.service import Problem

MAX_TEXT_CHARS = 200_000  # POST /parse {"text": ...}
MAX_BATCH_FILES = 1_000


def _multipart(request: Request) -> None:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        raise Problem(415, f"send the resume as multipart/form-data with a `file` part, not {content_type or 'nothing'}",
                      slug="unsupported-media-type")


def one_file(request: Request) -> Upload:
    _multipart(request)
    parts = request.files.getlist("file") if request.files else None
    if not parts:
        raise Problem(422, "the form has no `file` part", slug="validation-failed",
                      errors=[{"loc": "body.file", "msg": "required"}])
    if len(parts) > 1:
        raise Problem(422, "send one `file` here; many files go to POST /api/v1/resumes/batch",
                      slug="validation-failed", errors=[{"loc": "body.file", "msg": "one file"}])
    return Upload(bytes(parts[0].body), parts[0].name or None)


def many_files(request: Request) -> list[Upload]:
    """Every file of a batch request; a zip is opened and its members taken (safely) instead."""
    from ai_services.resume_service.documents import ResumeFileError, iter_archive

    _multipart(request)
    parts = [part for name in ("files", "file") for part in (request.files.getlist(name) or [])] \
        if request.files else []
    if not parts:
        raise Problem(422, "the form has no `files` part", slug="validation-failed",
                      errors=[{"loc": "body.files", "msg": "required"}])
    uploads: list[Upload] = []
    for part in parts:
        data, name = bytes(part.body), part.name or ""
        if data[:4] == b"PK\x03\x04" and name.lower().endswith(".zip"):
            try:
                uploads += [Upload(member.data, member.name) for member in iter_archive(data)]
            except ResumeFileError as error:
                raise file_problem(error) from None
        else:
            uploads.append(Upload(data, name or None))
        if len(uploads) > MAX_BATCH_FILES:
            raise Problem(413, f"a batch takes at most {MAX_BATCH_FILES} files", slug="too-many-files")
    if not uploads:
        raise Problem(422, "the batch holds no files", slug="validation-failed",
                      errors=[{"loc": "body.files", "msg": "no files"}])
    return uploads
