"""One shape for all extracted text, whatever the file was: NFC, "\\n" line ends, no control bytes.

Entity extraction, search and the CRM compare strings; a name typed as "é" in one résumé and as
"e" + combining accent in another, or a line ending in "\\r", must not look different. Bullets
from symbol fonts and word processors ("●", "▪", "", ...) all become "• " so a list item is
recognisable by its first two characters.
"""

from __future__ import annotations

import re
import unicodedata

# Glyphs seen as list bullets in résumés: geometric shapes, CJK middle dots, and Symbol/Wingdings
# private-use code points that PDFs and Word files carry for their bullets.
BULLETS = "•●○◦▪▫■□◆◇►▸▹‣⁃∙・·➢➤✓✔❖\uf0b7\uf0a7\uf0d8\uf076\uf0fc\uf06e\uf0a8"
_BULLET_START = re.compile(rf"^[ \t]*[{re.escape(BULLETS)}][ \t]*(?=\S)", re.MULTILINE)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\u200b\u200e\u200f\ufeff\ufffe\uffff]")
_TRAILING = re.compile(r"[ \t\u3000]+\n")
_BLANK_RUNS = re.compile(r"\n{3,}")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def normalise(text: str) -> str:
    """NFC; "\\r\\n", "\\r", form feeds and Unicode line separators as "\\n"; NULs and other control
    characters dropped; non-breaking spaces as spaces; bullets as "• "; no trailing spaces; at most
    one blank line in a row; no blank lines at either end."""
    if _SURROGATES.search(text):  # PDF and OCR text can carry UTF-16 halves; pair them, drop lone ones
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").translate(_LINE_BREAKS)
    text = _CONTROLS.sub("", text)
    text = _BULLET_START.sub("• ", text)
    text = _TRAILING.sub("\n", text + "\n")
    return _BLANK_RUNS.sub("\n\n", text).strip()


_LINE_BREAKS = str.maketrans({"\r": "\n", "\x0c": "\n", "\u2028": "\n", "\u2029": "\n", "\x85": "\n",
                              "\xa0": " ", "\u202f": " ", "\u2007": " ", "\u00ad": None})


def is_cjk(char: str) -> bool:
    """Chinese and Japanese characters and punctuation: the scripts written without spaces between words."""
    code = ord(char)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x3000 <= code <= 0x303F
            or 0xFF00 <= code <= 0xFFEF or 0x3040 <= code <= 0x30FF
            or 0x20000 <= code <= 0x2FA1F)
