"""PDF résumés: the text layer through PDFium, laid out by position, and OCR for pages without one.

PDFium (pypdfium2) gives every character with its box in a few milliseconds a page. pdfplumber
gives words with boxes too, through pdfminer.six in pure Python, but its words alone took six
times as long as this whole extraction, too slow for the service's 20 PDFs a second (figures in
docs/benchmarks.md, "Resume text extraction"). Characters are grouped into words here and handed
to `pdf_layout`, which decides columns, running headers and hyphens from the positions alone.

PDFium is not thread-safe, not even across documents, so all calls into it hold one process-wide
lock; the OCR of a page (a Tesseract subprocess) runs outside it.

Time is bounded because the page count is checked before any page is read, the deadline is
checked before every page and every few thousand characters, and OCR gets only the time left.
"""

from __future__ import annotations

import ctypes
import math
import threading
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ai_services.resume_service.documents import ocr
from ai_services.resume_service.documents.errors import (
    OCR_MISSING,
    CorruptFile,
    NoTextFound,
    PasswordProtected,
    TooManyPages,
)
from ai_services.resume_service.documents.limits import Deadline, Limits
from ai_services.resume_service.documents.pdf_layout import PageWords, Word, lay_out

PDFIUM = threading.Lock()  # PDFium must never run in two threads at once
_CHECK_EVERY = 4096  # characters between deadline checks on a page
_BREAKS = frozenset(" \t\r\n\xa0\u3000\ufffe")
_MIN_TEXT = 8  # fewer characters than this on a page with drawings is a scan (perhaps with a page number)


@dataclass
class PdfText:
    text: str
    pages: int
    ocr: bool
    warnings: list[str] = field(default_factory=list)


def read_pdf(data: bytes, limits: Limits, deadline: Deadline) -> PdfText:
    warnings: list[str] = []
    if b"%%EOF" not in data:
        warnings.append("the PDF has no end marker (%%EOF): it may be truncated and its text incomplete")
    with PDFIUM:
        document = _open(data)
    try:
        with PDFIUM:
            count = len(document)
        if count == 0:
            raise CorruptFile("PDF", "it has no pages")
        if count > limits.max_pages:
            raise TooManyPages(count, limits.max_pages)
        pages: list[PageWords] = []
        scanned: list[int] = []
        for index in range(count):
            deadline.check(f"page {index + 1} of {count}")
            with PDFIUM:
                page, drawn = _page_words(document, index, deadline, count)
            if drawn and sum(len(word.text) for word in page.words) < _MIN_TEXT:
                scanned.append(index)
            pages.append(page)
        used_ocr = bool(scanned) and _ocr_pages(document, pages, scanned, limits, deadline, warnings)
    finally:
        with PDFIUM:
            document.close()
    text = "\n\n".join(t for t in lay_out(pages) if t.strip())
    if not text.strip():
        if scanned and not used_ocr:
            raise NoTextFound(f"the PDF's pages are images without a text layer, and {OCR_MISSING}")
        if scanned:
            raise NoTextFound("the PDF's pages are images and OCR found no text in them")
        raise NoTextFound("the PDF has no text on any page")
    return PdfText(text, count, used_ocr, warnings)


