"""Talents' and jobs' skills against the shared taxonomy (shared/skills).

A skill given by `skill_id` must be one the taxonomy knows (else 422). A skill given by `name`
is looked up; a known one gains its `skill_id`, an unknown one stays as written, flagged
`known: false`, so nothing a recruiter typed is lost. The key a skill is filtered and matched on
is its id, or `name:<folded name>` for a free-text one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from looma_crm.contacts import name_key
from shared.service.problems import Problem
from shared.skills import load_taxonomy


def normalise(entries: Sequence[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    taxonomy = load_taxonomy()
    normalised: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        entry = dict(entry)
        skill = None
        if entry.get("skill_id"):
            skill = taxonomy.get(entry["skill_id"])
            if skill is None:
                raise Problem(422, f"unknown skill_id {entry['skill_id']!r}", slug="validation-failed",
                              errors=[{"loc": f"body.{where}.{index}.skill_id", "msg": "not in the skills taxonomy"}])
        elif entry.get("name"):
            skill = taxonomy.lookup(entry["name"])
        if skill is not None:
            entry.update(skill_id=skill.id, display=skill.name, known=True)
            entry["name"] = entry.get("name") or skill.name
        else:
            entry.update(skill_id=None, display=entry["name"], known=False)
        key = skill_key(entry)
        if key in seen:
            continue  # the same skill twice: keep the first mention
        seen.add(key)
        normalised.append(entry)
    return normalised


def skill_key(entry: dict[str, Any]) -> str:
    return entry["skill_id"] if entry.get("skill_id") else f"name:{name_key(entry['name'])}"


def filter_key(value: str) -> str:
    """A skills filter value (an id, or a name in either language) as the key talents are stored under."""
    taxonomy = load_taxonomy()
    skill = taxonomy.get(value) or taxonomy.lookup(value)
    return skill.id if skill is not None else f"name:{name_key(value)}"


def derive_requirements(description: str) -> dict[str, Any]:
    """Job requirements read from a description: the skills the taxonomy finds in it, all required."""
    taxonomy = load_taxonomy()
    skills: list[dict[str, Any]] = []
    seen: set[str] = set()
    for mention in taxonomy.extract(description):
        if mention.skill.id in seen:
            continue
        seen.add(mention.skill.id)
        skills.append({"skill_id": mention.skill.id, "name": mention.text, "display": mention.skill.name,
                       "known": True, "required": True, "weight": 1.0, "level": None, "years": None})
    return {"skills": skills[:50], "min_years": None, "max_years": None, "education_level": None}
