"""Rate limits per org, per user (or client address) and per route, as GCRA buckets.

Each limit is N requests a minute with a burst of `burst_seconds` worth of them. With Redis
configured, the buckets live there (`Cache.throttle`, one atomic script on the server's clock),
so every gateway instance draws from the same bucket and the limit holds across them. Without
Redis there is one gateway, and its buckets live in its memory: the embedded cache is a file,
and a write per request would cost more than the proxying itself.

A refused request answers 429 with Retry-After and the RateLimit-* headers of the limit that
refused it; an admitted one carries the headers of its tightest limit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from shared.database.cache import Throttle, gcra


class ThrottleStore(Protocol):
    async def throttle(self, key: str, rate: float, burst: int, cost: int = 1) -> Throttle: ...


@dataclass
class MemoryThrottle:
    """Buckets in this process's memory: exact for one gateway."""

    clock: Callable[[], float] = time.time
    max_keys: int = 200_000
    _tats: dict[str, float] = field(default_factory=dict)

    async def throttle(self, key: str, rate: float, burst: int, cost: int = 1) -> Throttle:
        now = self.clock()
        tat, verdict = gcra(self._tats.get(key), now, rate, burst, cost)
        if tat is not None:
            if len(self._tats) >= self.max_keys and key not in self._tats:
                self._forget_full_buckets(now)
            self._tats[key] = tat
        return verdict

    def _forget_full_buckets(self, now: float) -> None:
        for key in [k for k, tat in self._tats.items() if tat <= now]:
            del self._tats[key]


@dataclass(frozen=True)
class Limit:
    scope: str  # org, user or route: the metric label and the problem's wording
    key: str
    per_minute: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: Limit | None  # the refusing limit, or the tightest one
    throttle: Throttle | None

    def headers(self, burst_seconds: float) -> dict[str, str]:
        if self.limit is None or self.throttle is None:
            return {}
        headers = {
            "RateLimit-Limit": str(burst_of(self.limit.per_minute, burst_seconds)),
            "RateLimit-Remaining": str(self.throttle.remaining),
            "RateLimit-Reset": str(math.ceil(self.throttle.reset_after)),
            "RateLimit-Policy": f"{self.limit.per_minute};w=60",
        }
        if not self.allowed and self.throttle.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(self.throttle.retry_after)))
        return headers


def burst_of(per_minute: int, burst_seconds: float) -> int:
    return max(1, round(per_minute / 60 * burst_seconds))


@dataclass
class Limiter:
    store: ThrottleStore
    burst_seconds: float = 10.0

    async def check(self, limits: Sequence[Limit]) -> Verdict:
        """Draw one request from every limit, narrowest first; the first refusal ends it."""
        tightest: Verdict = Verdict(True, None, None)
        for limit in limits:
            throttle = await self.store.throttle(f"ratelimit:{limit.scope}:{limit.key}", limit.per_minute / 60,
                                                 burst_of(limit.per_minute, self.burst_seconds))
            if not throttle.allowed:
                return Verdict(False, limit, throttle)
            if tightest.throttle is None or throttle.remaining < tightest.throttle.remaining:
                tightest = Verdict(True, limit, throttle)
        return tightest
