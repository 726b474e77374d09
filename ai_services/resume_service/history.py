"""Education and experience entries, built from the entities of each section.

An entry starts at a line naming a school (education) or an employer (experience); it runs until
the next such line. Its degree, major, title and dates are the first entities of those labels in
it; a `至今` / `present` after its first date makes it current. Without sections (a single line
of text, say), the whole text is searched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ai_services.resume_service.dates import PRESENT, months_between, partial_date
from ai_services.resume_service.person import Span
from ai_services.resume_service.sections import Section

SCHOOL_WORDS = re.compile(r"(大学|学院|学校|中学|高中|University|College|Institute|School|Academy|Polytechnic|IIT\b)",
                          re.IGNORECASE)
BULLET = re.compile(r"^\s*(?:[•●○◦▪■◆►▸\-–*·]|\d{1,2}[.、)）])\s*")
ACHIEVEMENT = re.compile(r"\d+(?:\.\d+)?\s*(?:%|％|倍|万|亿|x\b)|提升|增长|降低|节省|获得|荣获|increased|reduced|improved|"
                         r"saved|grew|award|won\b", re.IGNORECASE)


@dataclass(frozen=True)
class Found:
    """A span read from a resume's table-like row, where the entity models found none."""

    label: str
    text: str
    start: int
    end: int


_DATE_IN_ROW = re.compile(r"(?:19|20)\d{2}\s*(?:[.\-/年]\s*\d{1,2}\s*月?)?")
_CELL = re.compile(r"[^\s|｜/\t](?:[^|｜\t\n]*?[^\s|｜\t])?(?=\s{2,}|\s*[|｜\t]|\s*$)")
_RANGE_WORDS = re.compile(r"^(?:[-–—~至到]|to|present|至今|现在|now)$", re.IGNORECASE)
COMPANY_WORDS = re.compile(r"(公司|集团|科技|银行|研究院|研究所|事务所|工作室|医院|Inc\.?|Ltd\.?|LLC|Corp|Technologies|"
                           r"Solutions|Bank|Group)", re.IGNORECASE)
DEGREE_WORDS = re.compile(r"^(?:博士|硕士|研究生|本科|学士|大专|专科|高中|中专|MBA|EMBA|PhD|Ph\.D\.|Master'?s?|Bachelor'?s?|"
                          r"B\.?E\.?|B\.?Tech|M\.?Tech|B\.?S\.?c?|M\.?S\.?c?|MCA|BCA)\b", re.IGNORECASE)


def row_spans(text: str, low: int, high: int, entities: Sequence[Span], kind: str) -> list[Found]:
    """Spans from rows such as `2019.03 - 至今  字节跳动  高级后端工程师`, cell by cell.

    A row is a line with a date whose other cells are separated by two spaces, a bar or a tab.
    Cells the models labelled keep their labels; an unlabelled cell becomes the company (or the
    school), the title (or the major) in the order they come, a degree word becomes EDU.
    """
    found: list[Found] = []
    position = low
    for line in text[low:high].splitlines(keepends=True):
        start = position
        position += len(line)
        if not _DATE_IN_ROW.search(line):
            continue
        cells = [(m.start() + start, m.end() + start) for m in _CELL.finditer(line.rstrip("\n"))]
        free = []
        for cell_start, cell_end in cells:
            cell = text[cell_start:cell_end]
            if _DATE_IN_ROW.fullmatch(cell.strip()) or _RANGE_WORDS.match(cell.strip()) or \
                    _DATE_IN_ROW.sub("", cell).strip(" -–—~至到今现在.") == "":
                continue
            owned = ("ORG", "SCHOOL", "TITLE") if kind == "experience" else ("ORG", "SCHOOL", "PRO", "EDU")
            if any(e.start < cell_end and cell_start < e.end and e.label in owned for e in entities):
                continue
            free.append((cell_start, cell_end, cell))
        order = ("ORG", "TITLE") if kind == "experience" else ("SCHOOL", "PRO")
        for cell_start, cell_end, cell in free:
            if DEGREE_WORDS.match(cell):
                found.append(Found("EDU", cell, cell_start, cell_end))
                continue
            label = order[0] if (kind == "experience" and COMPANY_WORDS.search(cell)) else None
            if label is None:
                used = {f.label for f in found if f.start >= start and f.end <= position}
                label = next((name for name in order if name not in used), None)
            if label is not None:
                found.append(Found(label, cell, cell_start, cell_end))
    return found


def is_school(entity: Span) -> bool:
    return entity.label == "SCHOOL" or (entity.label == "ORG" and bool(SCHOOL_WORDS.search(entity.text)))


