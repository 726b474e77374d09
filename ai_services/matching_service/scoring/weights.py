"""How much each dimension of a match counts, the named presets, and the order overrides apply in.

A weight is a non-negative number; weights need not add up to one, since a match divides by the
sum of the weights of the dimensions it could score (an unknown dimension drops out). A weight
set comes from layers, each overriding the one before: the defaults, the org's weight profile (a
preset name or a mapping from the config service), the job's override, the request's override.
A layer names only the dimensions it changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field

DIMENSIONS = ("semantic", "skills", "experience", "education", "location", "salary", "recency")


class InvalidWeights(ValueError):
    """A weight that cannot be used; `field` names it ("weights.skills", "profile") so that the
    API can answer 422 pointing at it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Weights(BaseModel):
    """One weight per dimension. The defaults lean on meaning (semantic) and skills, then
    experience, and barely on location and salary, which recruiters usually filter on instead;
    recency is off unless asked for. Build from untrusted input with `parse` or
    `resolve_weights`, which raise InvalidWeights naming the field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    semantic: float = Field(0.35, ge=0, allow_inf_nan=False)
    skills: float = Field(0.30, ge=0, allow_inf_nan=False)
    experience: float = Field(0.20, ge=0, allow_inf_nan=False)
    education: float = Field(0.10, ge=0, allow_inf_nan=False)
    location: float = Field(0.03, ge=0, allow_inf_nan=False)
    salary: float = Field(0.02, ge=0, allow_inf_nan=False)
    recency: float = Field(0.0, ge=0, allow_inf_nan=False)

    @classmethod
    def parse(cls, values: Mapping[str, object], where: str = "weights") -> Weights:
        """Weights from a mapping; a name not among DIMENSIONS, or a value that is not a finite
        non-negative number, raises InvalidWeights naming it. Missing names keep their defaults."""
        return cls(**_checked(values, where))

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in DIMENSIONS}

    def merged(self, override: Mapping[str, object] | None, where: str = "weights") -> Weights:
        """These weights with the names in `override` replaced (validated the same way)."""
        if not override:
            return self
        return self.model_copy(update=_checked(override, where))


DEFAULT_WEIGHTS = Weights()

# Presets for a weight profile. Technology hires turn on named skills and tools, so skills lead;
# finance asks more of degrees and certifications and of pay bands; healthcare is licensed
# work: education (degree, licence) weighs as much as experience, and location more, since
# clinical roles are on site.
PRESETS: Mapping[str, Weights] = MappingProxyType({
    "technology": Weights(semantic=0.30, skills=0.40, experience=0.18, education=0.05, location=0.04, salary=0.03),
    "finance": Weights(semantic=0.30, skills=0.25, experience=0.20, education=0.15, location=0.05, salary=0.05),
    "healthcare": Weights(semantic=0.25, skills=0.25, experience=0.20, education=0.20, location=0.08, salary=0.02),
})


def resolve_weights(profile: str | Mapping[str, object] | Weights | None = None,
                    job: Mapping[str, object] | None = None,
                    request: Mapping[str, object] | None = None) -> Weights:
    """The weights for one request: defaults < profile < job override < request override.

    `profile` is a preset name, a full or partial mapping, or Weights. Raises InvalidWeights
    naming the field: an unknown preset ("profile"), an unknown or negative weight
    ("job.weights.skills", "weights.skills"), or weights that are all zero ("weights").
    """
    weights = DEFAULT_WEIGHTS
    if isinstance(profile, str):
        if profile not in PRESETS:
            raise InvalidWeights("profile", f"unknown weight profile {profile!r}; presets: {', '.join(PRESETS)}")
        weights = PRESETS[profile]
    elif isinstance(profile, Weights):
        weights = profile
    elif profile is not None:
        weights = weights.merged(profile, "profile")
    weights = weights.merged(job, "job.weights").merged(request, "weights")
    if not any(getattr(weights, name) > 0 for name in DIMENSIONS):
        raise InvalidWeights("weights", "at least one weight must be above zero")
    return weights


def _checked(values: Mapping[str, object], where: str) -> dict[str, float]:
    if not isinstance(values, Mapping):
        raise InvalidWeights(where, "must be an object of dimension names to numbers")
    checked: dict[str, float] = {}
    for name, value in values.items():
        field = f"{where}.{name}"
        if name not in DIMENSIONS:
            raise InvalidWeights(field, f"unknown dimension; known: {', '.join(DIMENSIONS)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidWeights(field, f"must be a finite number, not {value!r}")
        if value < 0:
            raise InvalidWeights(field, f"must not be negative, not {value}")
        checked[name] = float(value)
    return checked
