"""Who the resume is about: name, contacts, and personal details, each only where the resume states it.

Gender, birth date, nationality and ethnicity are recorded only when written: nothing is guessed
from a name or a photo. They never feed matching (docs/resumes.md); the redacted view hides them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

import phonenumbers

from ai_services.resume_service.dates import partial_date
from ai_services.resume_service.sections import Section

HEADER_NAME_LINES = 15  # a name found later than this is someone else's (a referee, a manager)
_GENDER = re.compile(r"(?:性别\s*[:：]?\s*)?(?<![\u4e00-\u9fff])(男|女)(?![\u4e00-\u9fff])|"
                     r"\b(?:gender|sex)\s*[:：]\s*(male|female)\b", re.IGNORECASE)
_BIRTH = re.compile(r"(?:出生(?:日期|年月)?|生日|date of birth|d\.o\.b\.?|born)\s*[:：]?\s*([^\n,，;；]{4,20})|"
                    r"((?:19|20)\d{2}\s*[年.\-/]\s*\d{1,2}\s*月?)\s*出生", re.IGNORECASE)
ETHNIC_GROUPS = ("汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家",
                 "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜",
                 "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒",
                 "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴",
                 "珞巴", "基诺")
_ETHNICITY = re.compile(r"(?:民族\s*[:：]\s*)?((?:" + "|".join(sorted(ETHNIC_GROUPS, key=len, reverse=True)) +
                        r")族)|(?:ethnicity|race)\s*[:：]\s*([A-Za-z][A-Za-z -]{1,30})", re.IGNORECASE)
_NATIONALITY = re.compile(r"(?:国籍|nationality|citizenship)\s*[:：]\s*([^\n|,，;；]{2,20})", re.IGNORECASE)
_LINK = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'，。；、）)]+|\b(?:linkedin\.com/in|github\.com)/[A-Za-z0-9_\-./]+",
                   re.IGNORECASE)
_LOCATION_CUE = re.compile(r"(?:现居|居住地|所在地|现居住地|现所在地|location|address|city)\s*[:：]\s*([^\n|,，;；]{2,40})",
                           re.IGNORECASE)


class Span(Protocol):
    label: str
    text: str
    start: int
    end: int


def first(entities: Sequence[Span], label: str, before: int | None = None) -> Span | None:
    for entity in entities:
        if entity.label == label and (before is None or entity.start < before):
            return entity
    return None


def name_of(text: str, entities: Sequence[Span]) -> str | None:
    header_end = _line_offset(text, HEADER_NAME_LINES)
    found = first(entities, "NAME", before=header_end) or first(entities, "NAME")
    return found.text.strip() if found else None


def gender_of(about: str, offset: int = 0) -> tuple[str, list[int]] | None:
    """The stated gender and its span (offset: where `about` starts in the text)."""
    match = _GENDER.search(about)
    if not match:
        return None
    word = (match.group(1) or match.group(2)).lower()
    return ("female" if word in ("女", "female") else "male"), [offset + match.start(), offset + match.end()]


def birth_date_of(about: str, offset: int = 0) -> tuple[str, list[int]] | None:
    match = _BIRTH.search(about)
    if not match:
        return None
    found = partial_date(match.group(1) or match.group(2))
    if found in (None, "present"):
        return None
    return found, [offset + match.start(), offset + match.end()]  # type: ignore[return-value]


def phones_of(entities: Sequence[Span], language: str) -> list[str]:
    """The resume's phone numbers in E.164; numbers that are not valid are left out."""
    region = "CN" if language == "zh" else "US"
    numbers: list[str] = []
    for entity in entities:
        if entity.label != "PHONE":
            continue
        for candidate_region in (region, "CN", "IN", "GB"):
            try:
                parsed = phonenumbers.parse(entity.text, candidate_region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(parsed):
                numbers.append(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
                break
    return list(dict.fromkeys(numbers))


def emails_of(entities: Sequence[Span]) -> list[str]:
    return list({e.text.strip().lower(): e.text.strip() for e in entities if e.label == "EMAIL"}.values())


def links_of(text: str) -> list[str]:
    links = []
    for match in _LINK.finditer(text):
        link = match.group(0).rstrip(".,;:")
        links.append(link if link.lower().startswith("http") else f"https://{link}")
    return list(dict.fromkeys(links))


def location_of(text: str, header: Section, entities: Sequence[Span]) -> str | None:
    cue = _LOCATION_CUE.search(text)
    if cue:
        return cue.group(1).strip()
    found = first(entities, "LOC", before=max(header.end, _line_offset(text, HEADER_NAME_LINES)))
    return found.text.strip() if found else None


def person(text: str, all_sections: list[Section], entities: Sequence[Span], language: str) -> dict[str, Any]:
    header = all_sections[0]
    personal = next((s for s in all_sections if s.name == "personal"), None)
    places = [(header.start, header.end)] + ([(personal.body, personal.end)] if personal else [])
    gender = next((g for start, end in places if (g := gender_of(text[start:end], start))), None)
    born = next((b for start, end in places if (b := birth_date_of(text[start:end], start))), None)
    nationality = first(entities, "CONT") or _stated(_NATIONALITY, text, places)
    ethnicity = first(entities, "RACE") or _stated(_ETHNICITY, text, places)
    summary = next((s for s in all_sections if s.name == "summary"), None)
    protected = [span for span in (gender and gender[1], born and born[1]) if span]
    protected += [[e.start, e.end] for e in (nationality, ethnicity) if e is not None]
    return {
        "name": name_of(text, entities),
        "gender": gender[0] if gender else None,
        "birth_date": born[0] if born else None,
        "protected_spans": protected,
        "nationality": nationality.text if nationality else None,
        "ethnicity": ethnicity.text if ethnicity else None,
        "contacts": {"emails": emails_of(entities), "phones": phones_of(entities, language), "links": links_of(text)},
        "location": location_of(text, header, entities),
        "summary": text[summary.body:summary.end].strip()[:2000] or None if summary else None,
    }


def _stated(pattern: re.Pattern[str], text: str, places: list[tuple[int, int]]) -> Span | None:
    """A personal detail written with its cue (民族：汉族, Nationality: Indian), where the models found none."""
    from ai_services.resume_service.history import Found

    for start, end in places:
        match = pattern.search(text, start, end)
        if match:
            group = 1 if match.group(1) else 2
            return Found("RACE" if pattern is _ETHNICITY else "CONT", match.group(group).strip(), match.start(group),
                         match.start(group) + len(match.group(group).strip()))
    return None


def _line_offset(text: str, lines: int) -> int:
    position = 0
    for _ in range(lines):
        found = text.find("\n", position)
        if found < 0:
            return len(text)
        position = found + 1
    return position
