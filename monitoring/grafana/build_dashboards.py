"""Write the Grafana dashboards of monitoring/grafana/dashboards/ from the panels defined here.

    .venv/bin/python monitoring/grafana/build_dashboards.py [--check]

One dashboard per service of the fleet table shares one template, so adding a service to
shared/fleet.py and running this gives it a dashboard; the fleet overview, the gateway and the
data layer (outbox and projector) have their own. `--check` writes nothing and exits 1 when a
file differs from what this would write: tests/unit/test_infra_files.py runs it.

Queries use only metrics the code exports: looma_http_* (shared/monitoring/metrics.py),
looma_gateway_* (ai_services/ai_gateway/metrics.py), looma_outbox_* and looma_projector_*
(shared/projector/metrics.py), and Prometheus's own `up` and `ALERTS`. Every job is named after its
compose service (monitoring/prometheus.yml), which is also the `service` label the code sets.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from shared.fleet import GATEWAY, PROJECTOR, UPSTREAMS  # noqa: E402

OUTPUT = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}  # provisioning/datasources/prometheus.yml
PROBES = 'route!~"/health|/ready|/metrics"'  # scrapes and health checks would swamp real traffic
RATE = "[$__rate_interval]"
WIDTH = 24


class Layout:
    """Places panels left to right in rows of 24 columns, as Grafana's gridPos wants."""

    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self.x = self.y = self.row_height = 0

    def add(self, panel: dict[str, Any], width: int, height: int) -> None:
        if self.x + width > WIDTH:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        panel["id"] = len(self.panels) + 1
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": width, "h": height}
        self.panels.append(panel)
        self.x += width
        self.row_height = max(self.row_height, height)


def target(expr: str, legend: str = "") -> dict[str, Any]:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend or "__auto", "range": True}


def panel(kind: str, title: str, targets: list[dict[str, Any]], unit: str, description: str = "") -> dict[str, Any]:
    for ref, item in zip("ABCDEFGH", targets, strict=False):
        item["refId"] = ref
    options: dict[str, Any] = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                               "tooltip": {"mode": "multi", "sort": "desc"}}
    if kind == "stat":
        options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                   "colorMode": "value", "graphMode": "area", "textMode": "auto"}
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": targets,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": options,
    }


def timeseries(title: str, targets: list[dict[str, Any]], unit: str, description: str = "") -> dict[str, Any]:
    return panel("timeseries", title, targets, unit, description)


def stat(title: str, expr: str, unit: str, description: str = "") -> dict[str, Any]:
    return panel("stat", title, [target(expr)], unit, description)


def query_variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "definition": query,
        "query": {"query": query, "refId": f"{name}-values"},
        "refresh": 2,  # on time range change: new instances appear as they are scaled out
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
    }


def dashboard(uid: str, title: str, description: str, layout: Layout,
              variables: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["looma"],
        "timezone": "browser",
        "editable": False,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": variables or []},
        "annotations": {"list": []},
        "links": [{"type": "dashboards", "tags": ["looma"], "asDropdown": True, "title": "Looma",
                   "includeVars": False, "keepTime": True}],
        "panels": layout.panels,
    }


def quantiles(metric: str, selector: str, by: str = "") -> list[dict[str, Any]]:
    group = f"{by}, le" if by else "le"
    series = f"{metric}_bucket{{{selector}}}" if selector else f"{metric}_bucket"
    return [target(f"histogram_quantile({q}, sum by ({group}) (rate({series}{RATE})))",
                   f"p{round(q * 100)}" + (f" {{{{{by}}}}}" if by else ""))
            for q in (0.5, 0.95, 0.99)]


def error_ratio(metric: str, selector: str, by: str) -> str:
    errors = f'sum by ({by}) (rate({metric}{{{selector}, status=~"5.."}}{RATE}))'
    return f"{errors} / sum by ({by}) (rate({metric}{{{selector}}}{RATE}))"


# --- the dashboards -------------------------------------------------------------------------------

