"""How a skill name is written down for comparison: the keys that lookup and extraction match on.

Two foldings, because the two uses need different guarantees:

- `fold` keeps the length of the text, one character for one, so that a match found in folded
  text has the same offsets in the original (extraction promises `text[start:end] == mention`).
  It maps full-width ASCII to half-width, odd spaces to a plain space and upper to lower case.
- `match_key` is free to change length: NFKC, lower case, one space between words, no space
  between a Latin word and a CJK one ("Java 开发" is "java开发"), dashes unified, surrounding
  quotes and punctuation dropped. Every alias is stored under its `match_key`.

For the alias keys the build writes, both agree: a key is already folded.
"""

from __future__ import annotations

import re
import unicodedata

# Hiragana, katakana, CJK ideographs (with extension A and the compatibility block) and hangul:
# scripts written without spaces, so a match there needs no word boundary.
CJK_RANGES = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK = re.compile(f"[{CJK_RANGES}]")

_FOLD_TABLE: dict[int, str] = {code: chr(code - 0xFEE0).lower() for code in range(0xFF01, 0xFF5F)}
_FOLD_TABLE.update({ord(space): " " for space in "\u3000\u00a0\u2002\u2003\u2009\u200a\u202f\t\n\r\f\v"})
_FOLD_TABLE.update({code: chr(code + 32) for code in range(ord("A"), ord("Z") + 1)})
_FOLD_TABLE.update({ord(dash): "-" for dash in "\u2010\u2011\u2012\u2013\u2014\u2212\ufe63"})
_FOLDED_CHARS = re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(_FOLD_TABLE) if code > 0x7F
                                          or chr(code).isspace()) + "]")
_HALF_WIDTH_TABLE: dict[int, str] = {code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}

_SPACES = re.compile(r"\s+")
_SPACE_BY_CJK = re.compile(f"(?<=[{CJK_RANGES}]) | (?=[{CJK_RANGES}])")
_EDGE_MARKS = " \"'`“”‘’,，;；:：!！?？。、·•*~"
_CLOSER_OF = {"(": ")", "（": "）", "[": "]", "【": "】", "{": "}", "<": ">", "《": "》", "「": "」", "『": "』"}
_OPENER_OF = {closer: opener for opener, closer in _CLOSER_OF.items()}
# Separators that do not change what a name says: React.js, React-js, React js and ReactJS.
_COMPACT_DROP = re.compile(r"[\s._\-·/]")


def fold(text: str) -> str:
    """Lower case and half-width, one character for one, so offsets stay valid."""
    # str.translate walks a dict per character once the text holds Chinese; replacing only the
    # few characters that change and leaving case to str.lower is several times faster.
    folded = _FOLDED_CHARS.sub(_fold_match, text)
    lowered = folded.lower()
    if len(lowered) == len(folded):
        return lowered
    # A few letters (such as U+0130) lower to two characters: keep those as they are.
    return "".join(char if len(char.lower()) != 1 else char.lower() for char in folded)


def _fold_match(match: re.Match[str]) -> str:
    return _FOLD_TABLE[ord(match.group())]


def half_width(text: str) -> str:
    """Full-width ASCII to half-width, case kept: how a guarded alias's written form is compared."""
    return text.translate(_HALF_WIDTH_TABLE)


def match_key(text: str) -> str:
    """The key an alias is stored under and a looked-up name is compared by."""
    key = unicodedata.normalize("NFKC", text).translate(_FOLD_TABLE).lower()
    key = _strip_edges(_SPACES.sub(" ", key))
    return _SPACE_BY_CJK.sub("", key)


def _strip_edges(key: str) -> str:
    """Drop quotes and punctuation around a name, and brackets unless the name needs them:
    "(Java)" is "java", while "Python (computer programming)" keeps its closing bracket."""
    while True:
        before = key
        key = key.strip(_EDGE_MARKS)
        if key and key[0] in _CLOSER_OF and _CLOSER_OF[key[0]] not in key[1:]:
            key = key[1:]
        if key and key[-1] in _OPENER_OF and _OPENER_OF[key[-1]] not in key[:-1]:
            key = key[:-1]
        if key and key[0] in _CLOSER_OF and key[-1] == _CLOSER_OF[key[0]] and key.count(key[0]) == 1:
            key = key[1:-1]
        if key == before:
            return key


def compact_key(key: str) -> str:
    """A key without the separators people vary freely: "spring boot", "spring-boot" and "springboot"."""
    return _COMPACT_DROP.sub("", key)


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def is_word_char(char: str) -> bool:
    """A character that continues a Latin word: ASCII letters, digits and the underscore."""
    return char.isascii() and (char.isalnum() or char == "_")
