"""Education: the level of a degree as written (本科, B.Tech, MSc...), the field of a major, and
how well a talent's education meets a job's.

The level is what employers filter on; the field only nudges (a statistician applying for a data
job is closer than a lawyer). Fields are coarse families on purpose: majors are written in
hundreds of ways and only the family is stable enough to compare.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # profiles reads degrees with this module: import for types only
    from ai_services.matching_service.scoring.profiles import JobProfile, TalentProfile

# The CRM's `education_level` values, lowest first; a level's rank is its index.
LEVELS = ("none", "high_school", "associate", "bachelor", "master", "doctorate")
LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}

# Score by how many levels the talent is below the requirement: 0, 1, 2, 3 or more.
LEVEL_FIT = np.array([1.0, 0.5, 0.2, 0.0])
LEVEL_SHARE = 0.7  # of the dimension, when both the level and the field can be compared
FIELD_SHARE = 0.3

# Highest level first, so that "MBA (bachelor in commerce)" reads as a master's. These read a
# degree as written in a talent's education, where "M.E." and "B.A" are degrees; Latin
# abbreviations need word boundaries (no "ma" in "management").
_LEVEL_PATTERNS = (
    ("doctorate", r"博士|ph\.?\s?d|d\.?phil|doctor(ate)?\b|\bdr\.?\s?rer"),
    ("master", (r"硕士|研究生|\bmaster|\bm\.?\s?sc?\b|\bmba\b|\bemba\b|\bm\.?\s?tech\b|\bm\.\s?e\b|\bme\b|\bm\.\s?a\b"
                r"|\bma\b|\bmca\b|\bm\.?\s?com\b|\bllm\b|\bm\.?\s?phil\b|\bmeng\b|\bpgdm\b|post\s?graduate")),
    ("bachelor", (r"本科|学士|大学(?!专科|肄业)|\bbachelor|\bb\.?\s?sc?\b|\bb\.\s?e\b|\bbe\b|\bb\.?\s?tech\b|\bb\.\s?a\b|\bba\b"
                  r"|\bbba\b|\bbca\b|\bb\.?\s?com\b|\bllb\b|\bb\.?\s?ed\b|\bbeng\b|\bundergraduate|\bgraduate\b")),
    ("associate", r"大专|专科|高职|\bassociate|\bdiploma\b"),
    ("high_school", r"高中|中专|中技|职高|high\s?school|secondary\s+school|\bhsc\b|\bssc\b|12th|\bintermediate\b"),
)
_COMPILED_LEVELS = tuple((level, re.compile(pattern, re.IGNORECASE)) for level, pattern in _LEVEL_PATTERNS)
# The same levels in a job description, where only unambiguous words count: "be" and "ma" are
# English words there, and "degree" alone is read by the caller as a bachelor's.
_TEXT_LEVEL_PATTERNS = (  # case matters only for the capital abbreviations: BS, MS, BA
    ("doctorate", r"博士|(?i:\bph\.?\s?d\b|\bdoctorate\b|\bdoctoral\b)"),
    ("master", r"硕士|研究生|(?i:\bmasters?\b|\bmaster's|\bmba\b)|\bM\.?Sc?\b"),
    ("bachelor", r"本科|学士|(?i:\bbachelors?\b|\bbachelor's|\bundergraduate\b|\bb\.?tech\b)|\bB\.?Sc?\b|\bB\.?A\b"),
    ("associate", r"大专|专科|高职|(?i:\bassociate'?s? degree\b|\bdiploma\b)"),
    ("high_school", r"高中|中专|(?i:\bhigh\s?school\b)"),
)
_COMPILED_TEXT_LEVELS = tuple((level, re.compile(pattern)) for level, pattern in _TEXT_LEVEL_PATTERNS)

# Field families of majors, keyword first match wins in this order (计算机 before 工程).
FIELDS: dict[str, tuple[str, ...]] = {
    "computing": ("计算机", "软件", "信息技术", "信息管理", "网络工程", "人工智能", "数据科学", "computer", "software",
                  "information technology", "information system", "computing", "data science", "artificial intelligence",
                  "informatics", "cse", "mca", "bca", "it"),
    "mathematics": ("数学", "统计", "物理", "精算", "math", "statistic", "physics", "actuarial"),
    "engineering": ("电子", "通信", "自动化", "电气", "机械", "工程", "工学", "electronic", "electrical", "mechanical",
                    "telecommunication", "engineering", "ece", "eee", "instrumentation", "automobile", "automotive"),
    "finance": ("会计", "财务", "金融", "经济", "审计", "税", "accounting", "accountancy", "finance", "financial",
                "economics", "commerce", "audit", "banking", "cpa", "b.com", "m.com"),
    "business": ("工商管理", "管理", "市场营销", "营销", "国际贸易", "电子商务", "business", "management", "marketing",
                 "mba", "bba", "commerce and management", "administration"),
    "people": ("人力资源", "心理", "劳动", "human resource", "psychology", "organizational", "hr"),
    "law": ("法学", "法律", "law", "legal", "llb", "llm", "juris"),
    "design": ("设计", "艺术", "美术", "design", "art", "media", "animation"),
    "humanities": ("文学", "新闻", "英语", "外语", "汉语", "传播", "历史", "哲学", "教育", "english", "literature",
                   "journalism", "communication", "history", "philosophy", "education", "language", "arts"),
    "science": ("化学", "生物", "医学", "药", "护理", "chemistry", "biology", "medicine", "medical", "pharma",
                "nursing", "biotech"),
}
FIELD_NAMES = tuple(FIELDS)
FIELD_INDEX = {name: index for index, name in enumerate(FIELD_NAMES)}
_NEIGHBOURS = {
    ("computing", "mathematics"), ("computing", "engineering"), ("mathematics", "engineering"),
    ("mathematics", "finance"), ("finance", "business"), ("business", "people"), ("business", "humanities"),
    ("people", "humanities"), ("law", "business"), ("design", "computing"), ("design", "humanities"),
    ("science", "mathematics"), ("science", "engineering"),
}
SAME_FIELD, NEIGHBOUR_FIELD, OTHER_FIELD = 1.0, 0.6, 0.2
# FIELD_FIT[talent field, job field]
FIELD_FIT = np.full((len(FIELD_NAMES), len(FIELD_NAMES)), OTHER_FIELD)
for _a, _b in _NEIGHBOURS:
    FIELD_FIT[FIELD_INDEX[_a], FIELD_INDEX[_b]] = FIELD_FIT[FIELD_INDEX[_b], FIELD_INDEX[_a]] = NEIGHBOUR_FIELD
np.fill_diagonal(FIELD_FIT, SAME_FIELD)
_FIELD_PATTERNS = tuple(
    (name, re.compile("|".join(
        rf"\b{re.escape(word)}\b" if word.isascii() and len(word) <= 4 else re.escape(word) for word in words),
        re.IGNORECASE))
    for name, words in FIELDS.items())

# What a job's domain asks for, by taxonomy role (from its title) and by skill category.
ROLE_FIELDS = {
    "accountant": "finance", "financial-analyst": "finance", "auditor": "finance", "lawyer": "law",
    "hr-specialist": "people", "recruiter": "people", "sales-manager": "business",
    "business-development-manager": "business", "marketing-manager": "business", "operations-specialist": "business",
    "customer-success-manager": "business", "purchasing-specialist": "business", "supply-chain-manager": "business",
    "project-manager": "business", "product-manager": "computing", "ui-designer": "design", "ux-designer": "design",
    "graphic-designer": "design", "data-scientist": "mathematics", "data-analyst": "mathematics",
    "algorithm-engineer": "computing", "machine-learning-engineer": "computing", "embedded-engineer": "engineering",
}
CATEGORY_FIELDS = {
    "programming language": "computing", "software development": "computing", "backend": "computing",
    "frontend": "computing", "database": "computing", "devops": "computing", "cloud": "computing",
    "mobile": "computing", "testing": "computing", "security": "computing", "big data": "computing",
    "data/ML": "computing", "embedded": "engineering", "networking": "computing", "operating system": "computing",
    "design": "design",
}


def level_of(text: str | None) -> str | None:
    """The level a degree names ("本科学历" bachelor, "M.Tech" master, "大专" associate), or None."""
    if not text:
        return None
    for level, pattern in _COMPILED_LEVELS:
        if pattern.search(text):
            return level
    return None


def levels_named(text: str) -> list[tuple[int, str]]:
    """Every level a free text names, with its offset: a job description's requirements."""
    found = [(match.start(), level) for level, pattern in _COMPILED_TEXT_LEVELS for match in pattern.finditer(text)]
    return sorted(found)


