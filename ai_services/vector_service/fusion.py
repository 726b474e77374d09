"""Fusing a vector ranking with a keyword (BM25) ranking into one list.

Reciprocal rank fusion (the default) scores a hit by the sum of 1 / (k + rank) over the lists it
is in: it needs no calibration between cosine similarities and BM25 scores, which live on
different scales. The weighted sum instead min-max normalises each list to [0, 1] and mixes
them as `alpha * vector + (1 - alpha) * text`; a hit missing from a list gets 0 for that part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

RRF_K = 60


@dataclass(frozen=True)
class Ranked:
    """One hit in one list: its id, 1-based rank and the list's own score."""

    id: str
    rank: int
    score: float
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Fused:
    id: str
    score: float
    parts: dict[str, Ranked]  # "vector" and/or "text"


def ranked(ids_and_scores: Sequence[tuple[str, float]], details: Sequence[Mapping[str, Any]] | None = None,
           ) -> list[Ranked]:
    return [Ranked(hit_id, rank, score, details[rank - 1] if details else {})
            for rank, (hit_id, score) in enumerate(ids_and_scores, start=1)]


def reciprocal_rank(lists: Mapping[str, Sequence[Ranked]], k: int = RRF_K) -> list[Fused]:
    fused: dict[str, Fused] = {}
    for name, hits in lists.items():
        for hit in hits:
            entry = fused.setdefault(hit.id, Fused(hit.id, 0.0, {}))
            entry.score += 1.0 / (k + hit.rank)
            entry.parts[name] = hit
    return _best_first(fused)


def weighted(vector: Sequence[Ranked], text: Sequence[Ranked], alpha: float) -> list[Fused]:
    fused: dict[str, Fused] = {}
    for name, hits, weight in (("vector", vector, alpha), ("text", text, 1.0 - alpha)):
        for hit, share in zip(hits, min_max([hit.score for hit in hits]), strict=True):
            entry = fused.setdefault(hit.id, Fused(hit.id, 0.0, {}))
            entry.score += weight * share
            entry.parts[name] = hit
    return _best_first(fused)


def min_max(scores: Sequence[float]) -> list[float]:
    """Scores mapped to [0, 1]; when all are equal (or there is one), each is 1."""
    if not scores:
        return []
    low, high = min(scores), max(scores)
    if high == low:
        return [1.0] * len(scores)
    return [(score - low) / (high - low) for score in scores]


def _best_first(fused: Mapping[str, Fused]) -> list[Fused]:
    return sorted(fused.values(), key=lambda entry: (-entry.score, entry.id))
