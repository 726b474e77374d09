"""Match scoring: how well a talent fits a job, explained, with no I/O.

    from ai_services.matching_service.scoring import (
        JobProfile, TalentProfile, TalentMatrix, rank, resolve_weights, score)

    talent = TalentProfile.from_crm(talent_json)      # protected attributes are never read
    job = JobProfile.from_crm(job_json)               # requirements derived from text when absent
    match = score(talent, job, resolve_weights("technology"))
    match.score, match.label, match.dimensions["skills"].explanation, match.explanation

    matrix = TalentMatrix.build(profiles, vectors)    # once; upsert() and remove() keep it current
    top = rank(job, matrix, top_k=50, job_vector=job_vector)

Dimensions (each 0-1, or None when unknown): semantic, skills, experience, education, location,
salary, recency. See docs/matching.md.
"""

from ai_services.matching_service.scoring.batch import TalentMatrix, rank
from ai_services.matching_service.scoring.fairness import AdverseImpact, GroupImpact, adverse_impact
from ai_services.matching_service.scoring.filters import HardFilters, SalaryCeiling, failed_filters
from ai_services.matching_service.scoring.profiles import (
    JobProfile,
    Requirement,
    SkillEvidence,
    TalentProfile,
)
from ai_services.matching_service.scoring.score import LABELS, DimensionScore, Match, label_for, score
from ai_services.matching_service.scoring.texts import job_text, talent_text
from ai_services.matching_service.scoring.weights import (
    DEFAULT_WEIGHTS,
    DIMENSIONS,
    PRESETS,
    InvalidWeights,
    Weights,
    resolve_weights,
)

__all__ = [
    "DEFAULT_WEIGHTS",
    "DIMENSIONS",
    "LABELS",
    "PRESETS",
    "AdverseImpact",
    "DimensionScore",
    "GroupImpact",
    "HardFilters",
    "InvalidWeights",
    "JobProfile",
    "Match",
    "Requirement",
    "SalaryCeiling",
    "SkillEvidence",
    "TalentMatrix",
    "TalentProfile",
    "Weights",
    "adverse_impact",
    "failed_filters",
    "job_text",
    "label_for",
    "rank",
    "resolve_weights",
    "score",
    "talent_text",
]
