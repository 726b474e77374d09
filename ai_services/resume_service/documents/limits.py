"""How much one upload may cost: bytes, pages, seconds, and for batch archives, files and inflation.

A résumé is a few pages and a few hundred kilobytes. Anything far past that is a mistake or an
attack (a 2,000-page scan, a zip bomb), and refusing it early with a typed error is cheaper than
letting one request hold a worker for minutes. Every limit is a field here, so the service can
read them from its settings and a test can tighten one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ai_services.resume_service.documents.errors import TookTooLong

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * MiB  # one file, as uploaded (and one archive member, unpacked)
    max_pages: int = 30  # PDF pages, counted before any is read
    max_seconds: float = 10.0  # wall-clock time for one file, OCR included
    max_members: int = 1_000  # files in one archive, not counting skipped folders and Mac metadata
    max_archive_bytes: int = 200 * MiB  # all members of one archive, unpacked
    max_ratio: int = 100  # unpacked : packed, per archive member
    max_unpacked_bytes: int = 50 * MiB  # all parts of one .docx, unpacked (XML costs ~10x that parsed)
    max_html_depth: int = 5_000  # nested HTML elements (parsing cost grows with depth × elements)
    max_image_pixels: int = 40_000_000  # one image or one rendered page for OCR (A4 at 300 dpi is 8.7 M)
    ocr_dpi: int = 300  # the resolution pages without a text layer are rendered at for OCR


DEFAULT_LIMITS = Limits()  # frozen, so one shared default is safe


class Deadline:
    """The time left for one file, checked between units of work (pages, blocks, members).

    The check is cooperative: it bounds the time because every loop over a file's parts calls it
    at least once per part, and each part is itself bounded (a page's characters, one paragraph,
    one OCR call that Tesseract is killed after). One call into a native parser cannot be
    interrupted from Python; that remaining risk is what the per-page and byte limits keep small.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()

    def remaining(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def check(self, where: str) -> None:
        """Raise TookTooLong when the time is up; `where` says which part was about to be read."""
        if self.remaining() <= 0:
            raise TookTooLong(self.seconds, where)
