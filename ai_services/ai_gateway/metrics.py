"""The gateway's own Prometheus metrics, beside every service's looma_http_* ones.

Labels stay bounded: `route` is the matched route prefix (or "<unknown>"), `upstream` a service
name of the fleet table or a registered one, `instance` an instance id of this deployment.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.monitoring.metrics import LATENCY_BUCKETS


@dataclass
class GatewayMetrics:
    registry: CollectorRegistry

    def __post_init__(self) -> None:
        self.requests = Counter("looma_gateway_requests_total", "Requests the gateway answered, by route, upstream and status",
                                ("route", "upstream", "status"), registry=self.registry)
        self.latency = Histogram("looma_gateway_request_duration_seconds",
                                 "Time the gateway took to answer, retries included", ("route", "upstream"),
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.upstream_latency = Histogram("looma_gateway_upstream_duration_seconds",
                                          "Time of one try at one upstream instance, to its response headers",
                                          ("upstream",), buckets=LATENCY_BUCKETS, registry=self.registry)
        self.in_flight = Gauge("looma_gateway_upstream_in_flight", "Requests in flight to an upstream",
                               ("upstream",), registry=self.registry)
        self.retries = Counter("looma_gateway_retries_total", "Tries beyond the first, by cause",
                               ("upstream", "reason"), registry=self.registry)
        self.retries_denied = Counter("looma_gateway_retries_denied_total",
                                      "Retries not made because the retry budget was spent", ("upstream",),
                                      registry=self.registry)
        self.breaker_transitions = Counter("looma_gateway_breaker_transitions_total",
                                           "Circuit breaker state changes", ("upstream", "instance", "state"),
                                           registry=self.registry)
        self.ejections = Counter("looma_gateway_ejections_total", "Instances ejected by outlier detection",
                                 ("upstream", "instance"), registry=self.registry)
        self.rate_limited = Counter("looma_gateway_rate_limited_total", "Requests refused by a rate limit",
                                    ("scope",), registry=self.registry)