def fleet_overview() -> dict[str, Any]:
    chosen = 'service=~"$service"'
    layout = Layout()
    layout.add(stat("Targets up", 'sum(up{job=~"$service"})', "short", "Instances Prometheus scrapes successfully"),
               6, 4)
    layout.add(stat("Targets down", 'count(up{job=~"$service"} == 0) or vector(0)', "short"), 6, 4)
    layout.add(stat("Firing alerts", 'count(ALERTS{alertstate="firing"}) or vector(0)', "short"), 6, 4)
    layout.add(stat("Outbox lag", "max(looma_outbox_lag_seconds)", "s", "Age of the oldest undelivered event"), 6, 4)
    layout.add(timeseries("Instances up by service", [target('sum by (job) (up{job=~"$service"})', "{{job}}")],
                          "short"), 12, 8)
    layout.add(timeseries("Firing alerts", [target('sum by (alertname, severity) (ALERTS{alertstate="firing"})',
                                                   "{{alertname}} ({{severity}})")], "short"), 12, 8)
    layout.add(timeseries("Requests per second by service", [
        target(f"sum by (service) (rate(looma_http_requests_total{{{chosen}, {PROBES}}}{RATE}))", "{{service}}")],
        "reqps"), 12, 8)
    layout.add(timeseries("Server errors (5xx share) by service", [
        target(error_ratio("looma_http_requests_total", chosen, "service"), "{{service}}")], "percentunit"), 12, 8)
    layout.add(timeseries("p95 latency by service", [
        target("histogram_quantile(0.95, sum by (service, le) "
               f"(rate(looma_http_request_duration_seconds_bucket{{{chosen}, {PROBES}}}{RATE})))", "{{service}}")],
        "s"), 12, 8)
    layout.add(timeseries("In-flight requests by service", [
        target(f"sum by (service) (looma_http_requests_in_flight{{{chosen}}})", "{{service}}")], "short"), 12, 8)
    variables = [query_variable("service", "Service", "label_values(up, job)")]
    return dashboard("looma-fleet", "Looma / Fleet overview",
                     "Every process of the fleet: up, traffic, errors, latency, and what is alerting.", layout,
                     variables)


def gateway() -> dict[str, Any]:
    mine = 'instance=~"$instance"'
    upstream = f'{mine}, upstream=~"$upstream"'
    layout = Layout()
    layout.add(stat("Gateway instances up", f'sum(up{{job="{GATEWAY.name}"}})', "short"), 6, 4)
    layout.add(stat("Requests per second", f"sum(rate(looma_gateway_requests_total{{{upstream}}}{RATE}))", "reqps"),
               6, 4)
    layout.add(stat("Server errors (5xx share)",
                    f'sum(rate(looma_gateway_requests_total{{{upstream}, status=~"5.."}}{RATE})) '
                    f"/ sum(rate(looma_gateway_requests_total{{{upstream}}}{RATE}))", "percentunit"), 6, 4)
    layout.add(stat("Rate-limited per second", f"sum(rate(looma_gateway_rate_limited_total{{{mine}}}{RATE}))", "reqps"),
               6, 4)
    layout.add(timeseries("Requests per second by route", [
        target(f"sum by (route) (rate(looma_gateway_requests_total{{{upstream}}}{RATE}))", "{{route}}")], "reqps"),
        12, 8)
    layout.add(timeseries("Responses by status", [
        target(f"sum by (status) (rate(looma_gateway_requests_total{{{upstream}}}{RATE}))", "{{status}}")], "reqps"),
        12, 8)
    layout.add(timeseries("Server errors (5xx share) by upstream", [
        target(error_ratio("looma_gateway_requests_total", upstream, "upstream"), "{{upstream}}")], "percentunit"),
        12, 8)
    layout.add(timeseries("p95 latency by route, retries included", [
        target("histogram_quantile(0.95, sum by (route, le) "
               f"(rate(looma_gateway_request_duration_seconds_bucket{{{upstream}}}{RATE})))", "{{route}}")], "s"),
        12, 8)
    layout.add(timeseries("p95 of one try, by upstream", [
        target("histogram_quantile(0.95, sum by (upstream, le) "
               f"(rate(looma_gateway_upstream_duration_seconds_bucket{{{upstream}}}{RATE})))", "{{upstream}}")],
        "s", "Time to an upstream instance's response headers"), 12, 8)
    layout.add(timeseries("In flight to upstreams", [
        target(f"sum by (upstream) (looma_gateway_upstream_in_flight{{{upstream}}})", "{{upstream}}")], "short"), 12, 8)
    layout.add(timeseries("Retries by cause", [
        target(f"sum by (upstream, reason) (rate(looma_gateway_retries_total{{{upstream}}}{RATE}))",
               "{{upstream}} {{reason}}"),
        target(f"sum by (upstream) (rate(looma_gateway_retries_denied_total{{{upstream}}}{RATE}))",
               "{{upstream}} refused by the budget")], "reqps"), 12, 8)
    layout.add(timeseries("Breaker transitions and ejections", [
        target(f"sum by (upstream, state) (increase(looma_gateway_breaker_transitions_total{{{upstream}}}{RATE}))",
               "{{upstream}} to {{state}}"),
        target(f"sum by (upstream) (increase(looma_gateway_ejections_total{{{upstream}}}{RATE}))",
               "{{upstream}} ejected")], "short"), 12, 8)
    layout.add(timeseries("Rate-limited requests by scope", [
        target(f"sum by (scope) (rate(looma_gateway_rate_limited_total{{{mine}}}{RATE}))", "per {{scope}}")],
        "reqps"), 12, 8)
    layout.add(timeseries("Gateway's own endpoints, p95", [
        target("histogram_quantile(0.95, sum by (route, le) (rate(looma_http_request_duration_seconds_bucket"
               f'{{service="{GATEWAY.name}", {mine}, {PROBES}}}{RATE})))', "{{route}}")],
        "s", "Registry, services list, batch and the gateway's other own routes"), 12, 8)
    variables = [query_variable("instance", "Gateway instance", f'label_values(up{{job="{GATEWAY.name}"}}, instance)'),
                 query_variable("upstream", "Upstream", "label_values(looma_gateway_requests_total, upstream)")]
    return dashboard("looma-gateway", "Looma / Gateway",
                     "Routing, upstream latency, retries, breakers, ejections and rate limits.", layout, variables)


