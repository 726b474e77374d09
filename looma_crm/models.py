"""The CRM's entities as the API takes them: pydantic models that refuse bad input by field.

A PATCH merges its fields into the stored entity and validates the result with the same model
as a create, so an entity can never be changed into something a create would refuse.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from looma_crm.contacts import InvalidEmail, InvalidPhone, e164, normalise_email

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
_PARTIAL_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")


def _partial_date(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if value.lower() in ("present", "now", "至今", "现在"):
        return "present"
    value = value.replace("/", "-").replace(".", "-")
    if not _PARTIAL_DATE.match(value):
        raise ValueError("use YYYY, YYYY-MM or YYYY-MM-DD (or 'present' for an end)")
    return value


PartialDate = Annotated[str | None, AfterValidator(_partial_date)]


def _email(value: str) -> str:
    try:
        return normalise_email(value)
    except InvalidEmail as error:
        raise ValueError(str(error)) from None


def _phone(value: str) -> str:
    try:
        return e164(value)
    except InvalidPhone as error:
        raise ValueError(str(error)) from None


def _link(value: str) -> str:
    value = value.strip()
    if not re.match(r"^https?://[^\s/$.?#][^\s]*$", value, re.IGNORECASE) or len(value) > 2000:
        raise ValueError("a link is an http(s) URL of at most 2000 characters")
    return value


def _small_json(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value, ensure_ascii=False)) > 16_384:
        raise ValueError("custom fields take at most 16 KB of JSON")
    return value


Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)]
Phone = Annotated[str, AfterValidator(_phone)]
Link = Annotated[str, AfterValidator(_link)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _ordered(start: str | None, end: str | None) -> None:
    if start and end and end != "present" and end < start:
        raise ValueError("end comes before start")


class Period(Strict):
    start: PartialDate = None
    end: PartialDate = None

    @model_validator(mode="after")
    def _in_order(self) -> Period:
        _ordered(self.start, self.end)
        return self


class Education(Period):
    school: Text | None = None
    degree: Text | None = None
    major: Text | None = None


class Experience(Period):
    company: Text | None = None
    title: Text | None = None
    description: LongText | None = None


class Money(Strict):
    min: float | None = Field(default=None, ge=0)
    max: float | None = Field(default=None, ge=0)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "CNY"
    period: Literal["year", "month", "day", "hour"] = "month"

    @model_validator(mode="after")
    def _range(self) -> Money:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is above max")
        return self


class SkillEntry(Strict):
    skill_id: Id | None = None
    name: Text | None = None
    level: Literal["beginner", "intermediate", "advanced", "expert"] | None = None
    years: float | None = Field(default=None, ge=0, le=80)
    # Filled in by the service, never taken from the client as truth:
    display: str | None = None
    known: bool | None = None

    @model_validator(mode="after")
    def _named(self) -> SkillEntry:
        if not self.skill_id and not self.name:
            raise ValueError("a skill needs skill_id or name")
        return self


class Talent(Strict):
    name: Name
    emails: list[Email] = Field(default_factory=list, max_length=20)
    phones: list[Phone] = Field(default_factory=list, max_length=20)
    links: list[Link] = Field(default_factory=list, max_length=20)
    location: Text | None = None
    current_title: Text | None = None
    current_company: Text | None = None
    summary: LongText | None = None
    years_of_experience: float | None = Field(default=None, ge=0, le=80)
    education: list[Education] = Field(default_factory=list, max_length=50)
    experience: list[Experience] = Field(default_factory=list, max_length=100)
    skills: list[SkillEntry] = Field(default_factory=list, max_length=200)
    languages: list[Tag] = Field(default_factory=list, max_length=20)
    expected_salary: Money | None = None
    job_status: Literal["active", "open", "passive", "not_looking", "hired"] | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    source: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    custom: Annotated[dict[str, Any], AfterValidator(_small_json)] = Field(default_factory=dict)


class RequiredSkill(SkillEntry):
    required: bool = True
    weight: float = Field(default=1.0, ge=0, le=10)


class Requirements(Strict):
    skills: list[RequiredSkill] = Field(default_factory=list, max_length=100)
    min_years: float | None = Field(default=None, ge=0, le=80)
    max_years: float | None = Field(default=None, ge=0, le=80)
    education_level: Literal["none", "high_school", "associate", "bachelor", "master", "doctorate"] | None = None

    @model_validator(mode="after")
    def _range(self) -> Requirements:
        if self.min_years is not None and self.max_years is not None and self.min_years > self.max_years:
            raise ValueError("min_years is above max_years")
        return self


class Job(Strict):
    title: Name
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50_000)]
    company_id: Id | None = None
    requirements: Requirements | None = None
    locations: list[Text] = Field(default_factory=list, max_length=20)
    remote: bool = False
    salary: Money | None = None
    headcount: int | None = Field(default=None, ge=1, le=10_000)
    status: Literal["open", "paused", "closed"] = "open"
    hiring_manager_id: Id | None = None


class Company(Strict):
    name: Name
    website: Link | None = None
    industry: Text | None = None
    size: Text | None = None
    location: Text | None = None
    description: LongText | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=50)


class ProjectMember(Period):
    talent_id: Id
    role: Text | None = None


class Project(Strict):
    name: Name
    description: LongText | None = None
    status: Literal["active", "closed"] = "active"
    members: list[ProjectMember] = Field(default_factory=list, max_length=500)


class NextAction(Strict):
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    due: datetime | None = None


Stage = Literal["sourced", "screening", "interview", "offer", "hired", "rejected", "withdrawn"]


class Application(Strict):
    talent_id: Id
    job_id: Id
    stage: Stage = "sourced"
    source: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    next_action: NextAction | None = None


class ApplicationUpdate(Strict):
    source: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    next_action: NextAction | None = None


class StageChange(Strict):
    stage: Stage
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class Note(Strict):
    subject_type: Literal["talent", "application"]
    subject_id: Id
    kind: Literal["note", "call", "email", "meeting", "task"] = "note"
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


class Relationship(Strict):
    source_id: Id
    target_id: Id
    type: Literal["colleague", "mentor", "referral", "friend", "business_partner"]
    strength: float = Field(default=0.5, ge=0, le=1)
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _two_people(self) -> Relationship:
        if self.source_id == self.target_id:
            raise ValueError("a relationship joins two different talents")
        return self
