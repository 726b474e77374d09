"""Job titles as the terms they are compared on, the role a title names, and a text's language.

Two titles are related when they name the same role in the taxonomy (Java developer and Software
engineer are both `software-engineer`) or share words: Latin words, and Chinese written as
overlapping character pairs, since Chinese titles have no spaces (后端开发工程师 shares 后端 and
工程 with 资深后端工程师). Words that only say seniority carry nothing and are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from shared.skills import load_taxonomy
from shared.skills.spelling import CJK_RANGES, match_key

ROLE_PREFIX = "role:"  # a title term naming a taxonomy role rather than a word
AREA_PREFIX = "area:"  # a title term naming a group of neighbouring roles
SAME_ROLE, SAME_AREA = 1.0, 0.6

# Roles a recruiter would consider for each other's openings: a software engineer for a backend
# role, an auditor for an accountant's. A role may sit in two areas (data engineers).
ROLE_AREAS: dict[str, tuple[str, ...]] = {
    "engineering": ("software-engineer", "frontend-engineer", "backend-engineer", "full-stack-engineer",
                    "mobile-engineer", "embedded-engineer", "architect", "devops-engineer", "test-engineer",
                    "security-engineer", "dba", "data-engineer", "engineering-manager"),
    "data": ("data-analyst", "data-scientist", "data-engineer", "algorithm-engineer", "machine-learning-engineer"),
    "product": ("product-manager", "project-manager", "ux-designer"),
    "design": ("ui-designer", "ux-designer", "graphic-designer"),
    "commercial": ("sales-manager", "business-development-manager", "marketing-manager", "customer-success-manager",
                   "operations-specialist"),
    "finance": ("accountant", "financial-analyst", "auditor"),
    "people": ("recruiter", "hr-specialist"),
    "operations": ("purchasing-specialist", "supply-chain-manager", "operations-specialist"),
}
_AREAS_OF: dict[str, tuple[str, ...]] = {}
for _area, _roles in ROLE_AREAS.items():
    for _role in _roles:
        _AREAS_OF[_role] = (*_AREAS_OF.get(_role, ()), _area)

# Seniority and filler: "Senior Java developer" is a Java developer.
_STOP_WORDS = frozenset((
    "senior", "sr", "junior", "jr", "lead", "principal", "staff", "chief", "head", "associate", "assistant",
    "intern", "trainee", "entry", "level", "i", "ii", "iii", "iv", "of", "and", "the", "in", "for", "at", "with",
    "a", "an", "to", "on", "or", "&",
))
_STOP_BIGRAMS = frozenset(("资深", "高级", "中级", "初级", "实习", "助理", "首席"))
_LATIN_WORD = re.compile(r"[a-z0-9][a-z0-9+#.]*[a-z0-9+#]|[a-z0-9]")
_CJK_RUN = re.compile(f"[{CJK_RANGES}]+")
_CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")


def title_terms(*titles: str | None) -> frozenset[str]:
    """The terms of one or more titles: words, Chinese character pairs and `role:<id>` for each
    taxonomy role named."""
    terms: set[str] = set()
    for title in titles:
        if not title:
            continue
        key = match_key(title)
        terms.update(word for word in _LATIN_WORD.findall(key) if word not in _STOP_WORDS)
        for run in _CJK_RUN.findall(key):
            pairs = [run[i:i + 2] for i in range(len(run) - 1)] or [run]
            terms.update(pair for pair in pairs if pair not in _STOP_BIGRAMS)
        for role in roles_named(title):
            terms.add(ROLE_PREFIX + role)
            terms.update(AREA_PREFIX + area for area in _AREAS_OF.get(role, ()))
    return frozenset(terms)


def roles_named(title: str) -> tuple[str, ...]:
    """Ids of the taxonomy roles a title names anywhere in it: "Senior Java Developer" names
    `software-engineer` through "Developer", 资深产品经理 names `product-manager`."""
    key = match_key(title)
    found: list[str] = []
    for match in _role_pattern().finditer(key):
        start, end = match.span()
        text = match.group(0)
        if text[0].isascii() and text[0].isalnum() and start > 0 and key[start - 1].isascii() and key[start - 1].isalnum():
            continue
        if text[-1].isascii() and text[-1].isalnum() and end < len(key) and key[end].isascii() and key[end].isalnum():
            continue
        role = _role_aliases()[text]
        if role not in found:
            found.append(role)
    return tuple(found)


def language_of(*texts: str | None) -> str:
    """"zh" when Chinese characters make up at least a fifth of the letters, else "en"."""
    sample = "".join(text[:2000] for text in texts if text)
    chinese = len(_CJK_CHAR.findall(sample))
    latin = len(_LATIN_LETTER.findall(sample))
    # A Chinese character carries about as much as a short word: weigh it like four letters.
    return "zh" if chinese and chinese * 4 >= 0.2 * (chinese * 4 + latin) else "en"


def split_terms(terms: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
    """Roles, role areas and words, in a fixed order."""
    ordered = sorted(terms)
    return ([t for t in ordered if t.startswith(ROLE_PREFIX)], [t for t in ordered if t.startswith(AREA_PREFIX)],
            [t for t in ordered if not t.startswith((ROLE_PREFIX, AREA_PREFIX))])


def term_coverage(job_terms: Iterable[str], talent_terms: frozenset[str]) -> float | None:
    """How close a talent's titles are to a job's: 1.0 for a shared role, 0.6 for a role in the
    same area, and at least the share of the job title's words found among the talent's; None
    when the job title has no terms."""
    roles, areas, words = split_terms(job_terms)
    if not roles and not words:
        return None
    if any(role in talent_terms for role in roles):
        return SAME_ROLE
    coverage = sum(1 for word in words if word in talent_terms) / len(words) if words else 0.0
    if any(area in talent_terms for area in areas):
        return max(SAME_AREA, coverage)
    return coverage


@lru_cache(maxsize=1)
def _role_aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for role in load_taxonomy().roles:
        for alias in (role.name, role.name_zh, *role.aliases):
            if alias:
                aliases.setdefault(match_key(alias), role.id)
    return aliases


@lru_cache(maxsize=1)
def _role_pattern() -> re.Pattern[str]:
    keys = sorted(_role_aliases(), key=len, reverse=True)
    return re.compile("|".join(re.escape(key) for key in keys))