def service(name: str, title: str) -> dict[str, Any]:
    mine = f'service="{name}", instance=~"$instance"'
    traffic = f"{mine}, {PROBES}"
    via = f'upstream="{name}"'
    layout = Layout()
    layout.add(stat("Instances up", f'sum(up{{job="{name}"}})', "short"), 6, 4)
    layout.add(stat("Requests per second", f"sum(rate(looma_http_requests_total{{{traffic}}}{RATE}))", "reqps"), 6, 4)
    layout.add(stat("Server errors (5xx share)",
                    f'sum(rate(looma_http_requests_total{{{traffic}, status=~"5.."}}{RATE})) '
                    f"/ sum(rate(looma_http_requests_total{{{traffic}}}{RATE}))", "percentunit"), 6, 4)
    layout.add(stat("p95 latency", "histogram_quantile(0.95, sum by (le) "
                    f"(rate(looma_http_request_duration_seconds_bucket{{{traffic}}}{RATE})))", "s"), 6, 4)
    layout.add(timeseries("Requests per second by route", [
        target(f"sum by (route) (rate(looma_http_requests_total{{{traffic}}}{RATE}))", "{{route}}")], "reqps"), 12, 8)
    layout.add(timeseries("Responses by status", [
        target(f"sum by (status) (rate(looma_http_requests_total{{{traffic}}}{RATE}))", "{{status}}")], "reqps"),
        12, 8)
    layout.add(timeseries("Latency", quantiles("looma_http_request_duration_seconds", traffic), "s"), 12, 8)
    layout.add(timeseries("p95 latency by route", [
        target("histogram_quantile(0.95, sum by (route, le) "
               f"(rate(looma_http_request_duration_seconds_bucket{{{traffic}}}{RATE})))", "{{route}}")], "s"), 12, 8)
    layout.add(timeseries("In-flight requests by instance", [
        target(f"sum by (instance) (looma_http_requests_in_flight{{{mine}}})", "{{instance}}")], "short"), 12, 8)
    layout.add(timeseries("Through the gateway: responses by status", [
        target(f"sum by (status) (rate(looma_gateway_requests_total{{{via}}}{RATE}))", "{{status}}")],
        "reqps", "What callers saw, including the gateway's own 502/503/504 when no instance answered"), 12, 8)
    layout.add(timeseries("Through the gateway: one try's latency", [
        target(f"histogram_quantile(0.95, sum by (le) (rate(looma_gateway_upstream_duration_seconds_bucket{{{via}}}"
               f"{RATE})))", "p95"),
        target(f"histogram_quantile(0.99, sum by (le) (rate(looma_gateway_upstream_duration_seconds_bucket{{{via}}}"
               f"{RATE})))", "p99")], "s"), 12, 8)
    layout.add(timeseries("Through the gateway: retries, breaker openings, ejections", [
        target(f"sum by (reason) (rate(looma_gateway_retries_total{{{via}}}{RATE}))", "retry: {{reason}}"),
        target(f'sum(increase(looma_gateway_breaker_transitions_total{{{via}, state="open"}}{RATE}))',
               "breaker opened"),
        target(f"sum(increase(looma_gateway_ejections_total{{{via}}}{RATE}))", "ejected")], "short"), 12, 8)
    variables = [query_variable("instance", "Instance", f'label_values(up{{job="{name}"}}, instance)')]
    return dashboard(f"looma-{name}", f"Looma / {title}",
                     f"The {name} service: its own traffic, errors and latency, and how the gateway sees it.",
                     layout, variables)


