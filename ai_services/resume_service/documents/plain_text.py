"""Bytes that are text, decoded: BOMs, UTF-8, then GB18030 or whatever charset-normalizer finds.

Most uploads are UTF-8, which a strict decode settles in microseconds. The rest are mostly
Chinese files saved by Windows in GBK, which charset-normalizer reads correctly when there is
enough of it but, for a short file, ranks no higher than UTF-16 or CP949: its candidates tie. Ties
go to GB18030 (a superset of GBK and GB2312), because that is what a Chinese recruiting CRM
receives; a clear winner (Big5 for Traditional Chinese, CP949 for Korean) is kept.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from charset_normalizer import from_bytes

from ai_services.resume_service.documents.errors import UnsupportedType

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_MAX_CONTROL_SHARE = 0.02  # text has tabs and newlines; binary has every byte value


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # a Python codec name: "utf-8", "gb18030", "utf-16", "big5", ...


def decode_text(data: bytes) -> Decoded:
    """Decode bytes known not to be a binary format; raise UnsupportedType when they are not text."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _checked(data.decode(encoding, errors="replace"), encoding)
    try:
        return _checked(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    if b"\0" in data[:4096]:
        raise UnsupportedType("binary data (it has NUL bytes and no text encoding's byte-order mark)")
    encoding = _guess(data)
    if encoding is None:
        raise UnsupportedType("binary data, not text in any known encoding")
    return _checked(data.decode(encoding, errors="replace"), encoding)


def _guess(data: bytes) -> str | None:
    matches = list(from_bytes(data))
    if not matches:
        return None
    best = min(match.chaos for match in matches)
    for match in matches:
        if match.chaos <= best and codecs.lookup(match.encoding).name == "gb18030":
            return "gb18030"
    name = codecs.lookup(matches[0].encoding).name
    return "gb18030" if name in ("gbk", "gb2312", "hz") else name


def _checked(text: str, encoding: str) -> Decoded:
    sample = text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\x0c")
    if sample and controls / len(sample) > _MAX_CONTROL_SHARE:
        raise UnsupportedType("binary data (too many control characters to be text)")
    return Decoded(text, encoding)
