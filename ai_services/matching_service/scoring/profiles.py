"""Talents and jobs as scoring sees them: only the facts a match is computed from.

`TalentProfile.from_crm` and `JobProfile.from_crm` take the CRM's JSON and keep a fixed list of
fields. Protected attributes (gender, age or birth date, ethnicity, nationality, photo, marital
status) are never read, whatever the dict holds, so no score can depend on them. Free text
(summary, experience descriptions) is read only for skills and for a willingness to relocate.

What a talent's record says, and where it is read from:
- skills: `skills[]` (taxonomy id or name, level, years; a name the taxonomy does not know is
  also searched for skills it names), plus skills named in the current title, in experience
  titles and descriptions (which also tell when each was last used) and in the summary;
- years of experience: `years_of_experience`, else the dated experience periods merged;
- titles: `current_title`, then experience titles, newest first;
- education: the highest level among `education[].degree`, the fields of `major` and `degree`;
- place: `city` (the CRM's normalised city), else `location`;
- relocation: a tag `relocation-ok`, `open-to-relocation`, `willing-to-relocate`, 可异地, 接受外派
  or 可搬迁, `custom.relocate` true, or "willing to relocate" / 愿意异地 / 接受异地 in the summary;
- remote work: a tag `remote`, `remote-only`, `open-to-remote` or 远程;
- work authorisation: tags `work-authorised:CN` (or `work-authorized:`, `work-permit:`) and
  `custom.work_authorisation` (a country code or a list). Nationality is never read for it;
- salary: `expected_salary`; activity: `last_active_at`, else `updated_at`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ai_services.matching_service.scoring.education import CATEGORY_FIELDS, LEVEL_RANK, ROLE_FIELDS, field_of, level_of
from ai_services.matching_service.scoring.location import Place, place_of
from ai_services.matching_service.scoring.requirements import derive_requirements, education_named, years_named
from ai_services.matching_service.scoring.salary import MonthlyRange, monthly
from ai_services.matching_service.scoring.titles import language_of, roles_named, title_terms
from shared.skills import load_taxonomy

LEVELS = {"beginner": 1, "intermediate": 2, "advanced": 3, "expert": 4}
# How much a skill is worth by its stated level; unstated sits between intermediate and advanced.
LEVEL_FACTOR = {0: 0.9, 1: 0.65, 2: 0.85, 3: 0.95, 4: 1.0}
# A skill last used more than RECENT_YEARS ago loses RECENCY_DECAY a year, down to RECENCY_FLOOR;
# one never seen in a dated job counts as UNDATED (not as recent as one in a current job).
RECENT_YEARS, RECENCY_DECAY, RECENCY_FLOOR, UNDATED = 2.0, 0.08, 0.6, 0.9
SUMMARY_ONLY = 0.85  # a skill only named in the summary: claimed, not shown in a job
MAX_TEXT_CHARS = 20_000
MIN_TEXT_CHARS = 80  # résumé text (summary and experience) enough to say which skills it names

_RELOCATION_TAGS = frozenset(("relocation-ok", "open-to-relocation", "willing-to-relocate", "relocate", "可异地",
                              "接受外派", "可搬迁", "接受异地"))
_REMOTE_TAGS = frozenset(("remote", "remote-only", "open-to-remote", "远程", "远程办公"))
_REMOTE_PLACES = frozenset(("remote", "远程", "anywhere", "worldwide"))  # a job "location" that means remote
_AUTH_TAG = re.compile(r"^work[-_ ]?(?:authori[sz]ed|permit)[:=]([A-Za-z]{2})$", re.IGNORECASE)
_RELOCATION_TEXT = re.compile(
    r"willing to relocate|open to relocat|can relocate|relocation:? (?:yes|ok|possible)|愿意异地|接受异地|可接受异地|可外派|"
    r"接受外派|愿意搬迁", re.IGNORECASE)
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?")


@dataclass(frozen=True, slots=True)
class SkillEvidence:
    """One skill a talent holds. `skill_id` is a taxonomy id, or `name:<folded name>` for a skill
    the taxonomy does not know; `strength` (0-1) folds in the level and how recently it was used."""

    skill_id: str
    name: str
    level: int  # 0 unknown, 1 beginner ... 4 expert
    years: float | None
    last_used: float | None  # as a fractional year, from the newest experience naming it
    strength: float


@dataclass(frozen=True, slots=True)
class TalentProfile:
    """What scoring knows of a talent. Build it with `from_crm`; two profiles of the same record
    compare equal, whatever else the record held."""

    id: str | None
    skills: tuple[SkillEvidence, ...]
    # True when the record lists skills or holds enough text to find them in: a résumé read
    # without finding a skill the job asks for scores 0 on skills, not "unknown".
    skills_known: bool
    years: float | None
    titles: tuple[str, ...]  # current first, then past, newest first
    title_terms: frozenset[str]
    education_level: int | None  # rank in education.LEVELS
    education_fields: frozenset[str]
    place: Place | None
    relocates: bool
    remote_ok: bool
    work_authorisations: frozenset[str]  # country codes, upper case
    salary: MonthlyRange | None
    active_at: float | None  # epoch seconds
    language: str  # "zh" or "en"

    @classmethod
    def from_crm(cls, data: Mapping[str, Any], as_of: date | None = None) -> TalentProfile:
        """A profile from the CRM's talent JSON; `as_of` (default today) dates "present" and the
        recency of skills."""
        now = _year_of_date(as_of or datetime.now(UTC).date())
        experience = sorted((e for e in _dicts(data.get("experience"))), key=lambda e: -_end(e, now))
        titles = tuple(t for t in (_text(data.get("current_title")), *(_text(e.get("title")) for e in experience)) if t)
        tags = {str(tag).strip() for tag in data.get("tags") or () if isinstance(tag, str)}
        folded_tags = {tag.casefold() for tag in tags}
        custom = data.get("custom") if isinstance(data.get("custom"), Mapping) else {}
        summary = _text(data.get("summary"))
        education = list(_dicts(data.get("education")))
        levels = [LEVEL_RANK[level] for e in education if (level := level_of(_text(e.get("degree"))))]
        fields = {field for e in education for text in (e.get("major"), e.get("degree"))
                  if (field := field_of(_text(text)))}
        skills = _skills(data.get("skills"), _text(data.get("current_title")), experience, summary, now)
        return cls(
            id=_id(data.get("id")),
            skills=skills,
            skills_known=bool(skills) or len(summary) + sum(len(_text(e.get("description"))) for e in experience)
            >= MIN_TEXT_CHARS,
            years=_years(data.get("years_of_experience"), experience, now),
            titles=titles,
            title_terms=title_terms(*titles),
            education_level=max(levels) if levels else None,
            education_fields=frozenset(fields),
            place=place_of(_text(data.get("city")), _text(data.get("location"))),
            relocates=bool(folded_tags & _RELOCATION_TAGS) or custom.get("relocate") is True
            or bool(_RELOCATION_TEXT.search(summary)),
            remote_ok=bool(folded_tags & _REMOTE_TAGS),
            work_authorisations=_authorisations(tags, custom.get("work_authorisation")),
            salary=monthly(data.get("expected_salary") if isinstance(data.get("expected_salary"), Mapping) else None),
            active_at=_timestamp(data.get("last_active_at") or data.get("updated_at")),
            language=language_of(data.get("current_title"), summary,
                                 *(_text(e.get("description")) for e in experience[:3])),
        )


@dataclass(frozen=True, slots=True)
class Requirement:
    """A skill a job asks for: `required` or nice to have, `weight` within the job's skills."""

    skill_id: str
    name: str
    required: bool
    weight: float
    level: int  # 0 when the job names no level
    years: float | None


