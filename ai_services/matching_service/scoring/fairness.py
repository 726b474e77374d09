"""Adverse impact: whether a selection (a shortlist, the top of a ranking) picks one group at a
lower rate than another, by the four-fifths rule.

Each group's selection rate is compared with the highest rate; a ratio under 0.8 is evidence of
adverse impact (US EEOC Uniform Guidelines, 29 CFR 1607.4(D)). The rule is a screening device:
with few members a group's rate swings by chance, so groups below `min_group_size` are reported
but flagged, and neither set the reference rate nor trigger the violation while a larger group
exists. Group labels come from the caller (self-declared data held apart from scoring); scoring
itself never sees them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

FOUR_FIFTHS = 0.8
MIN_GROUP_SIZE = 20


@dataclass(frozen=True, slots=True)
class GroupImpact:
    group: str
    members: int
    selected: int
    rate: float  # selected / members
    impact_ratio: float | None  # rate / the reference group's rate; None when that rate is 0
    adverse: bool  # impact_ratio below the threshold (and the group large enough)
    too_few: bool  # fewer members than min_group_size: read with care


@dataclass(frozen=True, slots=True)
class AdverseImpact:
    groups: tuple[GroupImpact, ...]  # by group name
    reference_group: str | None  # the group with the highest rate among those large enough
    threshold: float
    min_group_size: int
    violated: bool  # some large-enough group's ratio is below the threshold
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {
            "reference_group": self.reference_group, "threshold": self.threshold,
            "min_group_size": self.min_group_size, "violated": self.violated, "notes": list(self.notes),
            "groups": [{"group": g.group, "members": g.members, "selected": g.selected, "rate": round(g.rate, 4),
                        "impact_ratio": None if g.impact_ratio is None else round(g.impact_ratio, 4),
                        "adverse": g.adverse, "too_few": g.too_few} for g in self.groups],
        }


def adverse_impact(ranking: Iterable[tuple[bool, str]], threshold: float = FOUR_FIFTHS,
                   min_group_size: int = MIN_GROUP_SIZE) -> AdverseImpact:
    """Selection rates and impact ratios per group, from (selected, group) pairs, one per person."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold: between 0 and 1, not {threshold}")
    counts: dict[str, list[int]] = {}
    for selected, group in ranking:
        members = counts.setdefault(str(group), [0, 0])
        members[0] += 1
        members[1] += 1 if selected else 0
    rates = {group: selected / members for group, (members, selected) in counts.items()}
    large = [group for group, (members, _) in counts.items() if members >= min_group_size]
    notes: list[str] = []
    if not large and counts:
        notes.append(f"every group has fewer than {min_group_size} members: ratios are indicative only")
    pool = large or list(counts)
    reference = max(sorted(pool), key=lambda group: rates[group]) if pool else None
    top_rate = rates[reference] if reference is not None else 0.0
    if reference is not None and top_rate == 0:
        notes.append("no one was selected: impact ratios are undefined")
    groups: list[GroupImpact] = []
    for group in sorted(counts):
        members, selected = counts[group]
        ratio = rates[group] / top_rate if top_rate > 0 else None
        too_few = members < min_group_size
        adverse = ratio is not None and ratio < threshold and (not too_few or not large)
        groups.append(GroupImpact(group, members, selected, rates[group], ratio, adverse, too_few))
    violated = any(g.adverse for g in groups if not g.too_few) if large else any(g.adverse for g in groups)
    return AdverseImpact(tuple(groups), reference, threshold, min_group_size, violated, tuple(notes))