def _open(data: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if error.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise PasswordProtected("the PDF") from None
        raise CorruptFile("PDF", "PDFium cannot read its structure (truncated or not a PDF inside)") from None


def _page_words(document: pdfium.PdfDocument, index: int, deadline: Deadline,
                count: int) -> tuple[PageWords, bool]:
    """The page's words (runs of characters on one line with no space and no jump between them),
    and whether anything at all is drawn on it (an image, vector outlines of text, ...).

    PDFium writes "\\x02" for a hyphen it judged to end a line; it is kept so the layout can join
    the word again. Characters drawn twice at the same spot (fake bold) are read once.
    """
    try:
        page = document[index]
    except pdfium.PdfiumError:
        raise CorruptFile("PDF", f"page {index + 1} cannot be read") from None
    try:
        width, height = page.get_size()
        textpage = page.get_textpage()
    except pdfium.PdfiumError:
        page.close()
        raise CorruptFile("PDF", f"the text of page {index + 1} cannot be read") from None
    try:
        drawn = pdfium_c.FPDFPage_CountObjects(page.raw) > 0
        words: list[Word] = []
        chars: list[str] = []
        box = pdfium_c.FS_RECTF()
        box_ref = ctypes.byref(box)
        get_unicode, get_box = pdfium_c.FPDFText_GetUnicode, pdfium_c.FPDFText_GetLooseCharBox  # hot loop
        x0 = x1 = top = bottom = 0.0
        seen: set[tuple[str, int, int]] = set()
        raw = textpage.raw
        for i in range(max(pdfium_c.FPDFText_CountChars(raw), 0)):
            if i % _CHECK_EVERY == _CHECK_EVERY - 1:
                deadline.check(f"page {index + 1} of {count}")
            char = chr(get_unicode(raw, i) or 0xFFFE)
            if char in _BREAKS or not get_box(raw, i, box_ref):
                if chars:
                    words.append(Word("".join(chars), x0, x1, top, bottom, space_after=char in " \xa0\u3000"))
                    chars = []
                continue
            left, right, c_top, c_bottom = box.left, box.right, height - box.top, height - box.bottom
            key = (char, int(left), int(c_top))
            if key in seen:
                continue
            seen.add(key)
            line = c_bottom - c_top
            if chars and (abs(c_top - top) > 0.5 * line or left < x1 - 0.5 * line or left - x1 > 0.3 * line):
                words.append(Word("".join(chars), x0, x1, top, bottom))
                chars = []
            if chars:
                x1 = max(x1, right)
                top = min(top, c_top)
                bottom = max(bottom, c_bottom)
            else:
                x0, x1, top, bottom = left, right, c_top, c_bottom
            chars.append(char)
        if chars:
            words.append(Word("".join(chars), x0, x1, top, bottom))
        return PageWords(width, height, _readable(words)), drawn
    finally:  # closed here, under the lock, rather than by a finalizer in whatever thread runs it
        textpage.close()
        page.close()


def _readable(words: list[Word]) -> list[Word]:
    """Words whose font has no Unicode map come out as control or private-use code points; a page
    made mostly of those has no usable text layer (and is treated like a scan)."""
    chars = sum(len(w.text) for w in words)
    unmapped = sum(1 for w in words for ch in w.text if ch < " " and ch != "\x02" or "\ue000" <= ch <= "\uf8ff")
    return [] if chars and unmapped > 0.5 * chars else words


def _ocr_pages(document: pdfium.PdfDocument, pages: list[PageWords], scanned: list[int], limits: Limits,
               deadline: Deadline, warnings: list[str]) -> bool:
    """Read scanned pages by OCR, rendered at `limits.ocr_dpi` (less for pages so large that would
    pass `limits.max_image_pixels`); without Tesseract, note the pages skipped and return False."""
    numbers = ", ".join(str(i + 1) for i in scanned)
    if not ocr.available():
        if len(scanned) < len(pages):
            warnings.append(f"page(s) {numbers} are images without a text layer and were skipped: {OCR_MISSING}")
        return False
    for index in scanned:
        where = f"OCR of page {index + 1}"
        deadline.check(where)
        page = pages[index]
        scale = min(limits.ocr_dpi / 72, math.sqrt(limits.max_image_pixels / max(page.width * page.height, 1.0)))
        with PDFIUM:
            pdf_page = document[index]
            try:
                bitmap = pdf_page.render(scale=scale, grayscale=True)
                image = bitmap.to_pil().copy()  # the copy owns its pixels; the bitmap is freed now
                bitmap.close()
            finally:
                pdf_page.close()
        result = ocr.read_image(image, deadline, where)
        for warning in result.warnings:
            if warning not in warnings:
                warnings.append(warning)
        page.words, page.text = [], result.text
    warnings.append(f"page(s) {numbers} had no text layer and were read by OCR")
    return True
