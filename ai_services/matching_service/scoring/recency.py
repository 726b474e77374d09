"""The recency dimension: how lately a talent was active, when the caller supplies the time.

A talent seen today scores 1 and the score halves every HALF_LIFE_DAYS: someone active last
month is more likely to answer than someone whose record has not moved in two years. It is off
(weight 0) by default; a sourcing search that prefers reachable people turns it on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

HALF_LIFE_DAYS = 180.0
DAY = 86_400.0


def recency_fit(active_at: Any, now: float) -> Any:
    """0.5 ** (days since active / 180); a time in the future counts as now."""
    days = np.maximum(now - np.asarray(active_at, dtype=float), 0.0) / DAY
    score = np.power(0.5, days / HALF_LIFE_DAYS)
    return score if score.ndim else float(score)
