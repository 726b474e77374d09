"""Choosing one instance among the available ones, by the strategy set for the service.

- round_robin: each in turn.
- weighted: smooth weighted round robin (nginx's): weight 3 gets three turns in five against 2,
  interleaved, not in bursts.
- least_connections: the fewest requests in flight; ties go round robin.
- p2c (the default): power of two choices on latency. Two instances drawn at random; the one
  with the lower EWMA latency times (in-flight + 1) wins. An instance not yet measured costs 0,
  so new instances get tried at once.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

Strategy = Literal["round_robin", "weighted", "least_connections", "p2c"]
STRATEGIES: tuple[Strategy, ...] = ("round_robin", "weighted", "least_connections", "p2c")


class Candidate(Protocol):
    instance_id: str
    weight: int
    in_flight: int
    latency_ewma: float | None


@dataclass
class Balancer:
    strategy: Strategy = "p2c"
    rng: random.Random = field(default_factory=random.Random)
    _turns: itertools.count = field(default_factory=itertools.count)
    _current: dict[str, int] = field(default_factory=dict)  # smooth weighted round robin state

    def choose(self, candidates: Sequence[Candidate]) -> Candidate:
        if not candidates:
            raise ValueError("no candidates to choose from")
        if len(candidates) == 1:
            return candidates[0]
        ordered = sorted(candidates, key=lambda c: c.instance_id)
        if self.strategy == "round_robin":
            return ordered[next(self._turns) % len(ordered)]
        if self.strategy == "weighted":
            return self._weighted(ordered)
        if self.strategy == "least_connections":
            fewest = min(c.in_flight for c in ordered)
            tied = [c for c in ordered if c.in_flight == fewest]
            return tied[next(self._turns) % len(tied)]
        first, second = self.rng.sample(ordered, 2)
        return first if _cost(first) <= _cost(second) else second

    def _weighted(self, ordered: Sequence[Candidate]) -> Candidate:
        total = 0
        best: Candidate | None = None
        for candidate in ordered:
            weight = max(0, candidate.weight)
            total += weight
            current = self._current.get(candidate.instance_id, 0) + weight
            self._current[candidate.instance_id] = current
            if best is None or current > self._current[best.instance_id]:
                best = candidate
        assert best is not None
        if total == 0:
            return ordered[next(self._turns) % len(ordered)]
        self._current[best.instance_id] -= total
        return best


def _cost(candidate: Candidate) -> float:
    return (candidate.latency_ewma or 0.0) * (candidate.in_flight + 1)