def data_layer() -> dict[str, Any]:
    projector = f'job="{PROJECTOR.name}"'
    layout = Layout()
    layout.add(stat("Outbox lag", "max(looma_outbox_lag_seconds)", "s", "Age of the oldest undelivered event"), 6, 4)
    layout.add(stat("Pending events", "max(looma_outbox_pending_events)", "short"), 6, 4)
    layout.add(stat("Dead letters", "max(looma_outbox_dead_letters)", "short",
                    "`looma outbox status` lists them, `looma outbox retry` sends them again"), 6, 4)
    layout.add(stat("Projector instances up", f"sum(up{{{projector}}})", "short",
                    "One delivers at a time; the others are warm standbys"), 6, 4)
    layout.add(timeseries("Outbox lag", [target("max(looma_outbox_lag_seconds)", "oldest pending event")], "s"), 12, 8)
    layout.add(timeseries("Backlog", [target("max(looma_outbox_pending_events)", "pending"),
                                      target("max(looma_outbox_dead_letters)", "dead letters")], "short"), 12, 8)
    layout.add(timeseries("From outbox write to delivery",
                          quantiles("looma_outbox_delivery_lag_seconds", ""), "s"), 12, 8)
    layout.add(timeseries("Deliveries per second by projection", [
        target(f"sum by (projection) (rate(looma_projector_deliveries_total{RATE}))", "{{projection}}")], "ops"),
        12, 8)
    layout.add(timeseries("Failed deliveries per second by projection", [
        target(f"sum by (projection) (rate(looma_projector_failures_total{RATE}))", "{{projection}}")], "ops"), 12, 8)
    layout.add(timeseries("Projector instances", [target(f"up{{{projector}}}", "{{instance}}")], "short"), 12, 8)
    return dashboard("looma-data", "Looma / Data layer: outbox and projector",
                     "How far the graph, vector and full-text projections are behind the relational source of truth.",
                     layout)


def dashboards() -> dict[str, dict[str, Any]]:
    """File name to dashboard, for every dashboard this builds."""
    built = {"fleet.json": fleet_overview(), "gateway.json": gateway(), "data-layer.json": data_layer()}
    for spec in UPSTREAMS:
        built[f"service-{spec.name}.json"] = service(spec.name, spec.title)
    return built


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is out of date")
    args = parser.parse_args(argv)
    built = {name: render(board) for name, board in dashboards().items()}
    present = {path.name for path in OUTPUT.glob("*.json")}
    stale = sorted(name for name, text in built.items()
                   if not (OUTPUT / name).is_file() or (OUTPUT / name).read_text() != text)
    extra = sorted(present - set(built))
    if args.check:
        for name in stale:
            print(f"{OUTPUT / name} is out of date: run {Path(__file__).relative_to(REPO)}", file=sys.stderr)
        for name in extra:
            print(f"{OUTPUT / name} is not built by {Path(__file__).relative_to(REPO)}", file=sys.stderr)
        return 1 if stale or extra else 0
    OUTPUT.mkdir(exist_ok=True)
    for name in stale:
        (OUTPUT / name).write_text(built[name])
    for name in extra:
        (OUTPUT / name).unlink()
    print(f"{len(built)} dashboards in {OUTPUT.relative_to(REPO)}, {len(stale)} rewritten, {len(extra)} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
