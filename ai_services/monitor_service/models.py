"""Request bodies of the monitor API. Expressions are checked by rules.py, which says where they fail."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_CONTROL)]
Text = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00]*$")]
LabelName = Annotated[str, StringConstraints(pattern=r"^(service|instance)$")]
LabelValue = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_CONTROL)]
Severity = Literal["info", "warning", "critical"]
WebhookFormat = Literal["generic", "wecom", "dingtalk", "slack"]
EVERY_WEBHOOK = "*"


def _web_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleCreate(Strict):
    name: Name
    expression: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    severity: Severity = "warning"
    targets: list[Name] = Field(default_factory=lambda: [EVERY_WEBHOOK], max_length=20)
    description: Text | None = None


class SilenceCreate(Strict):
    """Alerts of `rule` (a rule name) and/or with all of `labels` send nothing from starts_at to ends_at."""

    rule: Name | None = None
    labels: dict[LabelName, LabelValue] = Field(default_factory=dict, max_length=2)
    starts_at: AwareDatetime | None = None  # now, when absent
    ends_at: AwareDatetime
    author: Name | None = None  # the caller, when absent
    comment: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000,
                                              pattern=r"^[^\x00]*$")]

    @model_validator(mode="after")
    def _matches_something(self) -> SilenceCreate:
        if self.rule is None and not self.labels:
            raise ValueError("name a rule, labels, or both: a silence must not match every alert")
        if self.starts_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self

    def window(self, now: float) -> tuple[float, float]:
        return (self.starts_at.timestamp() if self.starts_at is not None else now), self.ends_at.timestamp()


class WebhookCreate(Strict):
    name: Name
    url: Annotated[str, StringConstraints(max_length=2000), AfterValidator(_web_url)]
    format: WebhookFormat = "generic"


__all__ = ["EVERY_WEBHOOK", "RuleCreate", "Severity", "SilenceCreate", "WebhookCreate", "WebhookFormat"]
