"""One match: a talent against a job, each dimension scored, weighted into one score and a label.

A dimension that cannot be compared (no data on one side) is unknown: it is left out and the
weights of the others are renormalised, so a talent is never marked down for a field the CRM
does not hold. The weight reported for each dimension is the share of the score it carried.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ai_services.matching_service.scoring.education import education_fit
from ai_services.matching_service.scoring.experience import experience_fit
from ai_services.matching_service.scoring.location import location_fit
from ai_services.matching_service.scoring.profiles import JobProfile, TalentProfile
from ai_services.matching_service.scoring.recency import recency_fit
from ai_services.matching_service.scoring.salary import ask_of, offer_of, salary_fit
from ai_services.matching_service.scoring.semantic import cosine, semantic_fit
from ai_services.matching_service.scoring.skills import skills_fit
from ai_services.matching_service.scoring.summary import sentence
from ai_services.matching_service.scoring.weights import DEFAULT_WEIGHTS, DIMENSIONS, Weights

# Lowest score for each label, best first; below the last, "weak".
LABELS = (("excellent", 0.85), ("good", 0.70), ("fair", 0.55))


@dataclass(frozen=True, slots=True)
class DimensionScore:
    score: float | None  # 0-1, None when unknown
    weight: float  # the share of the match score this dimension carried; 0 when unknown
    explanation: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Match:
    talent_id: str | None
    job_id: str | None
    score: float
    label: str
    dimensions: Mapping[str, DimensionScore]
    explanation: str  # one sentence in the job's language
    # The share of the configured weight whose dimensions were known: a score from a sparse
    # record rests on less (renormalising lets three known dimensions score as high as seven).
    coverage: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "talent_id": self.talent_id, "job_id": self.job_id, "score": round(self.score, 4), "label": self.label,
            "dimensions": {name: {"score": None if d.score is None else round(d.score, 4), "weight": round(d.weight, 4),
                                  "explanation": dict(d.explanation)} for name, d in self.dimensions.items()},
            "explanation": self.explanation, "coverage": round(self.coverage, 4),
        }


def label_for(score: float) -> str:
    """excellent ≥ 0.85, good ≥ 0.70, fair ≥ 0.55, else weak."""
    for label, lowest in LABELS:
        if score >= lowest:
            return label
    return "weak"


def score(talent: TalentProfile, job: JobProfile, weights: Weights = DEFAULT_WEIGHTS, talent_vector: Any = None,
          job_vector: Any = None, explain: bool = True, now: float | None = None) -> Match:
    """The match of one talent and one job. Vectors are the two embeddings (None: the semantic
    dimension is unknown); `now` (epoch seconds, default the clock) dates the recency dimension."""
    found = dimensions(talent, job, talent_vector, job_vector, explain, time.time() if now is None else now)
    total, shares = weighted({name: value for name, (value, _) in found.items()}, weights)
    scored = {name: DimensionScore(value, shares[name], explanation) for name, (value, explanation) in found.items()}
    label = label_for(total)
    configured = sum(getattr(weights, name) for name in DIMENSIONS)
    known = sum(getattr(weights, name) for name, (value, _) in found.items() if value is not None)
    coverage = known / configured if configured > 0 else 0.0
    return Match(talent.id, job.id, total, label, scored, sentence(job.language, label, scored) if explain else "",
                 coverage)


def dimensions(talent: TalentProfile, job: JobProfile, talent_vector: Any, job_vector: Any, explain: bool,
               now: float) -> dict[str, tuple[float | None, Mapping[str, Any]]]:
    found: dict[str, tuple[float | None, Mapping[str, Any]]] = {}
    similarity = cosine(talent_vector, job_vector)
    found["semantic"] = (None, {}) if similarity is None else \
        (semantic_fit(similarity), {"cosine": round(similarity, 4)} if explain else {})
    found["skills"] = skills_fit(talent, job, explain)
    found["experience"] = experience_fit(talent, job, explain)
    found["education"] = education_fit(talent, job, explain)
    place_score, how = location_fit(talent.place, job.places, job.remote, talent.relocates)
    found["location"] = (place_score, {"how": how, "talent_city": talent.place.city if talent.place else None,
                                       "job_cities": [p.city for p in job.places], "remote": job.remote}
                         if explain else {})
    found["salary"] = _salary(talent, job, explain)
    found["recency"] = (None, {}) if talent.active_at is None else \
        (recency_fit(talent.active_at, now), {"days": round(max(now - talent.active_at, 0) / 86_400, 1)}
         if explain else {})
    return found


def weighted(scores: Mapping[str, float | None], weights: Weights) -> tuple[float, dict[str, float]]:
    """The weighted mean over the known dimensions, and each one's share of it. Summed in
    DIMENSIONS order, as the batch path does, so both give the same number."""
    total_weight = 0.0
    for name in DIMENSIONS:
        if scores.get(name) is not None:
            total_weight += getattr(weights, name)
    if total_weight <= 0:
        return 0.0, dict.fromkeys(DIMENSIONS, 0.0)
    total = 0.0
    shares: dict[str, float] = {}
    for name in DIMENSIONS:
        value = scores.get(name)
        shares[name] = 0.0 if value is None else getattr(weights, name) / total_weight
        if value is not None:
            total += getattr(weights, name) * value
    return float(np.clip(total / total_weight, 0.0, 1.0)), shares


def _salary(talent: TalentProfile, job: JobProfile, explain: bool) -> tuple[float | None, Mapping[str, Any]]:
    if talent.salary is None or job.salary is None:
        return None, {}
    if talent.salary.currency != job.salary.currency:
        return None, {"reason": "different currencies", "talent": talent.salary.currency,
                      "job": job.salary.currency} if explain else {}
    ask, offer = ask_of(talent.salary), offer_of(job.salary)
    value = float(salary_fit(ask, offer))
    return value, {"monthly_ask": round(ask), "monthly_offer": round(offer), "currency": job.salary.currency} \
        if explain else {}