@dataclass(frozen=True, slots=True)
class JobProfile:
    """What scoring knows of a job, its requirements stated or read from its text. Build it with
    `from_crm`."""

    id: str | None
    title: str
    title_terms: frozenset[str]
    requirements: tuple[Requirement, ...]
    min_years: float | None
    max_years: float | None
    education_level: int | None  # rank in education.LEVELS; None or 0 asks for nothing
    fields: frozenset[str]  # the study fields the job's domain is closest to
    places: tuple[Place, ...]
    remote: bool
    salary: MonthlyRange | None
    language: str
    derived: frozenset[str]  # which requirements were read from the text: skills, years, education

    @property
    def requirements_derived(self) -> bool:
        return bool(self.derived)

    @classmethod
    def from_crm(cls, data: Mapping[str, Any]) -> JobProfile:
        """A profile from the CRM's job JSON. Requirements the job does not state (no skills, no
        years, no education level, or all of them when the CRM marked them derived) are read
        from the title and description, and named in `derived`."""
        title, description = _text(data.get("title")), _text(data.get("description"))
        given = data.get("requirements") if isinstance(data.get("requirements"), Mapping) else {}
        if data.get("requirements_derived"):
            given = {}  # the CRM's own reading lists every skill as required; read it again here
        derived: set[str] = set()
        language = language_of(title, description)
        requirements = _requirements(given.get("skills"))
        if not requirements:
            derived.add("skills")
            requirements = tuple(Requirement(s.skill_id, s.name, s.required, s.weight, 0, None)
                                 for s in derive_requirements(title, description, language).skills)
        min_years, max_years = _number(given.get("min_years")), _number(given.get("max_years"))
        if min_years is None and max_years is None:
            min_years, max_years = years_named(description)
            if min_years is not None:
                derived.add("years")
        locations = [loc.strip() for loc in data.get("locations") or () if isinstance(loc, str) and loc.strip()]
        level = given.get("education_level")
        if level not in LEVEL_RANK:
            level = education_named(description)
            if level is not None:
                derived.add("education")
        return cls(
            id=_id(data.get("id")),
            title=title,
            title_terms=title_terms(title),
            requirements=requirements,
            min_years=min_years,
            max_years=max_years,
            education_level=LEVEL_RANK[level] if level else None,
            fields=_job_fields(title, requirements),
            places=tuple(p for loc in locations if loc.casefold() not in _REMOTE_PLACES and (p := place_of(None, loc))),
            remote=data.get("remote") is True or any(loc.casefold() in _REMOTE_PLACES for loc in locations),
            salary=monthly(data.get("salary") if isinstance(data.get("salary"), Mapping) else None),
            language=language,
            derived=frozenset(derived),
        )


