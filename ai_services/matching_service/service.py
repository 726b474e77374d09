"""One talent scored against one job, for the API: the weight layers and the call to the scoring
core. No HTTP: the handler fetches the records and maps InvalidWeights to 422."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ai_services.matching_service.scoring import JobProfile, TalentProfile, Weights, resolve_weights, score
from shared.config import MatchingWeights


class InvalidRecord(ValueError):
    """An inline talent or job the scoring core cannot read; `field` is `talent` or `job`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ResolvedWeights:
    weights: Weights
    layers: list[dict[str, str | None]]  # lowest first: config, then profile, job and request when given


def weights_for(configured: MatchingWeights, config_source: str, profile: str | None, job: Mapping[str, Any],
                request: Mapping[str, object] | None) -> ResolvedWeights:
    """The config service's value < the `profile` preset < the job's own `weights` < the request's.

    A preset is a whole weight set, so it replaces the configured value; the job's and the
    request's name only what they change. Raises InvalidWeights naming the field."""
    layers: list[dict[str, str | None]] = [{"layer": "config", "source": config_source}]
    base: str | Weights = Weights.parse(configured.model_dump(), "config")
    if profile is not None:
        base = profile
        layers.append({"layer": "profile", "source": profile})
    job_weights = job.get("weights")
    if job_weights:
        layers.append({"layer": "job", "source": None})
    if request:
        layers.append({"layer": "request", "source": None})
    weights = resolve_weights(base, job=job_weights, request=request)  # type: ignore[arg-type]
    return ResolvedWeights(weights, layers)


def score_pair(talent: Mapping[str, Any], job: Mapping[str, Any], weights: Weights, explain: bool,
               talent_vector: Any = None, job_vector: Any = None) -> dict[str, Any]:
    """The match as the API answers it (Match.to_dict). Protected attributes are never read; without
    both vectors the semantic dimension is unknown."""
    talent_profile = _profile(TalentProfile, talent, "talent")
    job_profile = _profile(JobProfile, job, "job")
    return score(talent_profile, job_profile, weights, talent_vector=talent_vector, job_vector=job_vector,
                 explain=explain).to_dict()


def _profile(kind: Any, data: Mapping[str, Any], field: str) -> Any:
    try:
        return kind.from_crm(dict(data))
    except (TypeError, ValueError, AttributeError, KeyError) as error:  # a field of the wrong shape
        raise InvalidRecord(field, f"cannot be read as a CRM {field}: {error}") from None