def _within(all_sections: list[Section], names: tuple[str, ...]) -> list[tuple[int, int]]:
    spans = [(s.body, s.end) for s in all_sections if s.name in names]
    return spans or [(0, all_sections[-1].end)]


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def _blocks(text: str, anchors: list[Span], end: int) -> list[tuple[Span, int, int]]:
    """(anchor, block start, block end): one block per line holding an anchor."""
    blocks: list[tuple[Span, int, int]] = []
    for anchor in anchors:
        start = _line_start(text, anchor.start)
        if blocks and blocks[-1][1] == start:
            continue  # a second anchor on the same line belongs to the same entry
        blocks.append((anchor, start, end))
    return [(anchor, start, blocks[i + 1][1] if i + 1 < len(blocks) else end)
            for i, (anchor, start, _) in enumerate(blocks)]


def _in(entities: Sequence[Span], label: str, start: int, end: int) -> list[Span]:
    return [e for e in entities if e.label == label and start <= e.start < end]


def _period(text: str, entities: Sequence[Span], start: int, end: int) -> dict[str, Any]:
    dates = [d for d in (partial_date(e.text) for e in _in(entities, "DATE", start, end)) if d and d != "present"]
    begin = dates[0] if dates else None
    first_line_end = text.find("\n", text.find("\n", start) + 1)
    head = text[start:end if first_line_end < 0 else min(end, first_line_end)]
    current = begin is not None and PRESENT.search(head) is not None
    finish = "present" if current else (dates[1] if len(dates) > 1 else None)
    if begin and finish and finish != "present" and finish < begin:
        begin, finish = finish, begin
    return {"start": begin, "end": finish, "current": current}


def education(text: str, all_sections: list[Section], entities: Sequence[Span]) -> list[dict[str, Any]]:
    entries = []
    for low, high in _within(all_sections, ("education",)):
        entities = sorted([*entities, *row_spans(text, low, high, entities, "education")], key=lambda e: e.start)
        schools = [e for e in entities if low <= e.start < high and is_school(e)]
        for school, start, end in _blocks(text, schools, high):
            degree = _in(entities, "EDU", start, end)
            major = _in(entities, "PRO", start, end)
            period = _period(text, entities, start, end)
            entries.append({"school": school.text.strip(), "degree": degree[0].text if degree else None,
                            "major": major[0].text if major else None, "start": period["start"],
                            "end": period["end"]})
    return entries


def experience(text: str, all_sections: list[Section], entities: Sequence[Span]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for low, high in _within(all_sections, ("experience",)):
        entities = sorted([*entities, *row_spans(text, low, high, entities, "experience")], key=lambda e: e.start)
        employers = [e for e in entities if e.label == "ORG" and low <= e.start < high and not is_school(e)]
        for employer, start, end in _blocks(text, employers, high):
            titles = _in(entities, "TITLE", start, end)
            period = _period(text, entities, start, end)
            if entries and not titles and period["start"] is None:
                continue  # an employer named inside the previous job's description
            lines = [line.strip() for line in text[start:end].splitlines()[1:] if line.strip()]
            entries.append({
                "company": employer.text.strip(), "title": titles[0].text.strip() if titles else None,
                **period,
                "description": "\n".join(lines)[:20_000] or None,
                "achievements": [BULLET.sub("", line) for line in lines if ACHIEVEMENT.search(line)][:20],
            })
    return entries


def years_of_experience(entities: Sequence[Span], jobs: list[dict[str, Any]]) -> float | None:
    """Stated years (8年工作经验, 5+ years of experience) first; otherwise the months the jobs cover."""
    for entity in entities:
        if entity.label == "YEARS_EXP":
            number = re.search(r"\d+(?:\.\d+)?", entity.text) or _chinese_number(entity.text)
            if number is not None:
                value = float(number.group(0)) if isinstance(number, re.Match) else number
                if 0 < value <= 60:
                    return value
    months: set[int] = set()
    for job in jobs:
        if job["start"]:
            first = months_between("1900", job["start"])
            last = months_between("1900", job["end"] or job["start"])
            months.update(range(first, max(first + 1, last)))
    return round(len(months) / 12, 1) if months else None


def _chinese_number(text: str) -> float | None:
    digits = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
    found = re.search(r"([一两二三四五六七八九]?十?[一二三四五六七八九]?)\s*年", text)
    if not found or not found.group(1):
        return None
    word = found.group(1)
    if "十" in word:
        tens, _, ones = word.partition("十")
        return float(digits.get(tens, 1) * 10 + digits.get(ones, 0))
    return float(digits.get(word, 0)) or None