def skill_key(skill_id: object, name: object) -> tuple[str, str] | None:
    """A skill as (key, display name): the taxonomy id when the id or name is known, else
    `name:<folded name>`; None for an entry with neither."""
    taxonomy = load_taxonomy()
    if isinstance(skill_id, str) and (skill := taxonomy.get(skill_id)):
        return skill.id, skill.name
    if isinstance(name, str) and name.strip():
        if skill := taxonomy.lookup(name):
            return skill.id, skill.name
        return "name:" + " ".join(name.casefold().split()), name.strip()
    return None


def _skills(entries: object, current_title: str, experience: list[Mapping[str, Any]], summary: str,
            now: float) -> tuple[SkillEvidence, ...]:
    taxonomy = load_taxonomy()
    listed: dict[str, tuple[str, int, float | None]] = {}
    for entry in _dicts(entries):
        key = skill_key(entry.get("skill_id"), entry.get("name"))
        if key is None:
            continue
        years, level = _number(entry.get("years")), LEVELS.get(str(entry.get("level")), 0)
        listed.setdefault(key[0], (key[1], level, years))
        if key[0].startswith("name:"):
            # "Sales & marketing leadership" is no taxonomy skill, but names two that are.
            for mention in taxonomy.extract(key[1]):
                listed.setdefault(mention.skill.id, (mention.skill.name, level, years))
    used: dict[str, tuple[float | None, float]] = {}  # id: (last used, years used); None when undated
    jobs = [({"title": current_title, "end": "present"}, "")] if current_title else []
    for job in [*((job, _text(job.get("description"))) for job in experience), *jobs]:
        entry, description = job
        text = f"{_text(entry.get('title'))}\n{description}"[:MAX_TEXT_CHARS]
        end, start = _end(entry, now), _start(entry)
        span = max(0.0, end - start) if start is not None and end > 0 else 0.0
        for skill_id in {m.skill.id for m in taxonomy.extract(text)}:
            last, years = used.get(skill_id, (None, 0.0))
            if end > 0:
                last = end if last is None else max(last, end)
            used[skill_id] = (last, years + span)
    in_summary = {m.skill.id: m.skill.name for m in taxonomy.extract(summary[:MAX_TEXT_CHARS])} if summary else {}
    evidence: list[SkillEvidence] = []
    for key in dict.fromkeys([*listed, *used, *in_summary]):
        name, level, years = listed.get(key) or ((taxonomy.get(key).name if key in taxonomy else key), 0, None)
        last_used = used[key][0] if key in used else None
        if years is None and key in used and used[key][1] > 0:
            years = round(used[key][1], 2)
        strength = LEVEL_FACTOR[level] * _recency(last_used, now)
        if key not in listed and key not in used:
            strength *= SUMMARY_ONLY
        evidence.append(SkillEvidence(key, name, level, years, last_used, strength))
    return tuple(evidence)


