"""Hard filters: conditions a talent must meet to be ranked at all, applied before scoring and
only when the request asks for them.

- `must_have_skills`: every required skill of the job held, exactly or through an implication
  (Spring Boot counts for Java); a related skill does not count.
- `locations`: the talent's city is one of these (or in the same commuting region when
  `same_region` is set); the entry "remote" also admits talents who work remotely (a tag
  `remote`, `remote-only` or `open-to-remote`). A talent with no known place is left out.
- `work_authorisation`: a country code the talent is authorised to work in, from the tag
  `work-authorised:CN` or `custom.work_authorisation` (see profiles.py); never inferred from
  nationality.
- `salary_ceiling`: the talent's expected minimum, per month, at most the ceiling. A talent with
  no stated expectation, or one in another currency, is kept: a filter removes people only on
  evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from ai_services.matching_service.scoring.location import Place, place_of
from ai_services.matching_service.scoring.profiles import JobProfile, TalentProfile
from ai_services.matching_service.scoring.salary import PER_MONTH, ask_of
from ai_services.matching_service.scoring.skills import holds_all_required

REMOTE = "remote"


@dataclass(frozen=True, slots=True)
class SalaryCeiling:
    amount: float
    currency: str = "CNY"
    period: str = "month"

    def monthly(self) -> float:
        if self.period not in PER_MONTH:
            raise ValueError(f"salary_ceiling.period: one of {', '.join(PER_MONTH)}, not {self.period!r}")
        return self.amount * PER_MONTH[self.period]


@dataclass(frozen=True, slots=True)
class HardFilters:
    must_have_skills: bool = False
    locations: tuple[str, ...] = ()
    same_region: bool = False
    work_authorisation: str | None = None
    salary_ceiling: SalaryCeiling | None = None

    @property
    def active(self) -> bool:
        return bool(self.must_have_skills or self.locations or self.work_authorisation or self.salary_ceiling)

    def places(self) -> tuple[Place, ...]:
        return tuple(p for name in self.locations if name.strip().casefold() != REMOTE
                     and (p := place_of(name, None)))

    def admits_remote(self) -> bool:
        return any(name.strip().casefold() == REMOTE for name in self.locations)


def failed_filters(talent: TalentProfile, job: JobProfile, filters: HardFilters) -> list[str]:
    """The names of the filters a talent fails; empty when it passes them all."""
    failed: list[str] = []
    if filters.must_have_skills and not holds_all_required(talent, job):
        failed.append("must_have_skills")
    if filters.locations and not _in_places(talent, filters):
        failed.append("locations")
    if filters.work_authorisation and filters.work_authorisation.upper() not in talent.work_authorisations:
        failed.append("work_authorisation")
    ceiling = filters.salary_ceiling
    if ceiling is not None and talent.salary is not None and talent.salary.currency == ceiling.currency.upper() \
            and ask_of(talent.salary) > ceiling.monthly():
        failed.append("salary_ceiling")
    return failed


def _in_places(talent: TalentProfile, filters: HardFilters) -> bool:
    if filters.admits_remote() and talent.remote_ok:
        return True
    if talent.place is None:
        return False
    for place in filters.places():
        if place.city == talent.place.city:
            return True
        if filters.same_region and place.region and place.region == talent.place.region:
            return True
    return False
