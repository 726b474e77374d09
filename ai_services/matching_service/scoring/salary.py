"""Salary: what a talent expects against what a job offers, both brought to a monthly figure.

Only ranges in the same currency are compared: exchange rates move and are not this module's to
know, so two currencies make the dimension unknown rather than wrong. A talent who asks for less
than the job pays fits fully (the job can pay it); one who asks for more fits less the further
above the offer the ask is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

# Months per period, and periods per month: 21.75 working days and 174 working hours a month.
PER_MONTH = {"month": 1.0, "year": 1 / 12, "day": 21.75, "hour": 174.0}
# An ask this far above the offer (as a share of the offer) halves the score.
HALF_FIT_GAP = 0.2


@dataclass(frozen=True, slots=True)
class MonthlyRange:
    """A salary range per month; either bound may be unknown (NaN never leaves this module)."""

    low: float | None
    high: float | None
    currency: str


def monthly(money: Mapping[str, Any] | None) -> MonthlyRange | None:
    """The CRM's `{min, max, currency, period}` per month, or None when it names no amount."""
    if not money:
        return None
    factor = PER_MONTH.get(str(money.get("period") or "month"))
    if factor is None:
        return None
    low, high = _amount(money.get("min")), _amount(money.get("max"))
    if low is None and high is None:
        return None
    return MonthlyRange(None if low is None else low * factor, None if high is None else high * factor,
                        str(money.get("currency") or "CNY").upper())


def salary_fit(ask: np.ndarray | float, offer: np.ndarray | float) -> np.ndarray:
    """1 when the ask is at most the offer, then 1 / (1 + (gap / 0.2)²) with the gap as a share
    of the offer: 10 % above scores 0.8, 20 % 0.5, 40 % 0.2."""
    ask, offer = np.asarray(ask, dtype=float), np.asarray(offer, dtype=float)
    gap = np.maximum(ask - offer, 0.0) / np.maximum(offer, 1e-9) / HALF_FIT_GAP
    return 1.0 / (1.0 + gap * gap)


def ask_of(expected: MonthlyRange) -> float:
    """What a talent asks: the bottom of the expected range (the least they would take)."""
    return expected.low if expected.low is not None else expected.high  # type: ignore[return-value]


def offer_of(offered: MonthlyRange) -> float:
    """What a job offers at most: the top of its range."""
    return offered.high if offered.high is not None else offered.low  # type: ignore[return-value]


def _amount(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return float(value)