def _recency(last_used: float | None, now: float) -> float:
    if last_used is None:
        return UNDATED
    gap = now - last_used - RECENT_YEARS
    return 1.0 if gap <= 0 else max(RECENCY_FLOOR, 1.0 - RECENCY_DECAY * gap)


def _requirements(entries: object) -> tuple[Requirement, ...]:
    found: dict[str, Requirement] = {}
    for entry in _dicts(entries):
        key = skill_key(entry.get("skill_id"), entry.get("name"))
        if key is None or key[0] in found:
            continue
        weight = _number(entry.get("weight"))
        found[key[0]] = Requirement(key[0], key[1], entry.get("required", True) is not False,
                                    1.0 if weight is None else weight, LEVELS.get(str(entry.get("level")), 0),
                                    _number(entry.get("years")))
    return tuple(found.values())


def _job_fields(title: str, requirements: Iterable[Requirement]) -> frozenset[str]:
    """The study fields nearest the job: from the role its title names, else the field most of its
    skills' categories point at."""
    from_roles = {ROLE_FIELDS[role] for role in roles_named(title) if role in ROLE_FIELDS}
    if from_roles:
        return frozenset(from_roles)
    taxonomy = load_taxonomy()
    counts: dict[str, float] = {}
    for requirement in requirements:
        skill = taxonomy.get(requirement.skill_id)
        if skill is not None and (field := CATEGORY_FIELDS.get(skill.category)):
            counts[field] = counts.get(field, 0.0) + requirement.weight
    if roles_named(title) and not counts:
        counts["computing"] = 1.0  # a software role with no skills named yet
    return frozenset([max(counts, key=counts.__getitem__)]) if counts else frozenset()


def _years(stated: object, experience: list[Mapping[str, Any]], now: float) -> float | None:
    years = _number(stated)
    if years is not None:
        return years
    periods = sorted((start, _end(e, now)) for e in experience if (start := _start(e)) is not None)
    if not periods:
        return None
    total, (current_start, current_end) = 0.0, periods[0]
    for start, end in periods[1:]:
        if start > current_end:
            total += max(0.0, current_end - current_start)
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    return round(total + max(0.0, current_end - current_start), 2)


def _start(entry: Mapping[str, Any]) -> float | None:
    return _year_of(entry.get("start"))


def _end(entry: Mapping[str, Any], now: float) -> float:
    end = entry.get("end")
    if end in (None, "", "present"):
        return now if end == "present" or _start(entry) is not None else 0.0
    parsed = _year_of(end)
    return min(parsed, now) if parsed is not None else 0.0


def _year_of(value: object) -> float | None:
    """"2019-07" as 2019.5; a bare year as its middle."""
    if not isinstance(value, str) or not (match := _DATE.match(value.strip())):
        return None
    month = int(match.group(2)) if match.group(2) else 7
    return int(match.group(1)) + (min(max(month, 1), 12) - 1) / 12


def _year_of_date(day: date) -> float:
    return day.year + (day.month - 1) / 12 + (day.day - 1) / 365


def _authorisations(tags: Iterable[str], custom: object) -> frozenset[str]:
    codes = {match.group(1).upper() for tag in tags if (match := _AUTH_TAG.match(tag))}
    if isinstance(custom, str):
        custom = [custom]
    if isinstance(custom, list | tuple):
        codes.update(code.strip().upper() for code in custom if isinstance(code, str) and len(code.strip()) == 2)
    return frozenset(codes)


def _timestamp(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    return None


def _dicts(value: object) -> Iterable[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list | tuple) else []


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) or value < 0:
        return None
    return float(value)


def _id(value: object) -> str | None:
    return str(value) if value is not None else None
