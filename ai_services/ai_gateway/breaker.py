"""A circuit breaker per upstream instance: closed, open, half-open with a few probes.

Closed lets everything through and counts consecutive failures (connect errors, timeouts, 5xx).
At `failures` in a row it opens: the instance gets no traffic for `open_seconds`. Then it is
half-open: at most `probes` requests go through at once; that many successes close it, and any
failure opens it again for another `open_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]
Ticket = Literal["pass", "probe"]


@dataclass(frozen=True)
class BreakerPolicy:
    failures: int = 5
    open_seconds: float = 10.0
    probes: int = 2


@dataclass
class Breaker:
    policy: BreakerPolicy
    on_transition: Callable[[BreakerState, BreakerState], None] = lambda old, new: None
    clock: Callable[[], float] = time.monotonic
    state: BreakerState = "closed"
    consecutive_failures: int = 0
    opened_at: float = 0.0
    _probes_in_flight: int = field(default=0, repr=False)
    _probe_successes: int = field(default=0, repr=False)

    def current(self) -> BreakerState:
        """The state now: an open breaker whose time is up is half-open."""
        if self.state == "open" and self.clock() - self.opened_at >= self.policy.open_seconds:
            self._move("half_open")
        return self.state

    def allows(self) -> bool:
        """Whether a request may go to the instance now (without taking a probe slot)."""
        state = self.current()
        return state == "closed" or (state == "half_open" and self._probes_in_flight < self.policy.probes)

    def acquire(self) -> Ticket | None:
        """Take the right to send one request (in half-open, one of the probe slots), or None."""
        if not self.allows():
            return None
        if self.state == "half_open":
            self._probes_in_flight += 1
            return "probe"
        return "pass"

    def record(self, ticket: Ticket, success: bool) -> None:
        """The outcome of a request sent with the ticket `acquire` gave."""
        if ticket == "probe":
            self._probes_in_flight = max(0, self._probes_in_flight - 1)
        if success:
            self.consecutive_failures = 0
            if self.state == "half_open":
                self._probe_successes += 1
                if self._probe_successes >= self.policy.probes:
                    self._move("closed")
            return
        self.consecutive_failures += 1
        if self.state == "half_open" or (self.state == "closed" and self.consecutive_failures >= self.policy.failures):
            self.opened_at = self.clock()
            self._move("open")

    def _move(self, new: BreakerState) -> None:
        old, self.state = self.state, new
        self._probes_in_flight = self._probe_successes = 0
        if new == "closed":
            self.consecutive_failures = 0
        if old != new:
            self.on_transition(old, new)
