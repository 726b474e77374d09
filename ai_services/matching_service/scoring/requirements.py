"""Requirements read from a job's own words, for a job posted with only a title and a description.

Skills come from the taxonomy's extraction over the title and the description; each clause
decides how much a skill counts. A skill in the title is the job (weight 1.5); one in a clause
that says "preferred", "a plus", 优先 or 加分 is nice to have; a soft skill, or a subject named
next to a degree ("Bachelor's in Computer Science"), is nice to have at half weight. Years come
from phrases such as "5+ years", "3-5 years", "at least 4 years", "5年以上", "三年及以上"; the
education level from the lowest degree a required clause names (本科及以上 is a bachelor's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ai_services.matching_service.scoring.education import LEVEL_RANK, levels_named
from ai_services.matching_service.scoring.titles import roles_named
from shared.skills import Skill, load_taxonomy

TITLE_WEIGHT = 1.5
SOFT_WEIGHT = 0.5
MAX_DERIVED_SKILLS = 30
MAX_YEARS = 20.0

# Clauses end at sentence marks and at the Chinese comma, which separates requirements
# (熟悉MySQL，有Kafka经验者优先); an English comma often does not ("AWS, GCP or Azure is a plus").
_CLAUSES = re.compile(r"[\n。；;!！?？，]+|(?<=[a-z0-9)])\.\s+", re.IGNORECASE)
_PREFERRED = re.compile(
    r"优先|加分|更佳|者佳|为佳|最好|prefer|a plus|nice[ -]to[ -]have|bonus|desirabl|advantage|good to have|is a plus",
    re.IGNORECASE)
_NUMBER = r"(\d+(?:\.\d+)?|[一二两三四五六七八九十]{1,3})"
_YEAR_PATTERNS = (
    # ranges: "3-5 years", "3 to 5 yrs", "3-5年", "三至五年"
    re.compile(_NUMBER + r"\s*(?:-|–|—|~|～|to|至|到)\s*" + _NUMBER + r"\s*\+?\s*(?:years?|yrs?|年)", re.IGNORECASE),
    # minimums: "5+ years", "at least 5 years", "minimum of 5 years", "5年以上", "至少3年"
    re.compile(r"(?:at least|minimum(?: of)?|over|more than|min\.?)\s*" + _NUMBER + r"\s*\+?\s*(?:years?|yrs?)",
               re.IGNORECASE),
    re.compile(_NUMBER + r"\s*(?:\+|plus)\s*(?:years?|yrs?)", re.IGNORECASE),
    re.compile(r"(?:至少|不少于|不低于)\s*" + _NUMBER + r"\s*年"),
    re.compile(_NUMBER + r"\s*年(?:或)?(?:以上|及以上|或以上)"),
    re.compile(_NUMBER + r"\s*(?:years?|yrs?)(?:'|’)?\s+(?:of\s+)?(?:\w+\s+){0,4}?experience", re.IGNORECASE),
    re.compile(_NUMBER + r"\s*年(?:左右)?[^，。；\n]{0,12}?(?:经验|经历|工作)"),
)
_NO_DEGREE = re.compile(r"\bno degree|degree (?:is )?not required|without a degree|学历不限|不限学历", re.IGNORECASE)
_CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


@dataclass(frozen=True, slots=True)
class DerivedSkill:
    skill_id: str
    name: str
    required: bool
    weight: float


@dataclass(frozen=True, slots=True)
class DerivedRequirements:
    skills: tuple[DerivedSkill, ...]
    min_years: float | None
    max_years: float | None
    education_level: str | None


def derive_requirements(title: str, description: str, language: str = "en") -> DerivedRequirements:
    min_years, max_years = years_named(description)
    return DerivedRequirements(skills_named(title, description, language), min_years, max_years,
                               education_named(description))


def skills_named(title: str, description: str, language: str = "en") -> tuple[DerivedSkill, ...]:
    """The skills a job's title and description ask for, in order of first mention, named in the
    job's language where the taxonomy has a Chinese name."""
    taxonomy = load_taxonomy()
    found: dict[str, DerivedSkill] = {}

    def add(skill: Skill, required: bool, weight: float) -> None:
        before = found.get(skill.id)
        if before is None:
            name = skill.name_zh if language == "zh" and skill.name_zh else skill.name
            found[skill.id] = DerivedSkill(skill.id, name, required, weight)
        elif (required, weight) > (before.required, before.weight):
            found[skill.id] = DerivedSkill(skill.id, before.name, required, weight)

    for mention in taxonomy.extract(title):
        add(mention.skill, True, TITLE_WEIGHT)
    for clause in _CLAUSES.split(description):
        preferred = bool(_PREFERRED.search(clause))
        about_degree = bool(levels_named(clause))
        for mention in taxonomy.extract(clause):
            if mention.skill.category == "soft skill" or about_degree:
                add(mention.skill, False, SOFT_WEIGHT)
            else:
                add(mention.skill, not preferred, 1.0)
    roles = {role.id: role for role in taxonomy.roles}
    for role_id in roles_named(title):
        for skill_id in roles[role_id].skills:
            if (skill := taxonomy.get(skill_id)) is not None:
                add(skill, False, SOFT_WEIGHT)
    return tuple(found.values())[:MAX_DERIVED_SKILLS]


def years_named(text: str) -> tuple[float | None, float | None]:
    """The years of experience a description asks for, as (min, max): the largest minimum any
    required clause names, with the top of its range when it gave one."""
    best: tuple[float, float | None] | None = None
    for clause in _CLAUSES.split(text):
        if _PREFERRED.search(clause):
            continue
        claimed: list[tuple[int, int]] = []  # "3-5年" is a range, not also a "5年" minimum
        for number, pattern in enumerate(_YEAR_PATTERNS):
            for match in pattern.finditer(clause):
                start, end = match.span()
                if any(start < e and s < end for s, e in claimed):
                    continue
                claimed.append((start, end))
                low = _number(match.group(1))
                high = _number(match.group(2)) if number == 0 else None
                if low is None or low > MAX_YEARS or (high is not None and (high < low or high > MAX_YEARS + 10)):
                    continue
                if best is None or low > best[0]:
                    best = (low, high)
    return (None, None) if best is None else best


def education_named(text: str) -> str | None:
    """The lowest degree level a required clause names ("本科及以上，硕士优先" is a bachelor's);
    a bare "degree in ..." reads as a bachelor's."""
    levels: list[str] = []
    for clause in _CLAUSES.split(text):
        if _PREFERRED.search(clause) or _NO_DEGREE.search(clause):
            continue
        named = [level for _, level in levels_named(clause)]
        if not named and re.search(r"\bdegree\b", clause, re.IGNORECASE):
            named = ["bachelor"]
        levels.extend(named)
    return min(levels, key=LEVEL_RANK.__getitem__) if levels else None


def _number(text: str | None) -> float | None:
    if not text:
        return None
    if text[0].isdigit():
        return float(text)
    if text == "十":
        return 10.0
    if text.startswith("十"):  # 十二
        return 10.0 + _CHINESE_DIGITS.get(text[1], 0)
    if text.endswith("十"):  # 二十
        return 10.0 * _CHINESE_DIGITS.get(text[0], 0)
    if "十" in text:  # 二十五
        tens, ones = text.split("十", 1)
        return 10.0 * _CHINESE_DIGITS.get(tens, 0) + _CHINESE_DIGITS.get(ones, 0)
    return float(_CHINESE_DIGITS[text]) if text in _CHINESE_DIGITS else None
