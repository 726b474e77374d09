"""Finding skills in free text (résumés, job descriptions) with exact offsets.

One Aho-Corasick automaton holds every extractable alias key; the text is folded one character
for one (`spelling.fold`), so offsets in the folded text are offsets in the original. Then:

1. Latin ends need word boundaries: "Java" is not found in "JavaScript", nor "C" in "C++". A
   version number may follow ("Python3", "Java8"). CJK ends need none: 后端 is found in 资深后端工程师.
2. Overlaps go to the longest match, then the leftmost: 后端开发 beats 后端, "Spring Boot" beats
   "Spring". Phrases that hold a skill's name without being it ("go-to-market", 运营商) are matched
   the same way and then dropped.
3. Guarded aliases (short or ambiguous: Go, C, R, Spring, Excel...) must be written in an allowed
   form, and the `cued` ones also need a skill context: another skill next to them in a list
   ("C/C++", "Java、Go"), a cue before (熟悉, 精通, "proficient in", "Languages:") or a cue after
   (语言, 开发, "programming", "developer"). A guarded alias may not be glued to a word by a hyphen
   or a dot either ("go-to", "C-level").
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ahocorasick

from shared.skills.skill import Skill, SkillMention
from shared.skills.spelling import fold, half_width, is_word_char

NOT_A_SKILL = -1
ANY_WRITING = "*"
_LIST_GAP_CHARS = 12  # "C, C++ and Java": how far apart two skills of one list may stand
_CUE_WINDOW = 32
_DIGITS = frozenset("0123456789")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")

_CUE_BEFORE = re.compile(
    r"(?:熟悉|精通|掌握|熟练|使用|了解|擅长|运用|采用|基于|具备|懂|会|用|"
    r"proficient (?:in|with)|proficiency (?:in|with)|experience (?:in|with)|experienced (?:in|with)|"
    r"skilled (?:in|with)|knowledge of|familiar with|familiarity with|expert (?:in|with)|expertise in|"
    r"fluent in|fluency in|using|written in|programming in|coding in|worked with|work with|"
    r"(?:programming )?languages?|skills|tech(?:nology|nical)? stack|stack|tools|technologies|"
    r"技能|技术栈|编程语言|语言|工具|开发语言)\s*[:：]?\s*$"
)
_CUE_AFTER = re.compile(
    r"\s*(?:语言|开发|编程|程序|工程师|代码|框架|脚本|技术|"
    r"(?:programming|language|lang|developer|development|engineer|engineering|code|coding|framework|"
    r"scripts?|scripting|programmer|speaker|speaking)(?![a-z]))"
)
_LIST_GAP = re.compile(r"(?:[\s/,，、;；&+|()（）]|和|与|及|或|以及|(?<![a-z])(?:and|or)(?![a-z]))+")


@dataclass(frozen=True, slots=True)
class AliasGuard:
    plain: frozenset[str]  # writings taken anywhere
    cued: frozenset[str]  # writings taken in a skill context; "*" for any writing

    def verdict(self, written: str) -> str:
        """"plain", "cued" or "never" for the alias as it stands in the text."""
        written = half_width(written)
        if written in self.plain:
            return "plain"
        if written in self.cued or ANY_WRITING in self.cued:
            return "cued"
        return "never"


@dataclass(frozen=True, slots=True)
class _Entry:
    length: int
    skill: int  # index into the finder's skills, or NOT_A_SKILL
    guard: AliasGuard | None
    bounded_start: bool  # the key begins with a Latin word character (or a dot: ".NET")
    bounded_end: bool  # the key ends with a Latin word character, "+" or "#"
    version_may_follow: bool  # "Python3": the key ends with a letter and is not guarded


class MentionFinder:
    """Built once per taxonomy; `find` is then safe to call from any thread."""

    def __init__(self, skills: Sequence[Skill], extract_keys: Mapping[str, int],
                 guards: Mapping[str, AliasGuard], not_skills: Sequence[str]) -> None:
        self._skills = skills
        self._automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY)
        for key, skill in extract_keys.items():
            self._automaton.add_word(key, _entry(key, skill, guards.get(key)))
        for key in not_skills:
            self._automaton.add_word(key, _entry(key, NOT_A_SKILL, None))
        self._empty = len(self._automaton) == 0
        if not self._empty:
            self._automaton.make_automaton()

    def find(self, text: str) -> list[SkillMention]:
        if self._empty or not text:
            return []
        folded = fold(text)
        candidates = []
        for end_index, entry in self._automaton.iter(folded):
            start = end_index - entry.length + 1
            if (entry.bounded_start or entry.bounded_end) and not _bounded(folded, start, end_index + 1, entry):
                continue
            # Longest first, then leftmost; one key per span, so entries are never compared.
            candidates.append((-entry.length, start, end_index + 1, entry))
        candidates.sort()
        taken = bytearray(len(folded))
        accepted: list[tuple[int, int, int]] = []
        waiting: list[tuple[int, int, int]] = []
        for _, start, end, entry in candidates:
            if taken.find(1, start, end) != -1:
                continue
            taken[start:end] = b"\x01" * (end - start)
            if entry.skill == NOT_A_SKILL:
                continue
            verdict = entry.guard.verdict(text[start:end]) if entry.guard else "plain"
            if verdict == "plain":
                accepted.append((start, end, entry.skill))
            elif verdict == "cued":
                waiting.append((start, end, entry.skill))
        if waiting:
            accepted = _with_context(folded, accepted, waiting)
        accepted.sort()
        return [SkillMention(self._skills[skill], text[start:end], start, end) for start, end, skill in accepted]


def _entry(key: str, skill: int, guard: AliasGuard | None) -> _Entry:
    first, last = key[0], key[-1]
    return _Entry(
        length=len(key),
        skill=skill,
        guard=guard,
        bounded_start=is_word_char(first) or first == ".",
        bounded_end=is_word_char(last) or last in "+#",
        version_may_follow=guard is None and last.isascii() and last.isalpha(),
    )


def _bounded(folded: str, start: int, end: int, entry: _Entry) -> bool:
    if entry.bounded_start and start > 0:
        before = folded[start - 1]
        if before in _WORD_CHARS:
            return False
        if entry.guard and before in "-." and start > 1 and folded[start - 2] in _WORD_CHARS:
            return False
    if entry.bounded_end and end < len(folded):
        after = folded[end]
        if after in _DIGITS:
            if not entry.version_may_follow:
                return False
            rest = end
            while rest < len(folded) and (folded[rest] in _DIGITS or folded[rest] == "."):
                rest += 1
            return rest == len(folded) or folded[rest] not in _WORD_CHARS
        if after in _WORD_CHARS or after in "+#":
            return False
        if after in "-." and end + 1 < len(folded) and folded[end + 1] in _WORD_CHARS:
            # "Node.js" is not "Node" and "go-to" is not Go; "Python-based" is still Python.
            return after == "-" and entry.guard is None
    return True


def _with_context(folded: str, accepted: list[tuple[int, int, int]],
                  waiting: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Accept the waiting mentions that stand in a skill context; each one accepted can be the
    context of another ("C/C++/Go" needs only C++ to be certain)."""
    accepted = sorted(accepted)
    progress = True
    while waiting and progress:
        progress = False
        for mention in list(waiting):
            if _cued(folded, mention) or _listed(folded, mention, accepted):
                waiting.remove(mention)
                bisect.insort(accepted, mention)
                progress = True
    return accepted


def _cued(folded: str, mention: tuple[int, int, int]) -> bool:
    start, end, _ = mention
    return bool(_CUE_BEFORE.search(folded, max(0, start - _CUE_WINDOW), start) or _CUE_AFTER.match(folded, end))


def _listed(folded: str, mention: tuple[int, int, int], accepted: list[tuple[int, int, int]]) -> bool:
    start, end, _ = mention
    place = bisect.bisect_left(accepted, mention)
    if place > 0:
        gap_start = accepted[place - 1][1]
        if 0 < start - gap_start <= _LIST_GAP_CHARS and _LIST_GAP.fullmatch(folded, gap_start, start):
            return True
    if place < len(accepted):
        gap_end = accepted[place][0]
        if 0 < gap_end - end <= _LIST_GAP_CHARS and _LIST_GAP.fullmatch(folded, end, gap_end):
            return True
    return False
