"""Request and response bodies of the matching API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, StringConstraints

RecordId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
MAX_WEIGHTS = 16  # names in a weights object: the seven dimensions, and room to name a wrong one


class ScoreRequest(BaseModel):
    """POST /api/v1/matching/score: exactly one of `talent_id` and `talent`, and of `job_id` and `job`.

    `talent` and `job` are CRM JSON objects; `weights` maps dimension names to numbers, checked by
    the scoring core so that a wrong one is named (`body.weights.skils`)."""

    model_config = ConfigDict(extra="forbid")

    talent_id: RecordId | None = None
    talent: dict[str, Any] | None = None
    job_id: RecordId | None = None
    job: dict[str, Any] | None = None
    weights: Annotated[dict[str, Any], Field(max_length=MAX_WEIGHTS)] | None = None
    profile: StrictStr | None = None  # a preset: technology, finance, healthcare
    explain: StrictBool = True


class WeightsLayer(BaseModel):
    layer: Literal["config", "profile", "job", "request"]
    source: str | None = None  # config: service, last-known-good or default; profile: the preset's name


class Dimension(BaseModel):
    score: float | None  # None: unknown, left out of the score
    weight: float  # the share of the score it carried
    explanation: dict[str, Any]


class ScoreResponse(BaseModel):
    talent_id: str | None
    job_id: str | None
    score: float
    label: Literal["excellent", "good", "fair", "weak"]
    dimensions: dict[str, Dimension]
    explanation: str
    coverage: float  # the share of the configured weight that was known
    weights: dict[str, float]
    weights_from: list[WeightsLayer]
