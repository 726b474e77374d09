"""A resume's sections, found by their headings: 教育经历, Work Experience, 专业技能...

A heading is a short line made of a known heading word and decoration (【】, ——, :, #, numbering).
A section runs from its heading to the next heading; the text before the first heading is the
header (name, contacts). Offsets are into the resume's text, like the entities'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADINGS: dict[str, tuple[str, ...]] = {
    "education": ("教育经历", "教育背景", "学习经历", "教育", "学历", "education", "academic background",
                  "academic qualifications", "educational qualifications", "qualifications"),
    "experience": ("工作经历", "工作经验", "实习经历", "实习经验", "职业经历", "工作履历", "任职经历", "work experience",
                   "experience", "professional experience", "employment history", "employment", "work history",
                   "internships", "internship"),
    "projects": ("项目经验", "项目经历", "项目", "projects", "project experience", "key projects"),
    "skills": ("专业技能", "技能特长", "技能", "技术栈", "技术能力", "skills", "technical skills", "key skills",
               "core competencies", "additional information", "it skills"),
    "summary": ("自我评价", "个人简介", "个人总结", "自我介绍", "个人优势", "summary", "profile", "objective",
                "professional summary", "career objective", "about me"),
    "languages": ("语言能力", "语言", "languages"),
    "certifications": ("证书", "资格证书", "获奖证书", "荣誉证书", "certifications", "certificates", "certification",
                       "licenses", "awards"),
    "personal": ("个人信息", "基本信息", "个人资料", "personal information", "personal details", "contact"),
}
_BY_WORD = {word: name for name, words in HEADINGS.items() for word in words}
_DECORATION = re.compile(r"^[\s#*•●■◆▶►\-—_=|【\[(（0-9一二三四五六七八九十、.．]*|[\s:：】\])）\-—_=|]*$")


@dataclass(frozen=True)
class Section:
    name: str  # a key of HEADINGS, or "header" for the text before the first heading
    start: int  # the heading line's start (0 for the header)
    body: int  # where the section's text begins, after the heading line
    end: int


def heading(line: str) -> str | None:
    """The section a line is the heading of, or None."""
    stripped = _DECORATION.sub("", line.strip()).strip().casefold()
    if not stripped or len(stripped) > 40:
        return None
    return _BY_WORD.get(stripped)


def sections(text: str) -> list[Section]:
    found: list[tuple[str, int, int]] = []  # (name, line start, line end)
    position = 0
    for line in text.splitlines(keepends=True):
        name = heading(line)
        if name is not None:
            found.append((name, position, position + len(line)))
        position += len(line)
    result = [Section("header", 0, 0, found[0][1] if found else len(text))]
    for index, (name, start, body) in enumerate(found):
        end = found[index + 1][1] if index + 1 < len(found) else len(text)
        result.append(Section(name, start, body, end))
    return result


def section_at(all_sections: list[Section], offset: int) -> Section:
    for section in reversed(all_sections):
        if section.start <= offset:
            return section
    return all_sections[0]
