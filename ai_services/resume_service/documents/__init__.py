"""Uploaded résumé files turned into plain text, safely: PDF, DOCX, HTML, text, and images by OCR.

    from ai_services.resume_service.documents import Limits, ResumeFileError, extract_text, iter_archive

    extracted = extract_text(data, "张伟简历.pdf")      # Extracted(text=..., kind="pdf", pages=2, ...)
    for member in iter_archive(zip_bytes):               # a batch upload, checked against zip bombs
        extract_text(member.data, member.name)

Every refusal is a ResumeFileError subclass with a stable `slug` and an HTTP `status`; see
docs/resume-files.md for what is accepted, the limits, the errors and how layout is handled.
"""

from ai_services.resume_service.documents.archive import ArchiveMember, iter_archive
from ai_services.resume_service.documents.errors import (
    ArchiveTooLarge,
    CorruptFile,
    EmptyFile,
    FileTooLarge,
    NestedArchive,
    NoTextFound,
    PasswordProtected,
    ResumeFileError,
    TookTooLong,
    TooManyMembers,
    TooManyPages,
    TypeMismatch,
    UnsafePath,
    UnsupportedType,
    ZipBomb,
)
from ai_services.resume_service.documents.extract import Extracted, extract_text
from ai_services.resume_service.documents.limits import Limits

__all__ = [
    "ArchiveMember",
    "ArchiveTooLarge",
    "CorruptFile",
    "EmptyFile",
    "Extracted",
    "FileTooLarge",
    "Limits",
    "NestedArchive",
    "NoTextFound",
    "PasswordProtected",
    "ResumeFileError",
    "TooManyMembers",
    "TooManyPages",
    "TookTooLong",
    "TypeMismatch",
    "UnsafePath",
    "UnsupportedType",
    "ZipBomb",
    "extract_text",
    "iter_archive",
]
