"""An instance's /metrics, read: answers by status and latency buckets, and what changed in a window.

Every service exposes `looma_http_requests_total{service,method,route,status}` and
`looma_http_request_duration_seconds_bucket{service,method,route,le}` (shared/monitoring/metrics.py).
Both are cumulative, so a window's traffic is the difference between two scrapes, series by series;
a series that went down restarted from zero (the process restarted), and its whole latest value
is the window's, as Prometheus' `increase()` counts it.

Requests to /health, /ready and /metrics are left out: the gateway and this monitor poll them every
few seconds, and on a quiet service they would be all the traffic there is.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

REQUESTS = "looma_http_requests_total"
BUCKETS = "looma_http_request_duration_seconds_bucket"
PROBE_ROUTES = frozenset({"/health", "/ready", "/metrics"})

Series = tuple[str, str]  # (method, route)


@dataclass(frozen=True)
class Counters:
    """One scrape of one instance: each series' cumulative value."""

    requests: Mapping[tuple[str, str, str], float]  # (method, route, status) -> answers
    buckets: Mapping[Series, Mapping[float, float]]  # (method, route) -> {le: observations <= le}


def parse(text: str) -> Counters:
    """The request counters and latency buckets in a Prometheus text exposition.

    Raises ValueError when the text is not an exposition prometheus_client can read.
    """
    requests: dict[tuple[str, str, str], float] = {}
    buckets: dict[Series, dict[float, float]] = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            route = labels.get("route", "")
            if route in PROBE_ROUTES:
                continue
            if sample.name == REQUESTS:
                requests[(labels.get("method", ""), route, labels.get("status", ""))] = sample.value
            elif sample.name == BUCKETS and "le" in labels:
                buckets[(labels.get("method", ""), route)][float(labels["le"])] = sample.value
    return Counters(requests, dict(buckets))


@dataclass
class Traffic:
    """What a window saw: answers, 5xx answers, and the latency histogram (cumulative, by upper bound)."""

    requests: float = 0.0
    errors: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)

    def __add__(self, other: Traffic) -> Traffic:
        buckets = dict(self.buckets)
        for bound, count in other.buckets.items():
            buckets[bound] = buckets.get(bound, 0.0) + count
        return Traffic(self.requests + other.requests, self.errors + other.errors, buckets)

    @property
    def error_rate(self) -> float | None:
        """5xx answers over all answers; None when there were none."""
        return self.errors / self.requests if self.requests > 0 else None

    def quantile(self, q: float) -> float | None:
        """The q-quantile of latency in seconds; None with no observations."""
        value = histogram_quantile(q, self.buckets)
        return None if math.isnan(value) else value


def traffic(base: Counters | None, latest: Counters) -> Traffic:
    """What happened between two scrapes of one instance (everything in `latest` without a base)."""
    result = Traffic()
    for key, value in latest.requests.items():
        before = base.requests.get(key, 0.0) if base is not None else 0.0
        delta = value - before if value >= before else value
        result.requests += delta
        if _is_server_error(key[2]):
            result.errors += delta
    for series, bounds in latest.buckets.items():
        earlier = base.buckets.get(series, {}) if base is not None else {}
        restarted = bounds.get(math.inf, 0.0) < earlier.get(math.inf, 0.0)
        for bound, count in bounds.items():
            delta = count if restarted else count - earlier.get(bound, 0.0)
            result.buckets[bound] = result.buckets.get(bound, 0.0) + max(0.0, delta)
    return result


def histogram_quantile(q: float, buckets: Mapping[float, float]) -> float:
    """Prometheus' histogram_quantile over classic cumulative buckets (promql/quantile.go).

    Linear interpolation inside the bucket holding the rank; 0 is the lower bound of the first
    bucket when its upper bound is positive; a rank in the +Inf bucket answers the highest finite
    bound. NaN with no observations, fewer than two buckets or no +Inf bucket.
    """
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(buckets.items())
    if len(ordered) < 2 or ordered[-1][0] != math.inf:
        return math.nan
    # Counts must not fall as bounds rise; a scrape taken mid-update can break that, as in Prometheus.
    monotonic: list[tuple[float, float]] = []
    highest = 0.0
    for bound, count in ordered:
        highest = max(highest, count)
        monotonic.append((bound, highest))
    observations = monotonic[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    index = next(i for i, (_, count) in enumerate(monotonic) if count >= rank or i == len(monotonic) - 1)
    if index == len(monotonic) - 1:
        return monotonic[-2][0]
    end, count = monotonic[index]
    if index == 0:
        if end <= 0:
            return end
        start = 0.0
    else:
        start, below = monotonic[index - 1]
        count -= below
        rank -= below
    return start + (end - start) * (rank / count)


def _is_server_error(status: str) -> bool:
    return status.isdigit() and 500 <= int(status) <= 599
