"""Skills (from the shared taxonomy, with evidence and years), languages, certifications, salary."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ai_services.resume_service.person import Span
from ai_services.resume_service.sections import Section

_YEARS_AFTER = re.compile(r"\s*[\(（:：]?\s*(?:(less than 1)|(\d{1,2}(?:\.\d)?)\s*\+?)\s*(?:years?|yrs?|年)",
                          re.IGNORECASE)
_YEARS_BEFORE = re.compile(r"(\d{1,2}(?:\.\d)?)\s*\+?\s*(?:年以上|年多|年)的?\s*$")
LANGUAGES = re.compile(r"英语|普通话|粤语|日语|韩语|法语|德语|西班牙语|俄语|CET-?[46]|大学英语[四六]级|雅思|托福|专业[四八]级|"
                       r"\b(?:English|Mandarin|Chinese|Cantonese|Japanese|Korean|French|German|Spanish|Russian|Hindi|"
                       r"IELTS|TOEFL)\b", re.IGNORECASE)
CERTIFICATES = re.compile(r"\b(?:PMP|CPA|CFA|ACCA|FRM|CISSP|CISA|CCNA|CCNP|CCIE|RHCE|OCP|ITIL|Scrum Master|CSM|"
                          r"AWS Certified[\w\s-]{0,40}|Azure[\w\s-]{0,20}Certified|Google Cloud[\w\s-]{0,30})\b|"
                          r"注册会计师|法律职业资格|司法考试|教师资格证?|软考[\u4e00-\u9fff]{0,8}|[\u4e00-\u9fff]{2,10}(?:资格证书|证书|执业证)")
_SALARY = re.compile(r"(?:期望薪资|期望月薪|期望年薪|薪资要求|expected salary|expected ctc|salary expectation)\s*[:：]?\s*"
                     r"(?P<currency>[$¥￥€£]|RMB|CNY|USD|INR|Rs\.?)?\s*(?P<low>\d+(?:[.,]\d+)*)\s*(?P<unit1>[kK千万]|lakhs?|LPA)?"
                     r"(?:\s*(?:-|~|—|至|到|to)\s*(?P<high>\d+(?:[.,]\d+)*)\s*(?P<unit2>[kK千万]|lakhs?|LPA)?)?"
                     r"\s*(?P<per>/\s*(?:月|年|month|year|yr|mo)|每月|每年|per (?:month|annum|year))?", re.IGNORECASE)
_UNITS = {"k": 1_000, "千": 1_000, "万": 10_000, "lakh": 100_000, "lakhs": 100_000, "lpa": 100_000}
_CURRENCIES = {"$": "USD", "usd": "USD", "¥": "CNY", "￥": "CNY", "rmb": "CNY", "cny": "CNY", "€": "EUR", "£": "GBP",
               "inr": "INR", "rs": "INR", "rs.": "INR"}


def _years_near(text: str, start: int, end: int) -> float | None:
    after = _YEARS_AFTER.match(text, end, min(len(text), end + 24))
    if after:
        return 0.5 if after.group(1) else float(after.group(2))
    before = _YEARS_BEFORE.search(text, max(0, start - 12), start)
    return float(before.group(1)) if before else None


def skills(text: str, entities: Sequence[Span]) -> list[dict[str, Any]]:
    """One entry per skill: the first mention is its evidence; years where the text says them."""
    from shared.skills import load_taxonomy

    found: dict[str, dict[str, Any]] = {}
    covered: list[tuple[int, int]] = []
    for mention in load_taxonomy().extract(text):
        covered.append((mention.start, mention.end))
        entry = found.setdefault(mention.skill.id, {
            "skill_id": mention.skill.id, "name": mention.text, "display": mention.skill.name,
            "evidence": {"text": mention.text, "start": mention.start, "end": mention.end}, "years": None})
        if entry["years"] is None:
            entry["years"] = _years_near(text, mention.start, mention.end)
    for entity in entities:
        if entity.label != "SKILL" or any(s < entity.end and entity.start < e for s, e in covered):
            continue
        key = f"name:{entity.text.strip().casefold()}"
        found.setdefault(key, {"skill_id": None, "name": entity.text.strip(), "display": entity.text.strip(),
                               "evidence": {"text": entity.text, "start": entity.start, "end": entity.end},
                               "years": _years_near(text, entity.start, entity.end)})
    return list(found.values())[:200]


def languages(text: str) -> list[str]:
    return list(dict.fromkeys(match.group(0) for match in LANGUAGES.finditer(text)))[:20]


def certifications(text: str, all_sections: list[Section]) -> list[str]:
    listed = [line.strip(" •-*·\t") for s in all_sections if s.name == "certifications"
              for line in text[s.body:s.end].splitlines() if line.strip(" •-*·\t")]
    named = [match.group(0).strip() for match in CERTIFICATES.finditer(text)]
    return list(dict.fromkeys(item[:200] for item in listed + named))[:30]


def expected_salary(text: str, language: str) -> dict[str, Any] | None:
    match = _SALARY.search(text)
    if not match:
        return None

    def amount(raw: str | None, unit: str | None) -> float | None:
        if raw is None:
            return None
        value = float(raw.replace(",", ""))
        return value * _UNITS.get((unit or "").lower(), 1)

    low = amount(match.group("low"), match.group("unit1") or match.group("unit2"))
    high = amount(match.group("high"), match.group("unit2") or match.group("unit1"))
    per = (match.group("per") or "").lower()
    unit = (match.group("unit1") or match.group("unit2") or "").lower()
    yearly = any(word in per for word in ("年", "year", "yr", "annum")) or unit in ("lpa", "lakh", "lakhs") or \
        "年薪" in match.group(0) or "ctc" in match.group(0).lower()
    currency = _CURRENCIES.get((match.group("currency") or "").lower().strip()) or \
        ("INR" if unit in ("lpa", "lakh", "lakhs") else "CNY" if language == "zh" else "USD")
    if low is None or (high is not None and high < low):
        return None
    return {"min": low, "max": high, "currency": currency, "period": "year" if yearly else "month",
            "text": match.group(0).strip()}
