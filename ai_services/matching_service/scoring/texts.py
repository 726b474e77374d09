"""The text of a talent or a job to embed for the semantic dimension.

Built from the same fields the profiles read, so that an embedding carries no protected
attribute that a record may hold (gender, birth date, ethnicity, nationality, photo, marital
status are never included; free text goes in as written, which is why profiles are built from
fields and not from raw résumés).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_CHARS = 4_000


def talent_text(data: Mapping[str, Any]) -> str:
    lines = [_text(data.get("current_title"))]
    skills = [_text(s.get("name") or s.get("skill_id")) for s in data.get("skills") or () if isinstance(s, Mapping)]
    if skills:
        lines.append(", ".join(s for s in skills if s))
    for job in data.get("experience") or ():
        if isinstance(job, Mapping):
            lines.append(" ".join(p for p in (_text(job.get("title")), _text(job.get("company"))) if p))
            lines.append(_text(job.get("description")))
    for school in data.get("education") or ():
        if isinstance(school, Mapping):
            lines.append(" ".join(p for p in (_text(school.get("degree")), _text(school.get("major"))) if p))
    lines.append(_text(data.get("summary")))
    return _joined(lines)


def job_text(data: Mapping[str, Any]) -> str:
    return _joined([_text(data.get("title")), _text(data.get("description"))])


def _joined(lines: list[str]) -> str:
    return "\n".join(line for line in lines if line)[:MAX_CHARS]


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""
