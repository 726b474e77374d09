"""Why an uploaded file cannot be read: one exception class per problem, each with a stable slug.

The Resume service turns these into problem+json answers (`status`, `slug`, `detail`), so a
recruiter sees "the PDF is password-protected" rather than a parser's traceback, and a client can
branch on the slug. Messages name the problem and, where there is one, the limit or the missing
piece; they never include the file's content. Nothing here knows about HTTP frameworks: `status`
is only the code the service is expected to answer with.
"""

from __future__ import annotations

from typing import Any, ClassVar

OCR_MISSING = "OCR needs Tesseract (Debian packages tesseract-ocr and tesseract-ocr-chi-sim)"


class ResumeFileError(Exception):
    """A file that cannot be turned into résumé text. `extra` holds the facts a client can act on."""

    slug: ClassVar[str] = "resume-file-unreadable"
    status: ClassVar[int] = 422
    title: ClassVar[str] = "The file cannot be read"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """The fields of a problem+json body, for the service to send as they are."""
        return {"type": f"urn:looma:problem:{self.slug}", "title": self.title, "status": self.status,
                "detail": self.detail, **self.extra}


class EmptyFile(ResumeFileError):
    slug = "empty-file"
    title = "The file is empty"

    def __init__(self, name: str | None = None) -> None:
        super().__init__(f"{_named(name)} is empty (0 bytes)")


class FileTooLarge(ResumeFileError):
    slug = "file-too-large"
    status = 413
    title = "The file is too large"

    def __init__(self, size: int, limit: int, *, unit: str = "bytes", name: str | None = None) -> None:
        subject = "the image" if unit == "pixels" else _named(name)
        super().__init__(f"{subject} is {size:,} {unit}; the limit is {limit:,} {unit}",
                         size=size, limit=limit, unit=unit)


class UnsupportedType(ResumeFileError):
    slug = "unsupported-type"
    status = 415
    title = "The file type is not supported"

    def __init__(self, found: str) -> None:
        super().__init__(f"the file is {found}; résumés are accepted as PDF, DOCX, HTML, plain text, PNG or JPEG",
                         found=found)


class TypeMismatch(ResumeFileError):
    slug = "type-mismatch"
    status = 415
    title = "The file is not what its name says"

    def __init__(self, extension: str, found: str, expected: str) -> None:
        super().__init__(f"the file is named {extension} but {found}; a {extension} file must be {expected}",
                         extension=extension, found=found)


class CorruptFile(ResumeFileError):
    slug = "corrupt-file"
    title = "The file is damaged"

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"the {kind} file is damaged or incomplete: {reason}", kind=kind)


class PasswordProtected(ResumeFileError):
    slug = "password-protected"
    title = "The file is password-protected"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is password-protected; upload a copy saved without a password")


class NoTextFound(ResumeFileError):
    slug = "no-text-found"
    title = "No text was found in the file"

    def __init__(self, reason: str) -> None:
        super().__init__(f"no text was found: {reason}")


class TooManyPages(ResumeFileError):
    slug = "too-many-pages"
    status = 413
    title = "The document has too many pages"

    def __init__(self, pages: int, limit: int) -> None:
        super().__init__(f"the document has {pages} pages; the limit is {limit}", pages=pages, limit=limit)


class TookTooLong(ResumeFileError):
    slug = "took-too-long"
    title = "Reading the file took too long"

    def __init__(self, limit: float, where: str) -> None:
        super().__init__(f"reading the file took longer than {limit:g} s (stopped at {where}); "
                         "a résumé that large or complex needs to be simplified or split", limit=limit)


class TooManyMembers(ResumeFileError):
    slug = "too-many-files"
    status = 413
    title = "The archive holds too many files"

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"the archive holds {count:,} files; the limit is {limit:,}", count=count, limit=limit)


class ArchiveTooLarge(ResumeFileError):
    slug = "archive-too-large"
    status = 413
    title = "The archive unpacks to too much data"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the archive unpacks to more than {limit:,} bytes, the limit", limit=limit)


class ZipBomb(ResumeFileError):
    slug = "zip-bomb"
    status = 413
    title = "The archive is compressed suspiciously well"

    def __init__(self, member: str, ratio: int) -> None:
        super().__init__(f"{member!r} inflates more than {ratio}:1; archives like that are refused as zip bombs",
                         member=member, limit=ratio)


class UnsafePath(ResumeFileError):
    slug = "unsafe-path"
    title = "The archive has a file name that points outside it"

    def __init__(self, member: str) -> None:
        super().__init__(f"the archive member {member!r} has an absolute path, a drive letter or '..'; "
                         "such archives are refused whole", member=member)


class NestedArchive(ResumeFileError):
    slug = "nested-archive"
    title = "The archive holds another archive"

    def __init__(self, member: str) -> None:
        super().__init__(f"the archive member {member!r} is itself an archive; upload one flat zip of résumés",
                         member=member)


def _named(name: str | None) -> str:
    return f"the file {name!r}" if name else "the file"
