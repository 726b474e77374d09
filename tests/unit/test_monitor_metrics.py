"""Reading /metrics: real prometheus_client expositions in, error rates and latency quantiles out.

The quantiles are checked three ways: against values worked out by hand from the bucket bounds,
against Prometheus' edge cases (promql/quantile.go), and against promtool itself, which evaluates
histogram_quantile over the same buckets (Debian package `prometheus`; skipped without it, a
failure under CI=true).
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from ai_services.monitor_service.scrape import Counters, Traffic, histogram_quantile, parse, traffic
from shared.monitoring.metrics import LATENCY_BUCKETS, ServiceMetrics
from tests.conftest import require_server

ROUTE = "/api/v1/talents"


def exposition(metrics: ServiceMetrics) -> Counters:
    return parse(generate_latest(metrics.registry).decode())


def observe(metrics: ServiceMetrics, count: int, seconds: float, status: int = 200, route: str = ROUTE) -> None:
    for _ in range(count):
        metrics.observe("GET", route, status, seconds)


# --- a histogram built by hand, named as the fleet names it --------------------------------------


def test_quantiles_and_error_rate_of_a_plain_registry() -> None:
    registry = CollectorRegistry()
    requests = Counter("looma_http_requests_total", "answers", ("service", "method", "route", "status"),
                       registry=registry)
    latency = Histogram("looma_http_request_duration_seconds", "latency", ("service", "method", "route"),
                        buckets=(0.1, 0.2, 0.4, 0.8), registry=registry)
    # 10 answers of 0.05 s, 30 of 0.15 s, 40 of 0.3 s, 20 of 0.6 s; 4 of the slow ones are 500s.
    for count, seconds in ((10, 0.05), (30, 0.15), (40, 0.3), (20, 0.6)):
        for i in range(count):
            status = "500" if seconds == 0.6 and i < 4 else "200"
            requests.labels("crm", "GET", ROUTE, status).inc()
            latency.labels("crm", "GET", ROUTE).observe(seconds)

    seen = traffic(None, parse(generate_latest(registry).decode()))

    assert seen.requests == 100
    assert seen.errors == 4
    assert seen.error_rate == pytest.approx(0.04)
    # p50: rank 50 falls in (0.2, 0.4], which holds ranks 41..80: 0.2 + 0.2 * (50 - 40) / 40.
    assert seen.quantile(0.5) == pytest.approx(0.25)
    # p95: rank 95 falls in (0.4, 0.8], ranks 81..100: 0.4 + 0.4 * (95 - 80) / 20.
    assert seen.quantile(0.95) == pytest.approx(0.7)
    # p10: rank 10 is the whole first bucket, interpolated from 0: 0 + 0.1 * 10 / 10.
    assert seen.quantile(0.1) == pytest.approx(0.1)


# --- what every service exposes (shared/monitoring/metrics.py) ------------------------------------


def test_a_window_counts_only_what_happened_between_two_scrapes() -> None:
    metrics = ServiceMetrics("crm")
    observe(metrics, 1000, 0.003)
    observe(metrics, 10, 2.0, status=500)
    before = exposition(metrics)
    observe(metrics, 75, 0.03)
    observe(metrics, 5, 0.03, status=404)
    observe(metrics, 15, 0.3)
    observe(metrics, 5, 0.3, status=503)
    after = exposition(metrics)

    window = traffic(before, after)

    assert window.requests == 100
    assert window.errors == 5  # 503s count, 404s do not
    assert window.error_rate == pytest.approx(0.05)
    # 80 answers in (0.025, 0.05], 20 in (0.25, 0.5].
    assert window.quantile(0.5) == pytest.approx(0.025 + 0.025 * 50 / 80)
    assert window.quantile(0.95) == pytest.approx(0.25 + 0.25 * 15 / 20)


def test_probe_routes_are_not_traffic() -> None:
    metrics = ServiceMetrics("crm")
    for route in ("/health", "/ready", "/metrics"):
        observe(metrics, 50, 0.001, route=route)
    observe(metrics, 3, 0.2, status=503, route="/ready")

    seen = traffic(None, exposition(metrics))

    assert seen.requests == 0
    assert seen.error_rate is None
    assert seen.quantile(0.95) is None


def test_a_restarted_process_counts_from_zero() -> None:
    old = ServiceMetrics("crm")
    observe(old, 500, 0.003)
    observe(old, 100, 0.003, status=500)
    restarted = ServiceMetrics("crm")
    observe(restarted, 9, 0.3)
    observe(restarted, 1, 0.3, status=502)

    window = traffic(exposition(old), exposition(restarted))

    assert window.requests == 10
    assert window.error_rate == pytest.approx(0.1)
    assert window.quantile(0.5) == pytest.approx(0.25 + 0.25 * 5 / 10)


def test_a_service_is_the_sum_of_its_instances() -> None:
    fast, slow = ServiceMetrics("crm"), ServiceMetrics("crm")
    observe(fast, 90, 0.003)
    observe(slow, 10, 3.0, status=500)

    service = traffic(None, exposition(fast)) + traffic(None, exposition(slow))

    assert service.requests == 100
    assert service.error_rate == pytest.approx(0.1)
    # rank 95 lies in (2.5, 5.0], which holds ranks 91..100: 2.5 + 2.5 * 5 / 10.
    assert service.quantile(0.95) == pytest.approx(3.75)
    assert service.quantile(0.5) == pytest.approx(0.0025 + 0.0025 * 50 / 90)


def test_an_exposition_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError):
        parse('looma_http_requests_total{route="/x" 1\n')


# --- Prometheus' edge cases -------------------------------------------------------------------------

INF = math.inf


@pytest.mark.parametrize(
    ("q", "buckets", "expected"),
    [
        (0.99, {0.1: 1, 0.5: 2, INF: 10}, 0.5),  # rank in the +Inf bucket: the highest finite bound
        (0.5, {1.0: 10, INF: 10}, 0.5),  # the first bucket is interpolated from 0
        (0.5, {-1.0: 10, 1.0: 10, INF: 10}, -1.0),  # ... unless its bound is not above 0
        (0.5, {0.1: 3, 0.2: 2, 0.4: 10, INF: 10}, 0.2 + 0.2 * 2 / 7),  # counts forced monotonic: 3, 3, 10, 10
        (-0.1, {1.0: 1, INF: 1}, -INF),
        (1.5, {1.0: 1, INF: 1}, INF),
    ],
    ids=["in-inf-bucket", "first-bucket-from-zero", "first-bucket-not-positive", "non-monotonic", "q-below-0",
         "q-above-1"],
)
def test_histogram_quantile_follows_prometheus(q: float, buckets: dict[float, float], expected: float) -> None:
    assert histogram_quantile(q, buckets) == pytest.approx(expected)


@pytest.mark.parametrize(
    "buckets",
    [{1.0: 0, INF: 0}, {INF: 5}, {0.1: 1, 0.5: 2}],
    ids=["no-observations", "one-bucket", "no-inf-bucket"],
)
def test_histogram_quantile_is_nan_without_a_usable_histogram(buckets: dict[float, float]) -> None:
    assert math.isnan(histogram_quantile(0.5, buckets))
    assert Traffic(buckets=buckets).quantile(0.5) is None


AGREEMENT_CASES = [
    {0.1: 10, 0.2: 40, 0.4: 80, 0.8: 100, INF: 100},
    {0.001: 0, 0.005: 7, 0.05: 13, 0.5: 13, 1.0: 21, INF: 23},
    {0.25: 1, 0.5: 1, 1.0: 1, INF: 4},
    {bound: index * 3 + 1 for index, bound in enumerate((*LATENCY_BUCKETS, INF))},
]


def test_histogram_quantile_agrees_with_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        require_server("promtool not found: install the Debian package prometheus")
    series, tests = [], []
    for case, buckets in enumerate(AGREEMENT_CASES):
        for bound, count in buckets.items():
            le = "+Inf" if bound == INF else repr(bound)
            series.append({"series": f'latency_bucket{{case="{case}",le="{le}"}}', "values": f"{count}"})
        for q in (0.5, 0.9, 0.95, 0.99):
            tests.append({"expr": f'histogram_quantile({q}, latency_bucket{{case="{case}"}})', "eval_time": "0m",
                          "exp_samples": [{"labels": f'{{case="{case}"}}',
                                           "value": histogram_quantile(q, buckets)}]})
    (tmp_path / "empty.yml").write_text("groups: []\n")
    (tmp_path / "quantiles.test.yml").write_text(yaml.safe_dump({
        "rule_files": ["empty.yml"], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": tests}],
    }))

    result = subprocess.run([promtool, "test", "rules", "quantiles.test.yml"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, check=False)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
