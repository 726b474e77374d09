"""One uploaded résumé file in, its plain text out, or a typed error saying why not.

The order of checks is the order of cost: size first (free), then the type from the content
(reads a kilobyte, or a zip's directory), then the reader for that type under a deadline. Every
reader hands back text that `normalise` then gives the same shape, so what comes after
(sections, entities, search) never needs to know whether the file was a PDF or a web page.

This is synchronous CPU work, several milliseconds to seconds a file: the service runs it in a
worker (thread or process), not on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ai_services.resume_service.documents.docx_text import read_docx
from ai_services.resume_service.documents.errors import EmptyFile, FileTooLarge, NoTextFound
from ai_services.resume_service.documents.html_text import read_html
from ai_services.resume_service.documents.image_text import read_image
from ai_services.resume_service.documents.limits import DEFAULT_LIMITS, Deadline, Limits
from ai_services.resume_service.documents.normalise import normalise
from ai_services.resume_service.documents.pdf_text import read_pdf
from ai_services.resume_service.documents.sniff import detect


@dataclass(frozen=True)
class Extracted:
    text: str
    kind: str  # "pdf" | "docx" | "html" | "text" | "image"
    pages: int | None = None  # PDFs (and 1 for an image); None where a format has no pages
    ocr: bool = False
    encoding: str | None = None  # text and HTML: the encoding the bytes were decoded from
    warnings: list[str] = field(default_factory=list)


def extract_text(data: bytes, filename: str | None = None, *, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    """The text of one résumé file. `filename` is only used to check the extension agrees with
    the content. Raises a subclass of ResumeFileError for every file it cannot read."""
    if not data:
        raise EmptyFile(filename)
    if len(data) > limits.max_bytes:
        raise FileTooLarge(len(data), limits.max_bytes, name=filename)
    deadline = Deadline(limits.max_seconds)
    deadline.check("the start")
    detected = detect(data, filename)
    if detected.kind == "pdf":
        pdf = read_pdf(data, limits, deadline)
        return _done(pdf.text, "pdf", pages=pdf.pages, ocr=pdf.ocr, warnings=pdf.warnings)
    if detected.kind == "docx":
        document = read_docx(data, limits, deadline)
        return _done(document.text, "docx", warnings=document.warnings)
    if detected.kind == "image":
        image = read_image(data, limits, deadline)
        return _done(image.text, "image", pages=1, ocr=True, warnings=image.warnings)
    assert detected.decoded is not None
    if detected.kind == "html":
        return _done(read_html(detected.decoded.text, limits, deadline), "html", encoding=detected.decoded.encoding)
    return _done(detected.decoded.text, "text", encoding=detected.decoded.encoding)


def _done(text: str, kind: str, **facts: object) -> Extracted:
    text = normalise(text)
    if not text:
        raise NoTextFound(f"the {kind.upper() if kind in ('pdf', 'docx', 'html') else kind} file holds no text")
    return Extracted(text, kind, **facts)  # type: ignore[arg-type]
