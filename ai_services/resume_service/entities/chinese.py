"""Chinese resumes: the stretches tagged one at a time, the features a character-level CRF sees,
and what is made of its spans.

The tagger labels each character with a BMES tag (ResumeNER's scheme). A character sees itself
and its neighbours two either side as unigrams, bigrams and trigrams (digits folded to 0, Latin
lower-cased, full-width folded to half-width), its character class, how far it stands from the
start of the sentence (names and nationalities open a ResumeNER sentence), and where it falls
inside any entity string seen in training (the entity lexicon): 董事会秘书 and 有限公司 recur across
resumes even when the company does not.

ResumeNER is prose biographies; a resume is also a form. So the spans are checked against what a
biography never shows (`plausible`), names are read from the form too (`find_names`), and ORG,
which ResumeNER uses for schools as well, is told apart from SCHOOL (`name_schools`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

import ahocorasick

# Where a sentence may be cut: the tagger learned from ResumeNER sentences, which end at these.
_SENTENCE_END = re.compile(r"[\n。！？!?；;]+")
MAX_UNIT_CHARS = 200  # ResumeNER's longest sentence is 178 characters
# Words that open a line of a Chinese resume form and that a tagger trained on prose biographies
# takes for a name when they stand first: "电话：138...".
FIELD_NAMES = frozenset((
    "姓名", "性别", "年龄", "民族", "籍贯", "户籍", "学历", "学位", "专业", "职位", "职称", "电话", "手机", "邮箱",
    "地址", "住址", "婚姻", "婚否", "政治面貌", "联系方式", "联系电话", "出生日期", "出生年月", "求职意向", "期望薪资",
    "工作经历", "工作经验", "教育背景", "项目经验", "专业技能", "自我评价", "个人信息", "基本信息",
))
# A skill list ("熟悉Python、MySQL") is never an entity of ResumeNER's kinds.
_SKILL_CUES = ("熟悉", "精通", "掌握", "了解", "熟练", "擅长")
_NAME_CHARS = re.compile(r"[\u4e00-\u9fff·•]+")
_NAME_FIELD = re.compile(r"姓\s*名\s*[:：]\s*([\u4e00-\u9fff·]{2,6})")
_HEADER_NAME = re.compile(r"\s*([\u4e00-\u9fff]{2,4})[ \t]*\n")
_SCHOOL_END = re.compile(r"(?:大学|学院|学校|中学|小学|党校|研究生院|大学.{0,8}?[系院]|分校)$")


@lru_cache(maxsize=8192)
def fold(char: str) -> str:
    """One character as the features see it: 0 for any digit, Latin lower-cased, full-width
    folded (ＡＢＣ as abc)."""
    folded = unicodedata.normalize("NFKC", char)
    if folded.isdigit():
        return "0"
    return folded.lower()


def _kind(char: str) -> str:
    if char.isdigit():
        return "d"
    if "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf":
        return "c"
    if char.isascii() and char.isalpha():
        return "a"
    if char.isspace():
        return "s"
    return "p"


class EntityLexicon:
    """Entity strings seen in training, each with the labels it was given; matched in folded text."""

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        labels: dict[str, set[str]] = {}
        for text, label in entries:
            key = "".join(fold(char)[:1] for char in text)
            if len(key) >= 2:
                labels.setdefault(key, set()).add(label)
        self._automaton = ahocorasick.Automaton()
        for key, key_labels in labels.items():
            self._automaton.add_word(key, (len(key), "|".join(sorted(key_labels))))
        if labels:
            self._automaton.make_automaton()
        self._empty = not labels

    def marks(self, folded: str) -> Iterator[tuple[int, int, str]]:
        """(start, end, labels) of every lexicon string in the folded sentence."""
        if self._empty:
            return
        for last, (length, labels) in self._automaton.iter(folded):
            yield last - length + 1, last + 1, labels


def features(sentence: str, lexicon: EntityLexicon | None) -> list[list[str]]:
    """One list of feature strings per character of the sentence."""
    folded = [fold(char) for char in sentence]
    kinds = [_kind(char) for char in sentence]
    padded = ["<s>", "<s>", *folded, "</s>", "</s>"]
    padded_kinds = ["b", "b", *kinds, "e", "e"]
    out = []
    for i in range(2, len(padded) - 2):
        a, b, c, d, e = padded[i - 2:i + 3]
        out.append([
            "u0=" + c, "u-1=" + b, "u1=" + d, "u-2=" + a, "u2=" + e,
            "b-1=" + b + c, "b1=" + c + d, "b-2=" + a + b, "b2=" + d + e, "s=" + b + d,
            "t-1=" + b + c + d, "t-2=" + a + b + c, "t2=" + c + d + e,
            "k=" + padded_kinds[i - 1] + padded_kinds[i] + padded_kinds[i + 1],
            f"p={min(i - 2, 6)}",
        ])
    if lexicon is not None:
        # One folded character per character, so offsets in the match are offsets in the sentence.
        for start, end, labels in lexicon.marks("".join(char[:1] for char in folded)):
            size = min(end - start, 8)
            for j in range(start, end):
                if end - start == 1:
                    position = "S"
                elif j == start:
                    position = "B"
                else:
                    position = "E" if j == end - 1 else "M"
                out[j] += [f"L{position}={labels}", f"Ln{position}={labels}{size}"]
    return out


def units(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of the stretches tagged one at a time: sentences, cut again at a comma when
    longer than any the tagger learned from."""
    start = 0
    for match in _SENTENCE_END.finditer(text):
        yield from _short(text, start, match.end())
        start = match.end()
    if start < len(text):
        yield from _short(text, start, len(text))


def _short(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while end - start > MAX_UNIT_CHARS:
        cut = max(text.rfind(mark, start, start + MAX_UNIT_CHARS) for mark in "，,、 ")
        cut = cut + 1 if cut > start else start + MAX_UNIT_CHARS
        yield start, cut
        start = cut
    if text[start:end].strip():
        yield start, end


def plausible(spans: list[tuple[str, int, int]], text: str) -> list[tuple[str, int, int]]:
    """The tagger's spans less those a resume form provokes and a biography never shows: a name
    that is a field label or holds Latin letters, a span opening with 熟悉 or 精通."""
    kept = []
    for label, start, end in spans:
        surface = text[start:end]
        if surface.startswith(_SKILL_CUES):
            continue
        if label == "NAME" and (surface in FIELD_NAMES or not _NAME_CHARS.fullmatch(surface)):
            continue
        kept.append((label, start, end))
    return kept


def find_names(text: str) -> list[tuple[str, int, int]]:
    """Names a resume form states: after 姓名：, or alone on the first line of a resume of several
    lines (a single sentence is left to the tagger)."""
    found = [("NAME", *match.span(1)) for match in _NAME_FIELD.finditer(text)]
    header = _HEADER_NAME.match(text)
    if header and header.group(1) not in FIELD_NAMES and text.count("\n") >= 2:
        found.append(("NAME", *header.span(1)))
    return found


def name_schools(spans: list[tuple[str, int, int]], text: str) -> list[tuple[str, int, int]]:
    """ResumeNER files schools under ORG; call an ORG a SCHOOL when it reads as one (大学, 学院...)
    and no job title follows it at once (浙江大学教授 names an employer)."""
    named = []
    for index, (label, start, end) in enumerate(spans):
        if label == "ORG" and _SCHOOL_END.search(text[start:end]):
            following = spans[index + 1] if index + 1 < len(spans) else None
            if not (following and following[0] == "TITLE" and following[1] == end):
                label = "SCHOOL"
        named.append((label, start, end))
    return named
