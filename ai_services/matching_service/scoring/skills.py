"""The skills dimension: how much of what a job asks for a talent holds.

Each skill the job asks for earns a credit from 0 to 1, from the best of the talent's skills that
stands for it: the skill itself (synonyms are one taxonomy id already), a skill that implies it
(Spring Boot implies Java: 0.9, or 0.8 when the implication takes more than one step), or a
related one (Kotlin for Java: 0.5). The credit is that factor times the talent skill's strength
(its level and how recently it was used, see profiles.py), less 0.15 per level below the one the
job names, and scaled down when the talent has fewer years of it than the job asks (half credit
at zero years). The dimension is the weighted mean of the credits; a nice-to-have skill weighs
half of a required one. A required skill held only through a related one is still reported missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ai_services.matching_service.scoring.profiles import JobProfile, Requirement, TalentProfile
from shared.skills import load_taxonomy

EXACT, IMPLIED_NEAR, IMPLIED_FAR, RELATED = 1.0, 0.9, 0.8, 0.5
PREFERRED_SHARE = 0.5
LEVEL_GAP_PENALTY = 0.15
HOLDS = ("exact", "implied")  # how a skill must be held to count as present (hard filter, "missing")


@dataclass(frozen=True, slots=True)
class Source:
    """A talent skill that stands for a required one, with the factor it earns and how."""

    skill_id: str
    factor: float
    how: str  # exact, implied, related


# (rows, strength, level, years) of the talents holding one skill
Column = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def skills_fit(talent: TalentProfile, job: JobProfile, explain: bool = True) -> tuple[float | None, dict[str, Any]]:
    """The score (None when the job asks for no skill or nothing is known of the talent's) and,
    when `explain`, the matched skills with how they matched and the missing ones."""
    total = sum(_share(r) for r in job.requirements)
    if total <= 0 or not talent.skills_known:
        return None, {}
    held = {evidence.skill_id: evidence for evidence in talent.skills}
    earned = 0.0
    matched: list[dict[str, Any]] = []
    missing_required: list[str] = []
    missing_preferred: list[str] = []
    for requirement in job.requirements:
        credit, source = 0.0, None
        for candidate in sources(requirement.skill_id):
            evidence = held.get(candidate.skill_id)
            if evidence is not None:
                value = credit_of(candidate.factor, evidence.strength, requirement.level, evidence.level,
                                  requirement.years, evidence.years)
                if value > credit:
                    credit, source = value, (candidate, evidence)
        earned += _share(requirement) * credit
        if not explain:
            continue
        if source is not None:
            candidate, evidence = source
            item = {"skill": requirement.name, "how": candidate.how, "credit": round(credit, 3)}
            if candidate.how != "exact":
                item["via"] = evidence.name
            matched.append(item)
        if source is None or source[0].how not in HOLDS:
            (missing_required if requirement.required else missing_preferred).append(requirement.name)
    explanation = {"matched": matched, "missing_required": missing_required,
                   "missing_preferred": missing_preferred} if explain else {}
    return earned / total, explanation


def skills_fit_columns(job: JobProfile, column: Callable[[str], Column | None], count: int) -> np.ndarray:
    """`skills_fit`'s score for `count` talents at once, reading each skill's column of holders;
    NaN is left to the caller for talents whose skills are unknown."""
    total = sum(_share(r) for r in job.requirements)
    earned = np.zeros(count)
    if total <= 0:
        return np.full(count, np.nan)
    for requirement in job.requirements:
        credit = np.zeros(count)
        for candidate in sources(requirement.skill_id):
            found = column(candidate.skill_id)
            if found is None:
                continue
            rows, strength, level, years = found
            value = credit_of(candidate.factor, strength, requirement.level, level, requirement.years, years)
            credit[rows] = np.maximum(credit[rows], value)
        earned += _share(requirement) * credit
    return earned / total


def holds_all_required(talent: TalentProfile, job: JobProfile) -> bool:
    """Every required skill held exactly or through an implication (the must-have filter)."""
    held = {evidence.skill_id for evidence in talent.skills}
    return all(any(s.skill_id in held for s in sources(r.skill_id) if s.how in HOLDS)
               for r in job.requirements if r.required)


def credit_of(factor: float, strength: Any, required_level: int, level: Any, required_years: float | None,
              years: Any) -> Any:
    """One credit, for a number or for numpy arrays of holders (the same arithmetic either way,
    so the batch path and the pair path agree to the last bit)."""
    value = factor * strength
    if required_level:
        gap = np.maximum(required_level - level, 0) * (level > 0)
        value = value * (1.0 - LEVEL_GAP_PENALTY * gap)
    if required_years:
        value = value * np.where(np.isnan(np.asarray(years, dtype=float)), 1.0,
                                 np.minimum(1.0, 0.5 + 0.5 * np.nan_to_num(np.asarray(years, dtype=float))
                                            / required_years))
    return value if isinstance(value, np.ndarray) else float(value)


@lru_cache(maxsize=16_384)
def sources(skill_id: str) -> tuple[Source, ...]:
    """The talent skills that stand for `skill_id`, best first: itself, the skills that imply it,
    its related skills. A skill the taxonomy does not know stands only for itself."""
    taxonomy = load_taxonomy()
    found = {skill_id: Source(skill_id, EXACT, "exact")}
    if skill_id not in taxonomy:
        return tuple(found.values())
    for holder, depth in _implied_by().get(skill_id, ()):
        found.setdefault(holder, Source(holder, IMPLIED_NEAR if depth == 1 else IMPLIED_FAR, "implied"))
    for related in taxonomy.get(skill_id).related:  # type: ignore[union-attr]
        found.setdefault(related, Source(related, RELATED, "related"))
    return tuple(found.values())


@lru_cache(maxsize=1)
def _implied_by() -> dict[str, tuple[tuple[str, int], ...]]:
    """For each skill, the skills that imply it and in how many steps (the taxonomy's own depth
    limit), nearest first."""
    taxonomy = load_taxonomy()
    reverse: dict[str, list[tuple[str, int]]] = {}
    for skill in taxonomy:
        seen = {skill.id}
        frontier: Iterable[str] = [skill.id]
        for depth in range(1, 5):
            step = sorted({other for current in frontier for other in taxonomy.get(current).implies} - seen)  # type: ignore[union-attr]
            seen.update(step)
            for implied in step:
                reverse.setdefault(implied, []).append((skill.id, depth))
            frontier = step
    return {key: tuple(sorted(holders, key=lambda h: (h[1], h[0]))) for key, holders in reverse.items()}


def _share(requirement: Requirement) -> float:
    return requirement.weight * (1.0 if requirement.required else PREFERRED_SHARE)
