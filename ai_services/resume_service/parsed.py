"""A resume's text made into the structured resume the API answers, the talent the CRM stores, and
the redacted view for blind screening.

`structure(text)` runs the entity models (ai_services/resume_service/entities) once, then reads
every field from the entities and the sections: the evidence of each field is a span of `text`.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from ai_services.resume_service import extras, history
from ai_services.resume_service.person import person
from ai_services.resume_service.sections import sections

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
PROTECTED = ("gender", "birth_date", "nationality", "ethnicity")  # never feed scoring; hidden when redacted
REDACTED_LABELS = frozenset(("NAME", "EMAIL", "PHONE", "CONT", "RACE"))
MASK = "█"
_ACROSS_CELLS = re.compile(r"\s{2,}|\n|[|｜\t]")  # a span crossing a table's cells is a model's mistake
_AGE = re.compile(r"\d{2}\s*(?:岁|周岁)|\bage\s*[:：]?\s*\d{2}\b|\b\d{2}\s*(?:years old|yrs old)\b", re.IGNORECASE)


def language_of(text: str) -> str:
    """zh when CJK characters are at least a tenth of the letters, else en."""
    sample = text[:20_000]
    cjk = len(_CJK.findall(sample))
    latin = sum(1 for char in sample if char.isascii() and char.isalpha())
    return "zh" if cjk and cjk * 10 >= cjk + latin // 4 else "en"


def structure(text: str, language: str | None = None) -> dict[str, Any]:
    from ai_services.resume_service.entities import extract_entities

    language = language or language_of(text)
    entities = extract_entities(text, language)
    within_cells = [e for e in entities if not _ACROSS_CELLS.search(e.text)]  # for the fields; all are evidence
    parts = sections(text)
    jobs = history.experience(text, parts, within_cells)
    who = person(text, parts, within_cells, language)
    return {
        **who,
        "education": history.education(text, parts, within_cells),
        "experience": jobs,
        "skills": extras.skills(text, entities),
        "languages": extras.languages(text),
        "certifications": extras.certifications(text, parts),
        "expected_salary": extras.expected_salary(text, language),
        "years_of_experience": history.years_of_experience(within_cells, jobs),
        "language": language,
        "text": text,
        "entities": [asdict(entity) if hasattr(entity, "__dataclass_fields__") else
                     {"label": entity.label, "text": entity.text, "start": entity.start, "end": entity.end}
                     for entity in entities],
    }


def talent_body(parsed: dict[str, Any], fallback_name: str) -> dict[str, Any]:
    """The talent as POST /api/v1/talents/resolve takes it: what the CRM keeps of a resume."""
    jobs = parsed["experience"]
    latest = next((job for job in jobs if job["current"]), jobs[0] if jobs else None)
    salary = parsed["expected_salary"]
    body: dict[str, Any] = {
        "name": (parsed["name"] or fallback_name)[:200],
        "emails": parsed["contacts"]["emails"][:20],
        "phones": parsed["contacts"]["phones"][:20],
        "links": [link for link in parsed["contacts"]["links"] if len(link) <= 2000][:20],
        "location": _short(parsed["location"]),
        "current_title": _short(latest and latest["title"]),
        "current_company": _short(latest and latest["company"]),
        "summary": parsed["summary"],
        "years_of_experience": parsed["years_of_experience"],
        "education": [{k: _short(v) if k in ("school", "degree", "major") else v for k, v in entry.items()}
                      for entry in parsed["education"]][:50],
        "experience": [{"company": _short(job["company"]), "title": _short(job["title"]), "start": job["start"],
                        "end": job["end"], "description": job["description"]} for job in jobs][:100],
        "skills": [{"skill_id": s["skill_id"], "name": s["name"][:200], **({"years": s["years"]} if s["years"] else {})}
                   for s in parsed["skills"]][:200],
        "languages": [language[:50] for language in parsed["languages"]][:20],
        "source": "resume",
    }
    if salary:
        body["expected_salary"] = {k: salary[k] for k in ("min", "max", "currency", "period")}
    return {k: v for k, v in body.items() if v not in (None, [], "")}


def redacted(parsed: dict[str, Any]) -> dict[str, Any]:
    """The resume for blind screening: no name, contacts, gender, age, nationality, ethnicity or photo.

    The text keeps its length: each hidden span is masked character for character, so the offsets
    of the entities that remain still point at their words.
    """
    text = list(parsed["text"])
    hidden = [e for e in parsed["entities"] if e["label"] in REDACTED_LABELS]
    for entity in hidden:
        text[entity["start"]:entity["end"]] = MASK * (entity["end"] - entity["start"])
    for start, end in parsed.get("protected_spans", []):
        text[start:end] = MASK * (end - start)
    masked = _AGE.sub(lambda m: MASK * len(m.group(0)), "".join(text))
    for link in parsed["contacts"]["links"]:
        masked = masked.replace(link.removeprefix("https://"), MASK * len(link.removeprefix("https://")))
    view = {k: v for k, v in parsed.items() if k not in (*PROTECTED, "name", "contacts", "photo", "protected_spans")}
    view.update(text=masked, name=None, contacts={"emails": [], "phones": [], "links": []},
                entities=[e for e in parsed["entities"] if e["label"] not in REDACTED_LABELS], redacted=True)
    return view


def _short(value: str | None) -> str | None:
    return value.strip()[:200] or None if value else None
