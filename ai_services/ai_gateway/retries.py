"""When a failed try may be tried again, and how many retries the fleet can afford.

Only requests that are safe to send twice are retried: idempotent methods, or any method with an
Idempotency-Key (the services answer a repeated key with the first result). Retries go to another
instance, on connect errors, 503 and per-try timeouts.

The budget keeps retries to a share of the traffic (20% by default), so that a struggling
upstream is not buried under a retry storm: every request adds `ratio` of a token, every retry
spends one, and a small floor of retries a second stays available when traffic is light.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset({503})


def may_retry(method: str, headers: Mapping[str, str]) -> bool:
    return method.upper() in IDEMPOTENT_METHODS or bool(headers.get("idempotency-key"))


@dataclass
class RetryBudget:
    ratio: float = 0.2
    floor_per_second: float = 5.0
    clock: Callable[[], float] = time.monotonic
    _tokens: float = 0.0
    _floor_tokens: float = field(init=False)
    _floor_at: float = field(init=False)

    def __post_init__(self) -> None:
        self._floor_tokens = self.floor_per_second
        self._floor_at = self.clock()

    def deposit(self) -> None:
        """One request arrived: `ratio` of a retry more in the budget, which saves up at most 100."""
        self._tokens = min(self._tokens + self.ratio, 100.0)

    def withdraw(self) -> bool:
        """Whether one retry may be made now (and if so, it is paid for)."""
        if self._tokens >= 1.0 - 1e-9:  # five deposits of 0.2 make a retry, whatever the float error
            self._tokens -= 1.0
            return True
        now = self.clock()
        self._floor_tokens = min(self.floor_per_second,
                                 self._floor_tokens + (now - self._floor_at) * self.floor_per_second)
        self._floor_at = now
        if self._floor_tokens >= 1.0:
            self._floor_tokens -= 1.0
            return True
        return False
