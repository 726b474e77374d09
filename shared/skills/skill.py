"""What the taxonomy hands out: a skill, a role, a mention of a skill in text, a skill reference."""

from __future__ import annotations

from dataclasses import dataclass, field

# What a skill is. A spoken language is a separate kind so that matching can weigh it apart
# (English at work is not a technology); soft skills are skills with the category "soft skill".
KINDS = ("skill", "language")


@dataclass(frozen=True, slots=True)
class Skill:
    id: str  # stable slug: java, spring-boot, machine-learning
    name: str  # English display name
    name_zh: str | None  # Chinese display name, when known
    kind: str  # one of KINDS
    category: str  # the area a recruiter files it under: "programming language", "database", ...
    # Left out of repr, which logs and test failures print for every mention.
    aliases: tuple[str, ...] = field(repr=False)  # display forms, English and Chinese, the name included
    keys: tuple[str, ...] = field(repr=False)  # normalised forms this skill owns: a key belongs to one skill only
    related: tuple[str, ...] = field(repr=False)  # ids of skills often wanted together or instead
    implies: tuple[str, ...] = field(repr=False)  # ids a holder of this skill also holds: spring-boot implies java
    sources: tuple[str, ...] = field(repr=False)  # esco, onet, thuocl, curated


@dataclass(frozen=True, slots=True)
class Role:
    """A job role such as 产品经理. Roles are not skills: they point at the skills they call for."""

    id: str
    name: str
    name_zh: str | None
    aliases: tuple[str, ...]
    skills: tuple[str, ...]  # skill ids the role is about


@dataclass(frozen=True, slots=True)
class SkillMention:
    """A skill found in text: `text` is exactly `source[start:end]` of the string searched."""

    skill: Skill
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class SkillRef:
    """A skill as the CRM stores it: a known skill id, or the name as typed when nothing matched."""

    skill_id: str | None
    name: str
    known: bool


class UnknownSkillId(LookupError):
    """A skill id that the taxonomy does not hold: the CRM answers 422 naming the field."""

    def __init__(self, skill_id: str, field: str = "skill_id") -> None:
        super().__init__(f"unknown {field} {skill_id!r}")
        self.skill_id = skill_id
        self.field = field