def field_of(major: str | None) -> str | None:
    """The field family of a major ("计算机科学与技术" computing, "B.Com" finance), or None."""
    if not major:
        return None
    for name, pattern in _FIELD_PATTERNS:
        if pattern.search(major):
            return name
    return None


def field_mask(fields: Iterable[str]) -> int:
    """Fields as bits, the form the talent matrix keeps them in."""
    mask = 0
    for name in fields:
        mask |= 1 << FIELD_INDEX[name]
    return mask


def level_fit(talent_rank: np.ndarray | int, required_rank: int) -> np.ndarray:
    """1 at or above the required level, 0.5 one level below, 0.2 two below, 0 further."""
    gap = np.clip(required_rank - np.asarray(talent_rank), 0, len(LEVEL_FIT) - 1)
    return LEVEL_FIT[gap]


def field_fit(talent_mask: np.ndarray | int, job_fields: Iterable[str]) -> np.ndarray:
    """The best field fit between any of a talent's fields (bits) and any of the job's; 0 where the
    talent has no field (callers treat a zero mask as unknown)."""
    wanted = [FIELD_INDEX[name] for name in job_fields]
    mask = np.asarray(talent_mask)
    best = np.zeros(mask.shape)
    for index in range(len(FIELD_NAMES)):
        fit = max(FIELD_FIT[index, job] for job in wanted) if wanted else 0.0
        best = np.maximum(best, np.where((mask >> index) & 1, fit, 0.0))
    return best


def education_fit(talent: TalentProfile, job: JobProfile, explain: bool = True) -> tuple[float | None, dict[str, Any]]:
    """Level (0.7) and field (0.3), each when both sides have it; None when neither can be compared.
    A job asking for level "none" asks for nothing."""
    level = float(level_fit(talent.education_level, job.education_level)) \
        if job.education_level and talent.education_level is not None else float("nan")
    field = float(field_fit(field_mask(talent.education_fields), job.fields)) \
        if job.fields and talent.education_fields else float("nan")
    score = combine(level, field)
    if math.isnan(score):
        return None, {}
    if not explain:
        return score, {}
    explanation: dict[str, Any] = {
        "level": LEVELS[talent.education_level] if talent.education_level is not None else None,
        "required": LEVELS[job.education_level] if job.education_level else None}
    if not math.isnan(field):
        explanation["fields"] = sorted(talent.education_fields)
        explanation["field_fit"] = round(field, 3)
    return score, explanation


def combine(level: Any, field: Any) -> Any:
    """The dimension from its two parts, NaN standing for an unknown part."""
    level, field = np.asarray(level, dtype=float), np.asarray(field, dtype=float)
    both = LEVEL_SHARE * level + FIELD_SHARE * field
    score = np.where(np.isnan(level), field, np.where(np.isnan(field), level, both))
    return score if score.ndim else float(score)
