"""The experience dimension: years against the job's range, counted by how close past titles are
to the job's title.

Years fall off smoothly outside the range rather than cutting at it: two years short of "5+"
is a real candidate, while none is not. Too many years cost less than too few (an experienced
person may well take the role), and never more than half. Titles compare by role, role area
and words (titles.py). Years in unrelated roles are not the experience a job asks for, so when
both are known the dimension is the years' fit times 0.3 + 0.7 × the titles' fit: twelve years
as a vice president score 0.3 for a sales executive opening, six years as a Java developer 1.0
for a Java role. With only one of them known, that one is the dimension.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ai_services.matching_service.scoring.profiles import JobProfile, TalentProfile
from ai_services.matching_service.scoring.titles import term_coverage

UNRELATED_YEARS = 0.3  # what years in unrelated roles keep
MIN_SCALE = 1.0  # years: the falloff's width is half the bound, at least this
OVER_FLOOR = 0.5  # the least an over-experienced talent keeps


def years_fit(years: Any, min_years: float | None, max_years: float | None) -> Any:
    """1 inside [min, max]; below: 1 / (1 + (gap / s)²) with s half the minimum (3 years for "5+"
    scores 0.61, none 0.2); above: the same curve from 1 down to 0.5, with s half the maximum.
    Works on a number or an array; None bounds are open."""
    years = np.asarray(years, dtype=float)
    score = np.ones(years.shape)
    if min_years:
        gap = np.maximum(min_years - years, 0.0) / max(MIN_SCALE, 0.5 * min_years)
        score = score / (1.0 + gap * gap)
    if max_years is not None and max_years > 0:
        gap = np.maximum(years - max_years, 0.0) / max(MIN_SCALE, 0.5 * max_years)
        score = score * (OVER_FLOOR + (1.0 - OVER_FLOOR) / (1.0 + gap * gap))
    return score if score.ndim else float(score)


def combine(years: Any, title: Any) -> Any:
    """The dimension from its two parts, NaN standing for an unknown part."""
    years, title = np.asarray(years, dtype=float), np.asarray(title, dtype=float)
    both = years * (UNRELATED_YEARS + (1.0 - UNRELATED_YEARS) * title)
    score = np.where(np.isnan(years), title, np.where(np.isnan(title), years, both))
    return score if score.ndim else float(score)


def experience_fit(talent: TalentProfile, job: JobProfile, explain: bool = True) -> tuple[float | None, dict[str, Any]]:
    has_range = bool(job.min_years) or job.max_years is not None
    years = years_fit(talent.years, job.min_years, job.max_years) if has_range and talent.years is not None \
        else float("nan")
    title = term_coverage(job.title_terms, talent.title_terms) if talent.titles else None
    score = combine(years, float("nan") if title is None else title)
    if math.isnan(score):
        return None, {}
    if not explain:
        return score, {}
    explanation: dict[str, Any] = {"years": talent.years, "min_years": job.min_years, "max_years": job.max_years}
    if not math.isnan(years):
        explanation["years_fit"] = round(years, 3)
    if title is not None:
        explanation["title_fit"] = round(title, 3)
        explanation["titles"] = list(talent.titles[:3])
    return score, explanation

