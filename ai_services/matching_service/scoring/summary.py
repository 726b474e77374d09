"""The one sentence a recruiter reads for a match, in the job's language: the label, the two
strongest reasons, and the required skills the talent lacks.

A reason is a known dimension scoring at least 0.6; the strongest carry the most of the score
(share × score). Missing required skills are always named, whatever the label, since they are
what a recruiter asks about first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ai_services.matching_service.scoring.score import DimensionScore

REASON_FLOOR = 0.6
MAX_REASONS = 2
MAX_NAMES = 3

_LABELS = {
    "en": {"excellent": "Excellent match", "good": "Good match", "fair": "Fair match", "weak": "Weak match"},
    "zh": {"excellent": "非常匹配", "good": "比较匹配", "fair": "基本匹配", "weak": "匹配度低"},
}
_PLACES = {
    "en": {"remote": "remote job", "same-city": "same city", "same-region": "within commuting distance",
           "relocates": "willing to relocate", "same-country": "same country"},
    "zh": {"remote": "远程岗位", "same-city": "同城", "same-region": "同一通勤圈", "relocates": "愿意异地工作",
           "same-country": "同一国家"},
}
_LEVELS = {"en": {"none": "no degree", "high_school": "high school", "associate": "associate degree",
                  "bachelor": "bachelor's", "master": "master's", "doctorate": "doctorate"},
           "zh": {"none": "无学历", "high_school": "高中", "associate": "大专", "bachelor": "本科", "master": "硕士",
                  "doctorate": "博士"}}


def sentence(language: str, label: str, dimensions: Mapping[str, DimensionScore]) -> str:
    zh = language == "zh"
    words = "zh" if zh else "en"
    ranked = sorted(((d.weight * d.score, name) for name, d in dimensions.items()
                     if d.score is not None and d.score >= REASON_FLOOR and d.weight > 0), reverse=True)
    reasons = [text for _, name in ranked[:MAX_REASONS]
               if (text := _reason(name, dimensions[name].explanation, words))]
    missing = list(dimensions["skills"].explanation.get("missing_required", ())) if "skills" in dimensions else []
    parts = list(reasons)
    if missing:
        parts.append(("缺少必需技能：" + "、".join(missing[:5])) if zh else
                     ("missing required skills: " + ", ".join(missing[:5])))
    head = _LABELS[words][label]
    if zh:
        return head + ("：" + "；".join(parts) if parts else "") + "。"
    return head + (": " + "; ".join(parts) if parts else "") + "."


def _reason(name: str, explanation: Mapping[str, Any], words: str) -> str | None:
    zh = words == "zh"
    if name == "skills":
        held = [m["skill"] for m in explanation.get("matched", ()) if m.get("how") in ("exact", "implied")]
        if not held:
            return None
        names = ("、" if zh else ", ").join(held[:MAX_NAMES])
        return f"技能匹配（{names}）" if zh else f"skills match ({names})"
    if name == "experience":
        years, low, high = explanation.get("years"), explanation.get("min_years"), explanation.get("max_years")
        if years is not None and (low or high is not None) and explanation.get("years_fit", 0) >= REASON_FLOOR:
            if zh:
                asked = f"{low:g}-{high:g}年" if low and high is not None else \
                    (f"{low:g}年以上" if low else f"{high:g}年以内")
                return f"{years:g}年经验（要求{asked}）"
            asked = f"{low:g}-{high:g}" if low and high is not None else (f"{low:g}+" if low else f"up to {high:g}")
            return f"{years:g} years of experience ({asked} asked)"
        if explanation.get("title_fit", 0) >= REASON_FLOOR:
            return "职位经历相近" if zh else "similar past roles"
        return None
    if name == "education":
        level, required = explanation.get("level"), explanation.get("required")
        if level and required:
            return (f"{_LEVELS[words][level]}学历，满足{_LEVELS[words][required]}要求" if zh else
                    f"{_LEVELS[words][level]} meets the {_LEVELS[words][required]} asked for")
        return "专业对口" if zh else "relevant field of study"
    if name == "location":
        return _PLACES[words].get(str(explanation.get("how")))
    if name == "salary":
        return "薪资期望在预算内" if zh else "salary expectation within budget"
    if name == "semantic":
        return "简历与职位描述高度相关" if zh else "résumé close to the job description"
    if name == "recency":
        return "近期活跃" if zh else "recently active"
    return None
