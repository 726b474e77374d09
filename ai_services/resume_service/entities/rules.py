"""Entities that a pattern finds better than a model: contacts, dates and years of experience,
and skills in Chinese text, where ResumeNER has no SKILL label to learn from.

Every finder returns (label, start, end) with offsets into the text it was given.
"""

from __future__ import annotations

import re

import phonenumbers

from shared.skills import SkillTaxonomy

EMAIL = re.compile(r"(?<![\w.'+-])[A-Za-z0-9][\w.'%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")

# A run of digits and the separators phone numbers are written with; phonenumbers then decides.
_PHONE_CANDIDATE = re.compile(r"(?<![\w+.])(?:\+|00)?\(?\d[\d \t().\-]{5,19}\d(?![\w])")
_PHONE_REGIONS = {"zh": ("CN",), "en": ("US", "IN", "GB", "CN")}

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_DATE = re.compile(
    r"(?<!\d)(?:"
    r"(?:19|20)\d\d\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?"  # 2019年3月(5日)
    r"|(?:19|20)\d\d[./-](?:1[0-2]|0?[1-9])(?:[./-](?:3[01]|[12]\d|0?[1-9]))?(?![\d.])"  # 2019.03, 2019-03-05
    r"|(?:1[0-2]|0?[1-9])/(?:19|20)\d\d"  # 03/2019
    rf"|(?:(?:3[01]|[12]\d|0?[1-9])\s+)?{_MONTH}\.?,?\s+(?:(?:3[01]|[12]\d|0?[1-9]),?\s+)?(?:19|20)\d\d"  # March 2019
    r"|(?:19[5-9]\d|20[0-4]\d)(?!\s*年)"  # a year alone
    r")(?![\d])",
    re.IGNORECASE,
)
_PRODUCT_BEFORE_YEAR = re.compile(r"[A-Z][\w.+#-]* $")  # "Windows 2000", "SQL Server 2008"

_CN_NUMBER = r"(?:\d{1,2}(?:\.\d)?|[一二两三四五六七八九十]{1,3})"
_YEARS_EXP_ZH = re.compile(
    rf"{_CN_NUMBER}\s*(?:\+|多|余)?\s*年(?:以上|多)?(?:的)?[\u4e00-\u9fffA-Za-z+#]{{0,8}}?经验"
    rf"|(?<=工作年限)[:：\s]*{_CN_NUMBER}\s*年(?:以上)?"
)
_EN_NUMBER = r"(?:\d{1,2}(?:\.\d)?|one|two|three|four|five|six|seven|eight|nine|ten|fifteen|twenty)"
# English resumes say "(8 years)" after every skill of a list; only a stated experience counts.
_YEARS_EXP_EN = re.compile(
    rf"\b{_EN_NUMBER}\s*\+?\s*(?:years?|yrs?)\b(?:\s*\+)?(?:\s+and\s+\d{{1,2}}\s+months?)?"
    r"(?:\s+(?:of\s+)?(?:[\w-]+\s+){0,3}?(?:experience|exp)\b)"
    rf"|\bexperience\s+of\s+(?:over\s+|about\s+|around\s+)?{_EN_NUMBER}\s*\+?\s*(?:years?|yrs?)\b",
    re.IGNORECASE,
)


def find_contacts(text: str, language: str) -> list[tuple[str, int, int]]:
    """EMAIL and PHONE. A phone number must be a valid number for its country (given with +, or
    one of the regions the language suggests), so a date range such as 2005-2008 is not one."""
    found = [("EMAIL", *match.span()) for match in EMAIL.finditer(text)]
    for match in _PHONE_CANDIDATE.finditer(text):
        candidate = match.group().strip(" \t.-")
        if candidate.startswith("(") and ")" not in candidate:
            candidate = candidate[1:].lstrip()
        if candidate.endswith(")") and "(" not in candidate:
            candidate = candidate[:-1].rstrip()
        start = match.start() + match.group().index(candidate)
        digits = sum(char.isdigit() for char in candidate)
        if not 7 <= digits <= 15 or _DATE.fullmatch(candidate):
            continue
        if _valid_phone(candidate, _PHONE_REGIONS.get(language, ("US",))):
            found.append(("PHONE", start, start + len(candidate)))
    return found


def _valid_phone(candidate: str, regions: tuple[str, ...]) -> bool:
    international = candidate.startswith(("+", "00"))
    for region in (None,) if international else regions:
        try:
            number = phonenumbers.parse("+" + candidate[2:] if candidate.startswith("00") else candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return True
    return False


def find_dates(text: str) -> list[tuple[str, int, int]]:
    """Dates as resumes write them: 2019.03, 2019年3月, March 2019, 03/2019, or a year alone
    (except after a product name: Windows 2000 is software, not a date)."""
    found = []
    for match in _DATE.finditer(text):
        start, end = match.span()
        if end - start == 4 and _PRODUCT_BEFORE_YEAR.search(text, max(0, start - 30), start) \
                and not re.search(_MONTH + r"\.?,?\s$", text[max(0, start - 12):start], re.IGNORECASE):
            continue
        found.append(("DATE", start, end))
    return found


def find_years_of_experience(text: str, language: str) -> list[tuple[str, int, int]]:
    """5年工作经验, 三年以上Java开发经验, 工作年限：5年; 8+ years of experience, 10 years."""
    pattern = _YEARS_EXP_ZH if language == "zh" else _YEARS_EXP_EN
    found = []
    for match in pattern.finditer(text):
        start, end = match.span()
        while start < end and text[start] in ":： \t":
            start += 1
        found.append(("YEARS_EXP", start, end))
    return found


def find_skills(text: str, skills: SkillTaxonomy) -> list[tuple[str, int, int]]:
    return [("SKILL", mention.start, mention.end) for mention in skills.extract(text)]
