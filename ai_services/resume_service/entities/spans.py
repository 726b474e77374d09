"""Evidence spans: what an entity is, how tags become spans, and how overlapping spans are settled.

An entity's offsets index the text it was found in, so `text[start:end] == entity.text` always:
a recruiter's screen can highlight it and a projection can cite it without searching again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

LABELS = (
    "NAME",  # the person's name
    "EMAIL",
    "PHONE",
    "LOC",  # a place
    "ORG",  # an employer
    "SCHOOL",
    "TITLE",  # a job title or position
    "EDU",  # a degree or level of education: 本科, 硕士学历, MBA, Bachelor of Engineering
    "PRO",  # a major or profession
    "SKILL",
    "CONT",  # nationality
    "RACE",  # ethnicity
    "DATE",
    "YEARS_EXP",  # years of experience, or the period of a job
)


@dataclass(frozen=True, slots=True)
class Entity:
    label: str
    text: str
    start: int
    end: int


def tags_to_spans(tags: Sequence[str], offsets: Sequence[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """(label, start, end) from per-unit BIO or BMES tags, where unit i covers offsets[i].

    A tagger may emit an ill-formed sequence (an I- after O, or after another label); such a unit
    starts a new span rather than being dropped, since what it covers was still recognised.
    """
    spans: list[tuple[str, int, int]] = []
    label: str | None = None
    start = end = 0
    for tag, (unit_start, unit_end) in zip(tags, offsets, strict=True):
        prefix, _, name = tag.partition("-")
        if prefix == "O":
            if label:
                spans.append((label, start, end))
            label = None
            continue
        if prefix in ("B", "S") or name != label:
            if label:
                spans.append((label, start, end))
            label, start = name, unit_start
        end = unit_end
        if prefix in ("E", "S"):
            spans.append((label, start, end))
            label = None
    if label:
        spans.append((label, start, end))
    return spans


def spans_to_tags(length: int, offsets: Sequence[tuple[int, int]], spans: Iterable[tuple[str, int, int]],
                  scheme: str = "BIO") -> list[str]:
    """Per-unit tags for gold spans: a unit belongs to a span when it overlaps it, so a span that
    starts or ends inside a word still marks the whole word (annotators sometimes miss a letter)."""
    tags = ["O"] * length
    for label, start, end in spans:
        units = [i for i, (unit_start, unit_end) in enumerate(offsets) if unit_start < end and unit_end > start]
        if not units or any(tags[i] != "O" for i in units):
            continue
        for position, i in enumerate(units):
            if scheme == "BMES":
                if len(units) == 1:
                    prefix = "S"
                elif position == 0:
                    prefix = "B"
                else:
                    prefix = "E" if position == len(units) - 1 else "M"
            else:
                prefix = "B" if position == 0 else "I"
            tags[i] = f"{prefix}-{label}"
    return tags


_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")


def split_at_blank_lines(text: str, spans: Iterable[tuple[str, int, int]],
                         keep: Sequence[str] = ()) -> list[tuple[str, int, int]]:
    """No entity runs across a blank line: a tagger that reads a resume as one sequence may join
    "March 2015 to Present" to the paragraph under it. A single line break may stay inside one
    (a title wrapped onto two lines). Spans of the labels in `keep` stay whole."""
    pieces = []
    for label, start, end in spans:
        if label in keep:
            pieces.append((label, start, end))
            continue
        for gap in _BLANK_LINE.finditer(text, start, end):
            if gap.end() > end:
                break
            pieces.append((label, start, gap.start()))
            start = gap.end()
        pieces.append((label, start, end))
    return [piece for piece in pieces if piece[1] < piece[2]]


def settle(text: str, candidates: Iterable[tuple[int, str, int, int]]) -> list[Entity]:
    """Non-overlapping entities from (priority, label, start, end) candidates, sorted by start.

    Lower priority numbers win; among equals the longer span wins, then the earlier one. Spans are
    trimmed of surrounding whitespace first, so an entity never begins or ends with a blank.
    """
    trimmed = []
    for priority, label, start, end in candidates:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            trimmed.append((priority, -(end - start), start, end, label))
    taken = bytearray(len(text))  # 1 where a chosen entity already covers the character
    chosen: list[Entity] = []
    for _, _, start, end, label in sorted(trimmed):
        if taken.find(1, start, end) != -1:
            continue
        taken[start:end] = b"\x01" * (end - start)
        chosen.append(Entity(label, text[start:end], start, end))
    chosen.sort(key=lambda entity: entity.start)
    return chosen
