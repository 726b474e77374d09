"""What a file is, from its bytes; the name's extension only has to agree.

Uploads arrive named by people and browsers: "简历.PDF", "resume" with no extension, a PNG
renamed to .pdf to get past a form. Reading a file with the parser its extension names would
send PNG bytes to a PDF parser, so the content decides: magic bytes (`filetype`, plus the checks it
does not make: a PDF header anywhere in the first kilobyte, a zip that is really a Word document,
an encrypted Office file, text and HTML). A known extension that contradicts the content is
refused as a mismatch, since one of the two is wrong and guessing which would surprise someone;
a missing or unfamiliar extension is fine.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

import filetype

from ai_services.resume_service.documents.errors import (
    CorruptFile,
    PasswordProtected,
    TypeMismatch,
    UnsupportedType,
)
from ai_services.resume_service.documents.plain_text import Decoded, decode_text

KINDS = ("pdf", "docx", "html", "text", "image")
IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG"}
EXTENSIONS = {".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html", ".xhtml": "html",
              ".txt": "text", ".text": "text", ".md": "text", ".png": "image", ".jpg": "image", ".jpeg": "image"}
EXPECTED = {"pdf": "a PDF document", "docx": "a Word document (a zip holding word/document.xml)",
            "html": "an HTML page", "text": "plain text", "image": "a PNG or JPEG image"}
FOUND = {"pdf": "it is a PDF document", "docx": "it is a Word document", "html": "it is an HTML page",
         "text": "it is plain text", "image": "it is an image"}

_OLE = bytes.fromhex("d0cf11e0a1b11ae1")  # compound file: old .doc/.xls, or an encrypted .docx
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_HTML_START = re.compile(r"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_HTML_TAGS = re.compile(r"<(p|div|br|table|span|h[1-6]|ul|li|a\s+href)\b[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class Detected:
    kind: str  # one of KINDS
    found: str  # what the content is, in words: "a PNG image"
    decoded: Decoded | None = None  # text and HTML, decoded once here


def detect(data: bytes, filename: str | None) -> Detected:
    """The kind of `data` (non-empty, within the size limit); raise a typed error for anything else."""
    extension = _extension(filename)
    detected = _from_content(data, extension)
    claimed = EXTENSIONS.get(extension)
    if claimed is not None and claimed != detected.kind and not _compatible(claimed, detected.kind):
        raise TypeMismatch(extension, FOUND[detected.kind], EXPECTED[claimed])
    if claimed == "html" and detected.kind == "text":
        return Detected("html", detected.found, detected.decoded)
    if claimed == "text" and detected.kind == "html":
        return Detected("text", detected.found, detected.decoded)  # a .txt with tags in it: keep the tags
    return detected


def _from_content(data: bytes, extension: str) -> Detected:
    head = data[:1024]
    if b"%PDF-" in head:
        return Detected("pdf", "a PDF document")
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data, extension)
    if data.startswith(_OLE):
        if _ENCRYPTED_PACKAGE in data[:1 << 20]:
            raise PasswordProtected("the Word document")
        raise UnsupportedType("an old-format Office file (.doc/.xls); save it as .docx or PDF")
    guess = filetype.guess(head)
    if guess is not None and guess.mime in IMAGE_TYPES:
        return Detected("image", f"a {IMAGE_TYPES[guess.mime]} image")
    if guess is not None:
        if extension in EXTENSIONS:
            raise TypeMismatch(extension, f"it is {guess.mime}", EXPECTED[EXTENSIONS[extension]])
        raise UnsupportedType(guess.mime)
    decoded = decode_text(data)
    if _HTML_START.match(decoded.text[:4096]) or len(_HTML_TAGS.findall(decoded.text[:8192])) >= 3:
        return Detected("html", "an HTML page", _as_declared(data, decoded))
    return Detected("text", "plain text", decoded)


def _as_declared(data: bytes, decoded: Decoded) -> Decoded:
    """A page that is not UTF-8 is decoded as its <meta charset> says, when it names a codec."""
    if decoded.encoding.startswith(("utf-8", "utf-16", "utf-32")):
        return decoded
    declared = _META_CHARSET.search(data[:4096])
    if declared is None:
        return decoded
    try:
        name = codecs.lookup(declared.group(1).decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return decoded
    name = "gb18030" if name in ("gbk", "gb2312") else name
    return decoded if name == decoded.encoding else Decoded(data.decode(name, errors="replace"), name)


def _zip_kind(data: bytes, extension: str) -> Detected:
    """A zip is a résumé only as a Word document; a broken zip that looks like one is a broken .docx."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        if extension == ".docx" or b"word/" in data[:65536]:
            raise CorruptFile("DOCX", f"the zip container cannot be opened ({error})") from None
        raise UnsupportedType("a damaged zip archive") from None
    if "word/document.xml" in names:
        return Detected("docx", "a Word document")
    if extension == ".docx":
        raise TypeMismatch(extension, "it is a zip without word/document.xml", EXPECTED["docx"])
    if extension in EXTENSIONS:
        raise TypeMismatch(extension, "it is a zip archive", EXPECTED[EXTENSIONS[extension]])
    if any(name.startswith(("xl/", "ppt/")) for name in names):
        raise UnsupportedType("a spreadsheet or presentation; save the résumé as PDF or DOCX")
    raise UnsupportedType("a zip archive; batches of résumés go to the archive upload")


def _compatible(claimed: str, found: str) -> bool:
    """HTML saved as .txt (or text as .html) is the same text either way; a JPEG named .png is still an image."""
    return {claimed, found} == {"html", "text"}


def _extension(filename: str | None) -> str:
    if not filename:
        return ""
    name = PureWindowsPath(filename).name if "\\" in filename else PurePosixPath(filename).name
    suffix = PurePosixPath(name).suffix.lower()
    return suffix if suffix != "." else ""
